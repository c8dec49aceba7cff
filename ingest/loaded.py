"""An index version in memory: :class:`LoadedIndex`, what both storages' ``load`` return.

It implements :class:`core.index.Index`, the read interface of ``qa`` and ``app``: the
tables (documents, chunks, sentences), the sentence and chunk vectors, and search through
a :class:`~ingest.dense.Dense` and a :class:`~ingest.keywords.Keywords` of its storage.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from core.types import Chunk, SentenceRow, page_at

from .dense import Dense, Within
from .headings import topic_names
from .keywords import Keywords


@dataclass
class LoadedIndex:
    manifest: dict
    documents: Mapping[str, str]  # source -> cleaned text (files: ingest.texts, read by offset)
    chunks: list[Chunk]
    sentences: list[SentenceRow]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray
    vectors: Dense
    keywords: Keywords
    keys: dict[str, list[str | None]] = field(default_factory=dict)  # embedding keys per table (files)
    pages: dict[str, list[int]] = field(default_factory=dict)  # source -> page starts (PDFs)
    _rows: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False)  # source -> chunk rows

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", ""))

    @property
    def titles(self) -> dict[str, str]:
        title = getattr(self.documents, "title", None)  # files: without reading the documents
        if title is not None:
            return {source: title(source) for source in self.documents}
        return {source: text.split("\n", 1)[0] for source, text in self.documents.items()}  # line 1

    def mentions(self, phrase: str) -> bool:
        """Whether the source says ``phrase`` (its words in order, whole words, any case)."""
        search = getattr(self.documents, "mentions", None)  # files: searched on disk
        if search is not None:
            return search(phrase)
        words = phrase.split()
        pattern = r"\s+".join(re.escape(w) for w in words)
        return bool(words) and any(re.search(rf"(?<!\w){pattern}(?!\w)", text, re.IGNORECASE)
                                   for text in self.documents.values())

    @property
    def topics(self) -> list[str]:
        return topic_names(self.titles.values(), (chunk.section for chunk in self.chunks))

    def within(self, sources: Collection[str]) -> Within:
        """The chunk rows of these documents (sorted), for a search limited to them."""
        if self._rows is None:  # one pass over the chunk table, once per loaded version
            rows: dict[str, list[int]] = {}
            for row, chunk in enumerate(self.chunks):
                rows.setdefault(chunk.source, []).append(row)
            self._rows = {source: np.asarray(r, dtype=np.int64) for source, r in rows.items()}
        chosen = tuple(sorted(set(sources)))
        parts = [self._rows[s] for s in chosen if s in self._rows]
        return Within(chosen, np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64))

    def search_dense(self, vector: np.ndarray, k: int,
                     sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        if sources is None:
            return self.vectors.search(vector, k)
        return self.vectors.search(vector, k, within=self.within(sources))

    def search_keywords(self, query: str, k: int,
                        sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        if sources is None:
            return self.keywords.search(query, k)
        return self.keywords.search(query, k, within=self.within(sources))

    def chunk_cosine(self, row: int, vector: np.ndarray) -> float:
        return float(self.chunk_vectors[row] @ vector)

    def idf(self, token: str) -> float:
        known = self.keywords.idf.get(token)
        return known if known is not None else math.log(1 + (len(self.chunks) + 0.5) / 0.5)

    def page_starts(self, source: str) -> tuple[int, ...]:
        return tuple(int(p) for p in self.pages.get(source, ()))

    def sentence_text(self, row: SentenceRow) -> str:
        return self.documents[row.source][row.start:row.end]

    def page_of(self, source: str, offset: int) -> int | None:
        """The 1-based page of ``offset`` in ``source``; None when it has no pages (or the
        index predates pages)."""
        return page_at(self.pages.get(source, ()), offset)


def pages_problem(pages: object, documents: dict[str, str]) -> str | None:
    """What is wrong with a page table (None when nothing is): every paged document is in
    the index and its page starts are whole offsets that begin at 0 and never go back.

    >>> pages_problem({"a.pdf": [0, 4, 4, 9]}, {"a.pdf": "0123456789"}) is None
    True
    >>> pages_problem({"a.pdf": [0, 12]}, {"a.pdf": "0123456789"})
    'the page table does not fit its documents'
    """
    if not isinstance(pages, dict):
        return "the page table is not a table"
    for source, starts in pages.items():
        text = documents.get(source)
        if (text is None or not isinstance(starts, list) or not starts or starts[0] != 0
                or not all(type(s) is int for s in starts)
                or any(b < a for a, b in itertools.pairwise(starts)) or starts[-1] > len(text)):
            return "the page table does not fit its documents"
    return None
