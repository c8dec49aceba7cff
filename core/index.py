"""The index as the answering stage and the app read it, whichever storage holds it.

``ingest`` builds and stores an index (files under ``index_dir``, or PostgreSQL) and
hands out objects that satisfy :class:`Index`; ``qa`` and ``app`` read only through
this interface, never a storage's own classes. Rows are positions: chunk row ``i`` is
``chunks[i]``, sentence row ``j`` is ``sentences[j]``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .types import Chunk, SentenceRow


@runtime_checkable
class Index(Protocol):
    manifest: dict  # what built it: version, embedder, judge, counts, corpus folder, suggestions
    documents: Mapping[str, str]  # source -> cleaned text (citations are offsets into it)
    chunks: Sequence[Chunk]
    sentences: Sequence[SentenceRow]
    sentence_vectors: np.ndarray  # one unit vector per sentence row (float16 or float32)

    @property
    def version(self) -> str:
        """The name of this index version ("" when unknown)."""
        ...

    @property
    def titles(self) -> dict[str, str]:
        """Source -> its document's title."""
        ...

    @property
    def topics(self) -> list[str]:
        """What a question can be about, lower-cased, longest first: document titles and the
        headings that name a thing rather than an aspect of one ("Treatment")."""
        ...

    def search_dense(self, vector: np.ndarray, k: int,
                     sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Best ``k`` chunk rows by cosine similarity to a unit query vector, best first;
        ``sources``: only chunks of those documents, chosen before ranking (None: all)."""
        ...

    def search_keywords(self, query: str, k: int,
                        sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Best ``k`` chunk rows by BM25 score for the query's words, best first;
        ``sources`` as for :meth:`search_dense`."""
        ...

    def chunk_cosine(self, row: int, vector: np.ndarray) -> float:
        """Cosine similarity of one chunk row to a unit query vector."""
        ...

    def mentions(self, phrase: str) -> bool:
        """Whether the source says ``phrase``: its words in order, whole words, any case."""
        ...

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token over the chunks (a word the corpus never
        uses gets the highest)."""
        ...

    def sentence_text(self, row: SentenceRow) -> str: ...

    def page_of(self, source: str, offset: int) -> int | None:
        """The 1-based page of ``offset`` in a paged source (a PDF); None without pages."""
        ...

    def page_starts(self, source: str) -> tuple[int, ...]:
        """Where each page of a paged source begins (offsets); () without pages."""
        ...
