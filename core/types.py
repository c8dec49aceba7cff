"""Plain data about documents that flows between the stages: sections, chunks, sentences."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preview:
    """A link hover-preview removed from the body text.

    ``start``/``end`` locate the linked term in the cleaned document, i.e. where the
    preview stood; ``text`` is the preview itself (not part of the article).
    """

    source: str
    term: str
    text: str
    start: int
    end: int
    line: int  # 1-based line number in the raw file


@dataclass(frozen=True)
class Section:
    """A section of a cleaned document; ``path`` is its heading path from the top."""

    path: tuple[str, ...]
    start: int  # offset of the heading line (or of the body for the lead section)
    body_start: int
    end: int

    @property
    def heading(self) -> str:
        return " > ".join(self.path)


@dataclass(frozen=True)
class CleanDocument:
    source: str  # document name, relative to the corpus folder
    title: str
    text: str
    sections: tuple[Section, ...]
    paragraphs: tuple[tuple[int, int], ...]  # (start, end) of every body paragraph
    previews: tuple[Preview, ...] = field(default=())
    pages: tuple[int, ...] = ()  # offset in ``text`` where page 1, 2, ... begins; () unpaged

    def page_at(self, offset: int) -> int | None:
        """The 1-based page that holds ``offset``, or None for a document without pages."""
        return page_at(self.pages, offset)


def page_at(pages: tuple[int, ...] | list[int], offset: int) -> int | None:
    """The 1-based page holding ``offset``, given where each page begins; None without pages.

    >>> page_at((0, 30, 70), 45), page_at((0, 30, 30, 70), 30), page_at((), 5)
    (2, 3, None)
    """
    return bisect.bisect_right(pages, offset) if pages else None


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A passage of one section: ``document.text[start:end] == text``."""

    id: str
    source: str
    section: str  # heading path, "A > B"
    start: int
    end: int
    text: str
    kind: str = "body"  # "body" or "preview"

    @property
    def embed_text(self) -> str:
        """What the embedder and the keyword index read: heading path, then text."""
        return f"{self.section}: {self.text}"


@dataclass(frozen=True)
class SentenceRow:
    """A sentence of the corpus, located in its document and its chunk."""

    source: str
    start: int
    end: int
    chunk: int  # row in the chunk table
