"""Composing an answer from source spans.

* :class:`SourceSpans` reads the index as citable spans: a sentence that opens with "It",
  "This"... is cited together with the sentences it refers to, so it keeps its meaning;
* :func:`extractive` drafts an answer from the pieces :mod:`qa.select` chose, verbatim;
* :class:`Composer` numbers the citations and labels the sentences in the order they are
  shown, so a sentence streamed early reads exactly as it does in the final Answer;
* :func:`ocr_note` says which cited documents were read by OCR (the ``ocr`` setting).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.answer import Citation, Span, VerifiedSentence
from core.index import Index
from judge import evidence_text

from .thresholds import MAX_CONTEXT_SENTENCES
from .verify import Candidate

if TYPE_CHECKING:
    from .select import Piece

# A sentence that opens with a reference to something said before: shown alone, or after
# another sentence, it would say something else ("It works by ..." after colchicine).
_REFERRING = re.compile(r"^(?:it|its|this|these|that|those|they|their|them|such|he|she|his|her|"
                        r"both|the latter|the former|the same|here|there|however|thus|therefore|"
                        r"in (?:this|these|such) \w+|as a result)\b", re.IGNORECASE)


def ocr_note(manifest: Mapping, citations: Sequence[Citation]) -> str:
    """The answer's note for the cited documents that were read by OCR from a scan (the
    index manifest's ``ocr_sources``); "" when none was.

    >>> ocr_note({"ocr_sources": ["scan.pdf"]}, [Citation(1, "Hi.", "scan.pdf", "S", 0, 3, 1)])
    'Text from scan.pdf was read by OCR (from a scan); check the quoted words against the page.'
    """
    from .prompts import OCR_NOTE

    scanned = set(manifest.get("ocr_sources") or ())
    cited = [s for c in citations for s in (c.source, *(span.source for span in c.also))]
    return " ".join(OCR_NOTE.format(source=s) for s in dict.fromkeys(cited) if s in scanned)


def refers_back(sentence: str) -> bool:
    """Whether a sentence opens with a word that points at an earlier sentence.

    >>> refers_back("It is thought to work by modifying calcium levels."), refers_back("Italy is far.")
    (True, False)
    """
    return bool(_REFERRING.match(sentence.strip()))


class SourceSpans:
    """The index's sentence rows as the spans they are cited with, their quotes, and the
    evidence text the judge reads for them."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.previous_row: dict[int, int] = {}  # sentence row -> the row before it in its chunk
        for row in range(1, len(index.sentences)):
            if index.sentences[row].chunk == index.sentences[row - 1].chunk:
                self.previous_row[row] = row - 1

    def context_rows(self, row: int) -> list[int]:
        """The row, preceded by the sentences its opening pronoun needs, in source order
        (at most ``MAX_CONTEXT_SENTENCES`` of them)."""
        rows = [row]
        while (len(rows) <= MAX_CONTEXT_SENTENCES and refers_back(self.index.sentence_text(
                self.index.sentences[rows[0]])) and rows[0] in self.previous_row):
            rows.insert(0, self.previous_row[rows[0]])
        return rows

    def span(self, row: int) -> Span:
        rows = self.context_rows(row)
        first, last = self.index.sentences[rows[0]], self.index.sentences[rows[-1]]
        return Span(first.source, first.start, last.end, self.index.chunks[last.chunk].section)

    def quote(self, row: int) -> str:
        span = self.span(row)
        return self.index.documents[span.source][span.start:span.end]

    def evidence(self, row: int) -> str:
        """What the judge reads for a row: the sentence, its heading path, the one before."""
        sentence = self.index.sentences[row]
        previous = self.previous_row.get(row)
        before = self.index.sentence_text(self.index.sentences[previous]) if previous is not None else ""
        return evidence_text(self.index.sentence_text(sentence),
                             self.index.chunks[sentence.chunk].section, before)

    def candidate(self, row: int, probability: float) -> Candidate:
        """A row as :mod:`qa.verify` and :func:`extractive` read it."""
        span = self.span(row)
        return Candidate(span, self.index.documents[span.source][span.start:span.end],
                         self.evidence(row), probability)


@dataclass
class Draft:
    shown: list[tuple[str, Span]] = field(default_factory=list)  # (text, the span it quotes)
    also: dict[Span, tuple[Span, ...]] = field(default_factory=dict)  # the same words elsewhere


def extractive(pieces: Sequence[Piece]) -> Draft:
    """The chosen pieces (:func:`qa.select.select`) as shown, verbatim and in order: each
    quote (labelled when it is a caption), then the list items it introduces."""
    draft = Draft()
    for piece in pieces:
        quote = piece.candidate.quote
        if piece.label and piece.label.lower() not in quote.lower():
            quote = f"{piece.label}: {quote}"
        draft.shown.append((quote, piece.candidate.span))
        draft.shown.extend(piece.items)
        if piece.also:
            draft.also[piece.candidate.span] = piece.also
    return draft


class Composer:
    """Numbers citations and labels sentences in the order they are shown, so that a
    sentence streamed early reads exactly as it does in the final Answer."""

    def __init__(self, documents: Mapping[str, str],
                 page_of: Callable[[str, int], int | None] = lambda source, offset: None) -> None:
        self.documents = documents
        self.page_of = page_of
        self.citations: list[Citation] = []
        self.numbers: dict[Span, int] = {}
        self.shown: list[tuple[str, int]] = []
        self.first_section: str | None = None

    def add(self, sentence: str, span: Span, also: tuple[Span, ...] = ()) -> VerifiedSentence:
        """Show ``sentence`` citing ``span`` (and ``also``: the same words elsewhere)."""
        if span not in self.numbers:
            self.numbers[span] = len(self.citations) + 1
            self.citations.append(Citation(
                number=self.numbers[span], quote=self.documents[span.source][span.start:span.end],
                source=span.source, section=span.section, start=span.start, end=span.end,
                page=self.page_of(span.source, span.start), also=also))
        # A sentence from another section than the first one shown, that does not name its
        # section, says which one it speaks of ("It" in a section on one condition is not
        # the condition of the sentence before).
        leaf = span.section.split(" > ")[-1]
        if self.first_section is None:
            self.first_section = span.section
        elif span.section != self.first_section and leaf.lower() not in sentence.lower():
            sentence = f"{leaf}: {sentence}"
        number = self.numbers[span]
        self.shown.append((sentence, number))
        return VerifiedSentence(sentence, self.citations[number - 1])

    @property
    def text(self) -> str:
        return " ".join(f"{sentence} [{number}]" for sentence, number in self.shown)
