"""Text utilities every stage shares: the tokenizer (lower-case, stopwords out, light
stemming) that keyword search, the verifier and the evals read text with, and sentence
splitting with character offsets."""

from __future__ import annotations

import re

from .types import Sentence

STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "may", "might", "also", "s", "t"])


def stem(word: str) -> str:
    """A light suffix stripper, enough to match plurals and common inflections.

    >>> [stem(w) for w in ["nodules", "calcified", "affects", "joints", "infections"]]
    ['nodul', 'calcifi', 'affect', 'joint', 'infection']
    """
    for suffix in ("ies", "es", "ed", "ing", "ly", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words and numbers.

    >>> tokenize("The lesions are found around joints, 1 mm wide.")
    ['lesion', 'found', 'around', 'joint', '1', 'mm', 'wide']
    """
    words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower())
    return [stem(w) for w in words if w not in STOPWORDS]


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
