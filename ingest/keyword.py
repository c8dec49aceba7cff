"""A small Okapi BM25 keyword index, saved as JSON (no pickle, nothing executable)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from core.text import tokenize


class KeywordIndex:
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

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        scores: dict[int, float] = {}
        for token in set(tokenize(query)):
            idf = self.idf.get(token)
            if idf is None:
                continue
            for row in self.postings[token]:
                tf = self.frequencies[row][token]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[row] / (self.average or 1))
                scores[row] = scores.get(row, 0.0) + idf * tf * (self.k1 + 1) / (tf + norm)
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]

    def save(self, folder: Path) -> list[str]:
        data = {"k1": self.k1, "b": self.b,
                "documents": [[t for t, c in f.items() for _ in range(c)] for f in self.frequencies]}
        (Path(folder) / self.FILE).write_text(json.dumps(data), encoding="utf-8")
        return [self.FILE]

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        data = json.loads((Path(folder) / cls.FILE).read_text(encoding="utf-8"))
        return cls(data["documents"], data["k1"], data["b"])
