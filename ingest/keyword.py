"""A small Okapi BM25 keyword index, saved as JSON (no pickle, nothing executable)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

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
