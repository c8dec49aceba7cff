"""Which source sentences an answer shows: chosen from the question, not from a threshold.

The judge (:mod:`judge`) scores each candidate sentence; :func:`select` then keeps only
what answers the question as asked:

* the best sentence, and further ones only when the judge rates them near it
  (``NEAR_BEST``) as well as above ``thresholds.extra``, and only sentences about the
  thing and the aspect asked about (:mod:`qa.scope`) when such a one answers;
* a list is shown beside the best sentence only when the question asks for several things;
* a sentence that the next one completes ("Diltiazem ... has been a mainstay ..." then
  "It is thought to work by ...") comes with it, when the judge finds that one answering;
* a sentence that introduces a list comes with its items (:mod:`qa.lists`), or not at all,
  and a list item comes with its whole list;
* a question for a specific value (a dose, a duration...) is answered only by a sentence
  that holds one (:mod:`qa.asks`); otherwise it is declined, whatever the topic match;
* a question for an aspect (its diagnosis, its symptoms) of a document organised by aspect
  headings is declined when the best sentence neither stands under that aspect nor says it;
* captions and navigation lines (:mod:`ingest.kinds`) are shown only when the question
  asks for a picture or a related page, or when nothing else answers; then labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from core.answer import Span
from judge import Thresholds

from . import prompts
from .asks import asks_for_figures, asks_for_several, holds_value, value_asked
from .compose import SourceSpans, refers_back
from .lists import complete_list, introduces_list, list_around
from .scope import Scope, narrow, uncovered_aspect
from .thresholds import MAX_ANSWER_SENTENCES, NEAR_BEST
from .verify import Candidate

BODY = "body"


class Scored(Protocol):
    """A judged sentence row (:class:`qa.engine.Judged` is one)."""

    row: int
    text: str
    probability: float


@dataclass(frozen=True)
class Piece:
    """One shown unit of an extractive answer: a candidate span, the list items shown
    after it (heading lines, each its own citation), and a label for a caption."""

    candidate: Candidate
    items: tuple[tuple[str, Span], ...] = ()
    label: str = ""
    also: tuple[Span, ...] = ()  # the same words at other places, cited too


@dataclass(frozen=True)
class Selection:
    pieces: list[Piece]
    note: str = ""  # why nothing is shown, when something was judged answering

    @property
    def candidates(self) -> list[Candidate]:
        """The chosen spans as a model reads them (list items after their introduction)."""
        return [p.candidate for p in self.pieces]


def select(question: str, judged: Sequence[Scored], spans: SourceSpans, thresholds: Thresholds,
           extra: float | None = None, topics: Sequence[str] = ()) -> Selection:
    """The pieces an answer to ``question`` shows, best first (see the module)."""
    index = spans.index
    extra = thresholds.extra if extra is None else extra
    kinds = {j.row: index.chunks[index.sentences[j.row].chunk].kind for j in judged}
    pool = list(judged)
    value = value_asked(question)
    if value:
        pool = [j for j in pool if holds_value(j.text, value)]
    body = [j for j in pool if kinds[j.row] == BODY]
    if not asks_for_figures(question) and any(j.probability >= thresholds.answer for j in body):
        pool = body  # a caption beside body text that answers is not evidence
    scope = Scope(question, index, topics)
    pool = narrow(pool, scope, thresholds.answer)
    if not asks_for_several(question):  # a list of kinds does not answer "who gets it?"
        pool = [j for j in pool if not introduces_list(j.text)] or pool
    # The gate opened on the judge's best sentence; a lead chosen after filtering must
    # answer by itself too.
    if not pool or (pool[0] is not judged[0] and pool[0].probability < thresholds.answer):
        note = prompts.NO_VALUE_NOTE.format(value=value) if value and judged else ""
        return Selection([], note)
    lead = pool[0]
    if uncovered_aspect(scope, lead.row, lead.text):  # "How is it diagnosed?" and its definition
        return Selection([])
    chosen = [lead] + [j for j in pool[1:] if j.probability >= max(extra, NEAR_BEST * lead.probability)]
    probability = {j.row: j.probability for j in judged}
    several = asks_for_several(question)
    pieces: list[Piece] = []
    for j in chosen:
        if len(pieces) == MAX_ANSWER_SENTENCES:
            break
        piece = _piece(spans, j.row, j.probability, probability, thresholds.answer, kinds[j.row], several)
        if piece is not None and not any(_within(piece.candidate.span, p.candidate.span) for p in pieces):
            pieces = [p for p in pieces if not _within(p.candidate.span, piece.candidate.span)]
            pieces.append(piece)
    return Selection(_distinct(pieces, spans, judged))


def _piece(spans: SourceSpans, row: int, p: float, probability: dict[int, float], answer: float,
           kind: str, several: bool) -> Piece | None:
    """A row as it is shown: grown over the next row when that one completes it and the
    judge finds it answering; in its whole list when it is an item; with its items when it
    introduces a list. An introduction whose items cannot be found is left out (None) for
    a question that asks for several things; for another ("How do bills pass?" and "Bills
    pass ... in a number of stages:") it is a statement, shown as it is."""
    index = spans.index
    following = row + 1
    if (spans.previous_row.get(following) == row and probability.get(following, 0.0) >= answer
            and refers_back(index.sentence_text(index.sentences[following]))):
        row = following
    candidate = spans.candidate(row, p)
    label = "" if kind == BODY else candidate.span.section.split(" > ")[-1]
    whole = list_around(index, row)
    if whole is not None:  # an item: shown in its list, with every other item
        quote = index.documents[whole.source][whole.start:whole.end]
        return Piece(Candidate(whole, quote, candidate.evidence, p), label=label)
    if not introduces_list(index.sentence_text(index.sentences[row])):
        return Piece(candidate, label=label)
    items = complete_list(index, row, candidate.span)
    if items is None:
        return None if several else Piece(candidate, label=label)
    if items.span is not None:
        quote = index.documents[items.span.source][items.span.start:items.span.end]
        return Piece(Candidate(items.span, quote, candidate.evidence, p), label=label)
    return Piece(candidate, items.headings, label)


def _within(inner: Span, outer: Span) -> bool:
    return inner.source == outer.source and outer.start <= inner.start and inner.end <= outer.end


def _distinct(pieces: list[Piece], spans: SourceSpans, judged: Sequence[Scored]) -> list[Piece]:
    """The pieces without one whose quote another already shows word for word: the same
    sentence in two documents is shown once, citing both (the other places, among the
    judged candidates, go to ``also``)."""
    kept: dict[str, Piece] = {}
    for piece in pieces:
        key = _words(piece.candidate.quote)
        first = kept.get(key)
        if first is None:
            kept[key] = piece
        elif piece.candidate.span not in first.also:
            kept[key] = replace(first, also=(*first.also, piece.candidate.span))
    index = spans.index
    for j in judged:
        piece = kept.get(_words(j.text))
        if piece is None:
            continue
        sentence = index.sentences[j.row]
        other = Span(sentence.source, sentence.start, sentence.end, index.chunks[sentence.chunk].section)
        span = piece.candidate.span
        if other.source != span.source and other not in piece.also:
            kept[_words(j.text)] = replace(piece, also=(*piece.also, other))
    return list(kept.values())


def _words(text: str) -> str:
    return " ".join(text.lower().split())
