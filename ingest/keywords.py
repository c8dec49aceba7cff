"""Keyword search: Lucene-variant BM25 and the :class:`Keywords` interface both storages implement.

* :class:`KeywordIndex` (the file storage): the `bm25s` library's index over the chunks'
  tokens, a sparse matrix of precomputed term weights saved as ``.npy`` arrays and JSON
  beside the other tables (nothing pickled) and memory-mapped when loaded.
* :class:`PgKeywords` (the postgres storage): PostgreSQL full-text search (the
  ``tsvector`` column and its GIN index) finds the candidates, and :func:`bm25` with the
  statistics saved at ingest ranks them, so hybrid retrieval orders passages as it does
  from files (while the candidates cover every matching chunk, and up to the float32
  rounding of the file index's near-ties).

Both tokenize with :func:`core.text.tokenize` (bm25s's own tokenizer is not used), use
idf = log(1 + (N - df + 0.5) / (df + 0.5)) with k1 = 1.2, b = 0.75, and rank by
(score, row): best first, ties by row. Scores differ by a constant factor: :func:`bm25`
has Okapi's (k1 + 1) in the numerator, bm25s's "lucene" method leaves it out. Only the
order matters (retrieval fuses keyword rows by rank).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np

from core.text import STOPWORDS, tokenize
from core.types import Chunk

from .dense import Within

# bm25s sets its logger to DEBUG on import; its build messages are not ours to print.
logging.getLogger("bm25s").setLevel(logging.WARNING)

K1, B = 1.2, 0.75


class Keywords(Protocol):
    """BM25 search over the chunk rows of one index version."""

    idf: Mapping[str, float]  # token -> inverse document frequency over the chunks

    @property
    def count(self) -> int:
        """How many chunk rows are indexed."""
        ...

    def search(self, query: str, k: int, within: Within | None = None) -> list[tuple[int, float]]:
        """Best ``k`` chunk rows by BM25 score for the query's words, as (row, score);
        ``within``: only rows of those documents, chosen before ranking."""
        ...


def bm25(tf: int, length: int, idf: float, k1: float, b: float, average: float) -> float:
    """The Okapi BM25 weight of one query term in one chunk: ``tf`` times in a chunk of
    ``length`` tokens, ``average`` being the mean length. A chunk's score is the sum of
    its weights for the query's distinct terms (the postgres storage's ranking).

    >>> round(bm25(tf=2, length=10, idf=1.5, k1=1.2, b=0.75, average=10.0), 4)
    2.0625
    """
    norm = k1 * (1 - b + b * length / (average or 1))
    return idf * tf * (k1 + 1) / (tf + norm)


def inverse_frequency(df: int, count: int) -> float:
    """The idf of a token in ``df`` of ``count`` chunks, as bm25s's "lucene" method has it.

    >>> round(inverse_frequency(1, 3), 4)
    0.9808
    """
    return math.log(1 + (count - df + 0.5) / (df + 0.5))


def _best(scores: Iterable[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    return sorted(scores, key=lambda item: (-item[1], item[0]))[:k]


def _top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` rows of highest positive score, by (score desc, row asc)."""
    rows = np.flatnonzero(scores > 0)
    values = scores[rows]
    if len(rows) > k:  # keep every row tied with the k-th best, then order them all
        kept = values >= np.partition(values, len(values) - k)[len(values) - k]
        rows, values = rows[kept], values[kept]
    order = np.lexsort((rows, -values))[:k]
    return [(int(row), float(value)) for row, value in zip(rows[order], values[order])]


class _Idf(Mapping):
    """token -> idf, computed on lookup (no dict of the whole vocabulary): a token's
    document frequency is the number of weights in its column of the CSC matrix, the
    step of ``indptr`` there (one weight per chunk holding the token)."""

    def __init__(self, vocabulary: dict[str, int], indptr: np.ndarray, count: int) -> None:
        self._vocabulary, self._indptr, self._count = vocabulary, indptr, count

    def __getitem__(self, token: str) -> float:
        column = self._vocabulary[token]
        return inverse_frequency(int(self._indptr[column + 1] - self._indptr[column]), self._count)

    def __iter__(self) -> Iterator[str]:
        return iter(self._vocabulary)

    def __len__(self) -> int:
        return len(self._vocabulary)

    def __contains__(self, token: object) -> bool:
        return token in self._vocabulary


class KeywordIndex:
    """The file storage's keyword index: a bm25s ``BM25`` (method "lucene") built from
    :func:`core.text.tokenize`'s tokens, one vocabulary column per token, sorted."""

    DATA, INDICES, INDPTR = "keyword.data.npy", "keyword.indices.npy", "keyword.indptr.npy"
    VOCABULARY, PARAMETERS = "keyword.vocab.json", "keyword.params.json"  # bm25s's JSON
    STATISTICS = "keyword.stats.json"  # ours: chunk count, mean length, k1, b
    FILES = (DATA, INDICES, INDPTR, VOCABULARY, PARAMETERS, STATISTICS)  # all save() writes

    def __init__(self, retriever: bm25s.BM25, average: float) -> None:
        self._retriever = retriever
        self.k1, self.b = float(retriever.k1), float(retriever.b)
        self.average = average  # mean tokens per chunk
        self._vocabulary: dict[str, int] = retriever.vocab_dict
        self.idf: Mapping[str, float] = _Idf(self._vocabulary, retriever.scores["indptr"],
                                             self.count)

    @classmethod
    def from_tokens(cls, documents: list[list[str]], k1: float = K1, b: float = B) -> KeywordIndex:
        """The index of chunks given as token lists (row i is ``documents[i]``)."""
        vocabulary = {token: i for i, token in enumerate(sorted({t for d in documents for t in d}))}
        total = sum(len(tokens) for tokens in documents)
        retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        if total:
            ids = [[vocabulary[t] for t in tokens] for tokens in documents]
            retriever.index((ids, vocabulary), create_empty_token=False, show_progress=False)
        else:  # no token at all (bm25s would divide by a mean length of 0): nothing to score
            retriever.vocab_dict, retriever.nonoccurrence_array = {}, None
            retriever.scores = {"data": np.zeros(0, np.float32), "indices": np.zeros(0, np.int32),
                                "indptr": np.zeros(1, np.int64), "num_docs": len(documents)}
        return cls(retriever, total / len(documents) if documents else 0.0)

    @classmethod
    def from_texts(cls, texts: list[str]) -> KeywordIndex:
        return cls.from_tokens([tokenize(t) for t in texts])

    @property
    def count(self) -> int:
        return int(self._retriever.scores["num_docs"])

    @property
    def statistics(self) -> dict:
        """What ranking needs besides the chunks' own tokens (the postgres storage saves it)."""
        return {"idf": dict(self.idf), "k1": self.k1, "b": self.b, "average": self.average}

    def search(self, query: str, k: int, within: Within | None = None) -> list[tuple[int, float]]:
        columns = sorted({self._vocabulary[t] for t in tokenize(query) if t in self._vocabulary})
        if not columns or k <= 0:
            return []
        scores = self._retriever.get_scores_from_ids(columns)
        if within is not None:  # every other document's rows score nothing
            kept = np.zeros_like(scores)
            kept[within.rows] = scores[within.rows]
            scores = kept
        return _top(scores, k)

    def save(self, folder: Path) -> list[str]:
        """Write the index into ``folder``; returns the names of the files written."""
        folder = Path(folder)
        self._retriever.save(folder, data_name=self.DATA, indices_name=self.INDICES,
                             indptr_name=self.INDPTR, vocab_name=self.VOCABULARY,
                             params_name=self.PARAMETERS, allow_pickle=False, show_progress=False)
        statistics = {"count": self.count, "average": self.average, "k1": self.k1, "b": self.b}
        (folder / self.STATISTICS).write_text(json.dumps(statistics), encoding="utf-8")
        return list(self.FILES)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """The index saved in ``folder``, its arrays memory-mapped (``np.load`` without
        pickle); raises ValueError when the files do not fit together, OSError when unreadable."""
        folder = Path(folder)
        try:
            statistics = json.loads((folder / cls.STATISTICS).read_text(encoding="utf-8"))
            # bm25s builds its BM25 from these: check them before it reads anything more.
            parameters = json.loads((folder / cls.PARAMETERS).read_text(encoding="utf-8"))
            if (parameters["method"], parameters["idf_method"], parameters["backend"]) \
                    != ("lucene", "lucene", "numpy"):
                raise ValueError("the keyword index's parameters are not bm25s's lucene ones")
            retriever = bm25s.BM25.load(
                folder, data_name=cls.DATA, indices_name=cls.INDICES, indptr_name=cls.INDPTR,
                vocab_name=cls.VOCABULARY, params_name=cls.PARAMETERS, load_corpus=False,
                mmap=True, allow_pickle=False, show_progress=False)
            problem = _problem(retriever, statistics)
        except (TypeError, KeyError, AttributeError, IndexError, ImportError,
                RecursionError) as error:
            raise ValueError(f"the keyword index is damaged ({type(error).__name__})") from error
        if problem:
            raise ValueError(f"the keyword index is damaged: {problem}")
        return cls(retriever, float(statistics["average"]))


def _problem(retriever: bm25s.BM25, statistics: dict) -> str | None:
    """What does not fit in a loaded bm25s index (None when everything does)."""
    scores, vocabulary = retriever.scores, retriever.vocab_dict
    data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
    count, average = statistics["count"], statistics["average"]
    method = (retriever.method, retriever.idf_method, retriever.backend)
    if method != ("lucene", "lucene", "numpy") or np.dtype(retriever.dtype).kind != "f" \
            or np.dtype(retriever.int_dtype).kind != "i" \
            or (retriever.k1, retriever.b) != (statistics["k1"], statistics["b"]):
        return "its parameters are not the ones it was built with"
    if type(count) is not int or count < 0 or scores["num_docs"] != count:
        return f"it holds {str(scores['num_docs'])[:20]} chunks, its statistics {str(count)[:20]}"
    if type(average) not in (int, float) or not 0 <= average < 1e9:
        return "its mean chunk length is not one"
    arrays = ((data, "f"), (indices, "i"), (indptr, "i"))
    if any(not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind != k for a, k in arrays):
        return "its arrays are not flat numeric arrays"
    if any(type(column) is not int for column in vocabulary.values()) \
            or set(vocabulary.values()) != set(range(len(vocabulary))):
        return "its vocabulary does not number its tokens 0..n-1"
    if len(indptr) != len(vocabulary) + 1 or len(data) != len(indices) or indptr[0] != 0 \
            or indptr[-1] != len(data) or bool(np.any(np.diff(indptr) < 0)):
        return f"{len(indptr)} column pointers for {len(vocabulary)} tokens, {len(data)} weights"
    # One pass over the row numbers (a search would fail on one past the end); the weights'
    # values are not scanned (the manifest's checksums vouch for them, as for the vectors).
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= count):
        return "a weight points outside the chunk rows"
    return None


class PgKeywords:
    """The postgres storage's keyword search over one version's pgvector table (see the
    module docstring); ``statistics`` is :attr:`KeywordIndex.statistics` as saved."""

    CANDIDATES = 200

    def __init__(self, store, statistics: dict, chunks: list[Chunk], subset=None) -> None:
        self._store = store  # llama-index's PGVectorStore of the version's table
        self._subset = subset  # the storage's filtered SQL (ingest.storage.pgsearch.SubsetSearch)
        self.idf: dict[str, float] = statistics["idf"]
        self._k1, self._b, self._average = statistics["k1"], statistics["b"], statistics["average"]
        self._chunks = chunks

    @property
    def count(self) -> int:
        return len(self._chunks)

    def search(self, query: str, k: int, within: Within | None = None) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

        words = [w for w in re.findall(r"[a-z0-9]+", query.lower()) if w not in STOPWORDS]
        if not words:
            return []
        depth = max(k, self.CANDIDATES)
        if within is not None:
            candidates = self._subset.keyword_rows(words, depth, within)
        else:
            result = self._store.query(VectorStoreQuery(query_str=" ".join(words), mode=VectorStoreQueryMode.TEXT_SEARCH,
                                                        sparse_top_k=depth, similarity_top_k=depth))
            candidates = [int(node.metadata["row"]) for node in result.nodes]
        terms = [t for t in set(tokenize(query)) if t in self.idf]
        scores = []
        for row in candidates:
            tokens = tokenize(self._chunks[row].embed_text)
            frequency = Counter(tokens)
            score = sum(bm25(frequency[t], len(tokens), self.idf[t], self._k1, self._b, self._average)
                        for t in terms if frequency[t])
            if score > 0:
                scores.append((row, score))
        return _best(scores, k)
