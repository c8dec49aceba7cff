"""Sentence splitting with character offsets."""

from __future__ import annotations

import re

from .types import Sentence

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) when
# white space and a capital, digit, quote or bracket follow. Lines inside a paragraph
# (bulleted list items) stay in the sentence that introduced them, so a list is one unit.
_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[A-Z0-9\"'(\[*])")
_ABBREVIATIONS = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|Dr|Mr|Mrs|Ms|St|No|Fig|al|approx)\.|\b[A-Z]\.)$")
# The abbreviation check reads only this many characters before a boundary (more than the
# longest abbreviation, "approx.", and the character before it), so splitting stays linear
# however many boundaries a sentence absorbs ("A. A. A. ...").
_TAIL = 12


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Split ``text`` into sentences; offsets are relative to ``offset``.

    >>> [s.text for s in split_sentences("It is rare. Dr. Who said so! Yes.")]
    ['It is rare.', 'Dr. Who said so!', 'Yes.']
    >>> split_sentences("Hi there. Bye.", offset=10)[1]
    Sentence(start=20, end=24, text='Bye.')
    """
    sentences: list[Sentence] = []
    start = 0
    for paragraph in re.finditer(r"(?:[^\n]|\n(?!\n))+", text):
        start = paragraph.start()
        for boundary in _BOUNDARY.finditer(text, paragraph.start(), paragraph.end()):
            if _ABBREVIATIONS.search(text[max(start, boundary.start() - _TAIL):boundary.start()]):
                continue
            _add(sentences, text, start, boundary.start(), offset)
            start = boundary.end()
        _add(sentences, text, start, paragraph.end(), offset)
    return sentences


def _add(sentences: list[Sentence], text: str, start: int, end: int, offset: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    begin = start + lead
    sentences.append(Sentence(offset + begin, offset + begin + len(stripped), stripped))
