"""The judge's small interface: :class:`Judge` (one required method, ``score``, and
``decide`` for a whole question) and :class:`Verdict`, what one question's candidates
come to.

A judge without a question-level head (a user's one-output cross-encoder, a test's
fake) decides with :func:`pairwise_verdict`: the best pair's probability is the
question's, and there is no short answer.

>>> v = pairwise_verdict([0.2, 0.9])
>>> v.answer, v.best, [round(s, 3) for s in v.shares]
(0.9, 1, [0.182, 0.818])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .calibration import Thresholds


class JudgeMissing(RuntimeError):
    """The judge's model folder is missing or unreadable."""


@dataclass(frozen=True)
class Verdict:
    """One question over its candidate evidence texts, in the order given.

    ``answer``: the probability that the candidates answer the question at all (1 minus
    the "no answer" option's share); ``probabilities``: each pair's own probability that
    it answers; ``shares``: each candidate's share of the answer mass (they sum to 1);
    ``shorts``: per candidate, the short answer's (start, end) in its sentence, or None.
    """

    answer: float
    probabilities: tuple[float, ...]
    shares: tuple[float, ...]
    shorts: tuple[tuple[int, int] | None, ...] = ()

    @property
    def best(self) -> int | None:
        return int(np.argmax(self.shares)) if self.shares else None


def pairwise_verdict(probabilities: Sequence[float]) -> Verdict:
    """A verdict from pair probabilities alone: the best one decides."""
    values = tuple(float(p) for p in probabilities)
    total = sum(values)
    shares = tuple(p / total for p in values) if total > 0 else tuple(1.0 / len(values) for _ in values)
    return Verdict(max(values, default=0.0), values, shares, tuple(None for _ in values))


class Judge(Protocol):
    name: str
    thresholds: Thresholds  # calibrated for this model (judge/calibration.py)

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Probabilities in [0, 1], one per (query, evidence) pair."""
        ...

    def decide(self, question: str, evidences: Sequence[str]) -> Verdict:
        """The question over its candidates (see :class:`Verdict`)."""
        ...


def decide(judge: Judge, question: str, evidences: Sequence[str]) -> Verdict:
    """``judge.decide`` when the judge has it; else a verdict from its pair scores."""
    if not evidences:
        return Verdict(0.0, (), (), ())
    method = getattr(judge, "decide", None)
    if method is not None:
        return method(question, evidences)
    return pairwise_verdict(judge.score([(question, e) for e in evidences]))
