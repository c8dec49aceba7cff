"""Verification of generated text: which sentences of a model's reply the source supports.

Pure functions over plain :class:`Candidate` spans (no index; the only model is the judge
passed in). A reply is split into sentences (:func:`split_answer`); a sentence is dropped
when it says nothing beyond the question; otherwise the candidate spans sharing most words
with it (at most ``CLAIM_SPANS``) are checked with the vetoes (:mod:`qa.vetoes`), and the
judge reads the sentence, as the answer to the question, against each span that passes.
The sentence is kept, citing the best of them, when the judge's probability reaches
``thresholds.claim``; every other sentence is dropped with the reason.

The engine (:mod:`qa.engine`) streams: it calls :func:`verify_sentence` on each sentence
as the model finishes it. :func:`verify` does the same for a whole reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.answer import DroppedSentence, Span
from core.text import tokenize
from judge import Judge, Thresholds, judge_query

from .thresholds import CLAIM_SPANS, MAX_GENERATED_SENTENCES
from .vetoes import check

_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_PARTICLE = re.compile(r"^(?:yes|no)\b[,.!]?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """A source span a generated sentence may cite, with what the rules read of it."""

    span: Span
    quote: str  # the span's text: documents[span.source][span.start:span.end]
    evidence: str  # what the judge reads for it (judge.evidence_text)
    probability: float  # the judge's probability that it answers the question


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence's outcome: the span that supports it, or None and why not."""

    span: Span | None
    reason: str = ""


@dataclass
class Verified:
    """The sentences of a reply kept (each with the span it cites) and those dropped."""

    kept: list[tuple[str, Span]] = field(default_factory=list)
    dropped: list[DroppedSentence] = field(default_factory=list)

    def add(self, sentence: str, outcome: SentenceCheck) -> bool:
        """Record one sentence's outcome; True when it is newly kept (a sentence already
        kept with the same span, in any case, is neither kept again nor dropped)."""
        if outcome.span is None:
            self.dropped.append(DroppedSentence(sentence, outcome.reason))
            return False
        if any(text.lower() == sentence.lower() and span == outcome.span for text, span in self.kept):
            return False
        self.kept.append((sentence, outcome.span))
        return True


def split_answer(text: str) -> list[str]:
    """Split generated text into sentences, without citation markers or yes/no particles.

    >>> split_answer("Yes, it is rare [1]. It affects teens.[2]")
    ['It is rare.', 'It affects teens.']
    """
    text = _MARKER.sub("", text).strip()
    pieces = _SENTENCE_END.split(text)
    out = []
    for piece in pieces:
        piece = _PARTICLE.sub("", piece.strip()).strip()
        if piece:
            out.append(piece[0].upper() + piece[1:])
    return out


def complete_part(text: str) -> tuple[str, str]:
    """Split streamed text into the sentences already complete and the rest still coming.

    >>> complete_part("It is rare. It affects")
    ('It is rare.', 'It affects')
    >>> complete_part("It is rare")
    ('', 'It is rare')
    """
    ends = list(_SENTENCE_END.finditer(text))
    if not ends:
        return "", text
    return text[:ends[-1].start()], text[ends[-1].end():]


def says_nothing_beyond(sentence: str, question: str) -> bool:
    """Whether a sentence only leads in (ends with a colon) or uses no word the question
    does not: it makes no claim to verify.

    >>> says_nothing_beyond("Calcinosis cutis is a condition.", "What is calcinosis cutis?")
    False
    """
    return sentence.rstrip().endswith(":") or set(tokenize(sentence)) <= set(tokenize(question))


def claim_spans(sentence: str, candidates: Sequence[Candidate],
                limit: int = CLAIM_SPANS) -> list[Candidate]:
    """The ``limit`` candidates sharing most words with ``sentence`` (in the quote or its
    heading path); among equals, the one the judge found likelier to answer, then the
    earlier in ``candidates``."""
    tokens = set(tokenize(sentence))

    def shared(candidate: Candidate) -> int:
        return len(tokens & set(tokenize(candidate.quote + " " + candidate.span.section)))

    return sorted(candidates, key=lambda c: (-shared(c), -c.probability))[:limit]


def passing(sentence: str, candidates: Sequence[Candidate]) -> tuple[list[Candidate], str]:
    """The candidates whose span passes the vetoes for ``sentence``, in order; with none,
    the reason the closest one (most words covered, the first among equals) failed."""
    passed, reason, best_coverage = [], "no source passages", -1.0
    for candidate in candidates:
        verdict = check(sentence, candidate.quote, candidate.span.section)
        if verdict.supported:
            passed.append(candidate)
        elif verdict.coverage > best_coverage:
            reason, best_coverage = verdict.reason, verdict.coverage
    return passed, reason


def verify_sentence(sentence: str, candidates: Sequence[Candidate], question: str, judge: Judge,
                    thresholds: Thresholds) -> SentenceCheck:
    """The span that supports one generated sentence as an answer to ``question``, or None
    and why not: it must say something beyond the question, pass the vetoes against one of
    its claim spans, and reach ``thresholds.claim`` with the judge."""
    if says_nothing_beyond(sentence, question):
        return SentenceCheck(None, "says nothing beyond the question")
    spans, reason = passing(sentence, claim_spans(sentence, candidates))
    if not spans:
        return SentenceCheck(None, reason)
    scores = judge.score([(judge_query(question, sentence), c.evidence) for c in spans])
    best = int(max(range(len(spans)), key=lambda i: float(scores[i])))
    if float(scores[best]) >= thresholds.claim:
        return SentenceCheck(spans[best].span)
    return SentenceCheck(None, f"the judge does not find it answers the question from the source "
                               f"(p={float(scores[best]):.2f})")


def verify(reply: str, candidates: Sequence[Candidate], question: str, judge: Judge,
           thresholds: Thresholds) -> Verified:
    """Verify the first ``MAX_GENERATED_SENTENCES`` sentences of a whole reply."""
    verified = Verified()
    for sentence in split_answer(reply)[:MAX_GENERATED_SENTENCES]:
        verified.add(sentence, verify_sentence(sentence, candidates, question, judge, thresholds))
    return verified
