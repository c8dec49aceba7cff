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


@dataclass(frozen=True, slots=True)  # slots: a 100k-chunk index holds 100k of these
class Chunk:
    """A passage of one section: ``document.text[start:end] == text``."""

    id: str
    source: str
    section: str  # heading path, "A > B"
    start: int
    end: int
    text: str
    kind: str = "body"  # "body", "caption", "navigation" (ingest/kinds.py) or "preview"

    @property
    def embed_text(self) -> str:
        """What the embedder and the keyword index read: heading path, then text."""
        return f"{self.section}: {self.text}"


@dataclass(frozen=True, slots=True)  # slots: half a million of these at 100k chunks
class SentenceRow:
    """A sentence of the corpus, located in its document and its chunk."""

    source: str
    start: int
    end: int
    chunk: int  # row in the chunk table


@dataclass(frozen=True)
class Manifest:
    """What an index version says about itself, as the other stages read it (ingest writes
    it as ``manifest.json`` or a postgres row, with more fields of its own).

    >>> m = Manifest.from_dict({"version": "v-1", "corpus": {"b.txt": "..", "a.txt": ".."},
    ...                         "chunk_count": 3, "embedder": {"name": "minilm", "dimension": 384}})
    >>> m.sources, m.chunk_count, m.embedder, m.suggestions
    (('a.txt', 'b.txt'), 3, 'minilm', ())
    """

    version: str = ""
    created: str = ""  # when it was built, e.g. 2026-11-26T12:00:00+0000
    sources: tuple[str, ...] = ()  # the documents it holds, sorted
    corpus_dir: str = ""  # the corpus folder it was built from ("" when it predates the field)
    embedder: str = ""
    dimension: int = 0
    vector_store: str = ""
    document_count: int = 0
    section_count: int = 0
    chunk_count: int = 0
    sentence_count: int = 0
    suggestions: tuple[str, ...] = ()  # candidate example questions, best first
    # for each suggestion, (source, heading path) of the section it was derived from;
    # () for an index built before they were recorded
    suggestion_origins: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, data: dict) -> Manifest:
        """Read what a manifest holds; a field it lacks or holds in another shape (an
        index from an older version) keeps its default."""
        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        def count(key: str) -> int:
            value = data.get(key)
            return value if type(value) is int else 0

        embedder = data.get("embedder") if isinstance(data.get("embedder"), dict) else {}
        corpus = data.get("corpus") if isinstance(data.get("corpus"), dict) else {}
        suggestions = data.get("suggestions") if isinstance(data.get("suggestions"), list) else []
        return cls(version=text("version"), created=text("created"),
                   sources=tuple(sorted(str(s) for s in corpus)), corpus_dir=text("corpus_dir"),
                   embedder=str(embedder.get("name", "")),
                   dimension=embedder["dimension"] if type(embedder.get("dimension")) is int else 0,
                   vector_store=text("vector_store"), document_count=count("document_count"),
                   section_count=count("section_count"), chunk_count=count("chunk_count"),
                   sentence_count=count("sentence_count"),
                   suggestions=tuple(s for s in suggestions if isinstance(s, str)),
                   suggestion_origins=_origins(data.get("suggestion_origins"), len(suggestions)))


def _origins(value: object, count: int) -> tuple[tuple[str, str], ...]:
    """A manifest's suggestion origins, when they are one [source, section] pair per suggestion."""
    if not isinstance(value, list) or len(value) != count:
        return ()
    pairs = [tuple(v) for v in value if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)]
    return tuple(pairs) if len(pairs) == count else ()
