"""Keyword search: one BM25 and the :class:`Keywords` interface both storages implement.

* :class:`KeywordIndex` (the file storage): an Okapi BM25 index over the chunks' tokens,
  saved as JSON beside the other tables (no pickle, nothing executable).
* :class:`PgKeywords` (the postgres storage): PostgreSQL full-text search (the
  ``tsvector`` column and its GIN index) finds the candidates, and :func:`bm25` with the
  statistics saved at ingest ranks them, so hybrid retrieval orders passages as it does
  from files (exactly so while the candidates cover every matching chunk).

Both tokenize with :func:`core.text.tokenize` and rank by (score, row): best first, ties by row.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from core.text import STOPWORDS, tokenize
from core.types import Chunk


class Keywords(Protocol):
    """BM25 search over the chunk rows of one index version."""

    idf: Mapping[str, float]  # token -> inverse document frequency over the chunks

    @property
    def count(self) -> int:
        """How many chunk rows are indexed."""
        ...

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Best ``k`` chunk rows by BM25 score for the query's words, as (row, score)."""
        ...


def bm25(tf: int, length: int, idf: float, k1: float, b: float, average: float) -> float:
    """The Okapi BM25 weight of one query term in one chunk: ``tf`` times in a chunk of
    ``length`` tokens, ``average`` being the mean length. A chunk's score is the sum of
    its weights for the query's distinct terms, added in one order by both storages.

    >>> round(bm25(tf=2, length=10, idf=1.5, k1=1.2, b=0.75, average=10.0), 4)
    2.0625
    """
    norm = k1 * (1 - b + b * length / (average or 1))
    return idf * tf * (k1 + 1) / (tf + norm)


def _best(scores: Iterable[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    return sorted(scores, key=lambda item: (-item[1], item[0]))[:k]


class KeywordIndex:
    """The file storage's keyword index, saved as ``keyword.json``."""

    FILE = "keyword.json"

    def __init__(self, documents: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.frequencies = [Counter(tokens) for tokens in documents]
        self.lengths = [len(tokens) for tokens in documents]
        self.average = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        counts: Counter[str] = Counter()
        for frequency in self.frequencies:
            counts.update(frequency.keys())
        n = len(documents)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in counts.items()}
        self.postings: dict[str, list[int]] = {}
        for row, frequency in enumerate(self.frequencies):
            for token in frequency:
                self.postings.setdefault(token, []).append(row)

    @classmethod
    def from_texts(cls, texts: list[str]) -> KeywordIndex:
        return cls([tokenize(t) for t in texts])

    @property
    def count(self) -> int:
        return len(self.lengths)

    @property
    def statistics(self) -> dict:
        """What ranking needs besides the chunks' own tokens (the postgres storage saves it)."""
        return {"idf": self.idf, "k1": self.k1, "b": self.b, "average": self.average}

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        scores: dict[int, float] = {}
        for token in set(tokenize(query)):
            idf = self.idf.get(token)
            if idf is None:
                continue
            for row in self.postings[token]:
                weight = bm25(self.frequencies[row][token], self.lengths[row], idf, self.k1, self.b,
                              self.average)
                scores[row] = scores.get(row, 0.0) + weight
        return _best(scores.items(), k)

    def save(self, folder: Path) -> list[str]:
        data = {"k1": self.k1, "b": self.b,
                "documents": [[t for t, c in f.items() for _ in range(c)] for f in self.frequencies]}
        (Path(folder) / self.FILE).write_text(json.dumps(data), encoding="utf-8")
        return [self.FILE]

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        data = json.loads((Path(folder) / cls.FILE).read_text(encoding="utf-8"))
        return cls(data["documents"], data["k1"], data["b"])


class PgKeywords:
    """The postgres storage's keyword search over one version's pgvector table (see the
    module docstring); ``statistics`` is :attr:`KeywordIndex.statistics` as saved."""

    CANDIDATES = 200

    def __init__(self, store, statistics: dict, chunks: list[Chunk]) -> None:
        self._store = store  # llama-index's PGVectorStore of the version's table
        self.idf: dict[str, float] = statistics["idf"]
        self._k1, self._b, self._average = statistics["k1"], statistics["b"], statistics["average"]
        self._chunks = chunks

    @property
    def count(self) -> int:
        return len(self._chunks)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

        words = [w for w in re.findall(r"[a-z0-9]+", query.lower()) if w not in STOPWORDS]
        if not words:
            return []
        depth = max(k, self.CANDIDATES)
        result = self._store.query(VectorStoreQuery(query_str=" ".join(words), mode=VectorStoreQueryMode.TEXT_SEARCH,
                                                    sparse_top_k=depth, similarity_top_k=depth))
        terms = [t for t in set(tokenize(query)) if t in self.idf]
        scores = []
        for node in result.nodes:
            row = int(node.metadata["row"])
            tokens = tokenize(self._chunks[row].embed_text)
            frequency = Counter(tokens)
            score = sum(bm25(frequency[t], len(tokens), self.idf[t], self._k1, self._b, self._average)
                        for t in terms if frequency[t])
            if score > 0:
                scores.append((row, score))
        return _best(scores, k)
