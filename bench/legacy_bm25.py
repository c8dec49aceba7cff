"""The hand-written Okapi BM25 index replaced in issue 17 by :mod:`bm25s` (see
:mod:`ingest.keywords`), kept only as the baseline of :mod:`bench.keywords_ab`.

It is ``ingest.keywords.KeywordIndex`` as it was: every chunk's tokens saved as JSON
(``keyword.json``), loaded into Python dicts and scored in a Python loop.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from core.text import tokenize


def bm25(tf: int, length: int, idf: float, k1: float, b: float, average: float) -> float:
    """The Okapi BM25 weight of one query term in one chunk: ``tf`` times in a chunk of
    ``length`` tokens, ``average`` being the mean length. A chunk's score is the sum of
    its weights for the query's distinct terms.

    >>> round(bm25(tf=2, length=10, idf=1.5, k1=1.2, b=0.75, average=10.0), 4)
    2.0625
    """
    norm = k1 * (1 - b + b * length / (average or 1))
    return idf * tf * (k1 + 1) / (tf + norm)


def _best(scores: Iterable[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    return sorted(scores, key=lambda item: (-item[1], item[0]))[:k]


class KeywordIndex:
    """The hand-written keyword index, saved as ``keyword.json``."""

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
