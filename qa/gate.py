"""What the engine's gate hands on: judged candidates, and the spans an answer may show.

A question in several parts (:mod:`qa.parts`) is gated part by part; :func:`combine`
joins the parts' gates into one: the best piece of each part that the source answers, in
the parts' order, and a note naming each part it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.answer import DroppedSentence, Passage

from . import prompts
from .select import Piece
from .verify import Candidate


@dataclass(frozen=True)
class Judged:
    """A candidate evidence sentence with the judge's probability that it answers, its
    share of the question's answer mass, and the short answer's characters in ``text``."""

    row: int
    text: str
    section: str
    probability: float
    share: float = 0.0
    short: tuple[int, int] | None = None


@dataclass(frozen=True)
class Judgement:
    """One question's candidates, judged (best first), the judge's probability that they
    answer it at all, and the passages they came from."""

    judged: list[Judged]
    answer: float
    passages: list[Passage]


@dataclass(frozen=True)
class Gate:
    """What the gate found: the retrieved passages and the judged candidate spans."""

    passages: list[Passage]
    candidates: list[Candidate]  # every judged sentence, best first
    supporting: list[Candidate]  # what an answer may show: the best, and those near it
    note: str = ""  # why a question was refused unread, or declined though judged
    short: str = ""  # the short answer phrase, inside supporting[0]'s quote
    pieces: list[Piece] = field(default_factory=list)  # supporting, as an extractive answer shows it

    @property
    def sources(self) -> list[str]:
        """What a model reads: each supporting quote, with the list items it introduces."""
        return [" ".join([p.candidate.quote, *("; ".join(t for t, _ in p.items),)]).strip()
                if p.items else p.candidate.quote for p in self.pieces]

    @property
    def open(self) -> bool:
        return bool(self.supporting)


@dataclass(frozen=True)
class Reply:
    """What became of the model's reply besides the sentences shown."""

    dropped: list[DroppedSentence]
    note: str = ""  # set when the backend failed


def combine(parts: list[str], gates: list[Gate]) -> Gate:
    """One gate for a question in parts: each open part's lead piece (a list with its
    items), once; closed when no part is answered; its note names the parts that are not."""
    pieces: list[Piece] = []
    for gate in gates:
        if gate.open and all(p.candidate.quote != gate.pieces[0].candidate.quote for p in pieces):
            pieces.append(gate.pieces[0])
    passages = list({p.chunk_id: p for gate in gates for p in gate.passages}.values())
    if not pieces:
        return Gate(passages=passages, candidates=[], supporting=[])
    missing = [part for part, gate in zip(parts, gates) if not gate.open]
    note = prompts.PART_NOT_ANSWERED.format(parts="; ".join(missing)) if missing else ""
    candidates = [c for gate in gates for c in gate.candidates]
    return Gate(passages=passages, candidates=candidates, supporting=[p.candidate for p in pieces],
                note=note, pieces=pieces)
