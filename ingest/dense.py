"""Dense (vector) search: the :class:`Dense` interface and its two backends.

* :class:`FaissDense` (the file storage): FAISS, saved in llama-index's
  ``FaissVectorStore`` format (FAISS's own) and read back memory-mapped; an exact inner-product index over unit vectors (cosine
  similarity) up to ``ann_min_vectors`` rows, and an approximate IVF index (inverted lists
  searched ``ann_nprobe`` at a time) from there on, where exact search gets slow
  (bench/RESULTS.md shows where). Built with :meth:`FaissDense.add`, written into a
  version's folder with :meth:`~FaissDense.save`.
* :class:`PgvectorDense` (the postgres storage): one version's pgvector table through
  llama-index's ``PGVectorStore``; the postgres storage writes its rows (each with the
  chunk's text, which keyword search reads too).

Rows are addressed by position: row ``i`` is chunk ``i`` of the version's chunk table.
A search may be limited to some documents (:class:`Within`) before it ranks: FAISS skips
every other row (an ``IDSelectorBitmap``), pgvector adds ``WHERE source = ANY(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class Within:
    """Search only these documents: their names, and their chunk rows (sorted)."""

    sources: tuple[str, ...]
    rows: np.ndarray


class Dense(Protocol):
    """Search by cosine similarity over the chunk rows of one index version."""

    @property
    def count(self) -> int:
        """How many chunk rows are indexed."""
        ...

    def search(self, vector: np.ndarray, k: int, within: Within | None = None) -> list[tuple[int, float]]:
        """Best ``k`` rows for one unit query vector, as (row, cosine similarity), best first;
        ``within``: only rows of those documents, chosen before ranking."""
        ...


def ivf_lists(count: int) -> int:
    """Inverted lists for an IVF index of ``count`` vectors: about sqrt(count).

    >>> ivf_lists(1_000_000), ivf_lists(100_000)
    (1000, 316)
    """
    return max(16, min(8192, int(count ** 0.5)))


class FaissDense:
    name = "faiss"  # the manifest's ``vector_store``
    FILE = "vectors.faiss"
    TRAINING_PER_LIST = 50  # training vectors per IVF list (FAISS wants at least 39)

    def __init__(self, dimension: int, index=None, *, ann_min_vectors: int = 0, ann_nprobe: int = 32) -> None:
        try:
            import faiss  # noqa: F401
        except ImportError as error:  # pragma: no cover - a dependency of the project
            raise ImportError("Faiss is not available - pip install faiss-cpu") from error
        self.dimension = dimension
        self.ann_min_vectors = ann_min_vectors  # 0: always exact
        self.ann_nprobe = ann_nprobe
        self._index = index  # a faiss index

    @property
    def kind(self) -> str:
        """'flat' (exact) or 'ivf<lists>' (approximate)."""
        if self._index is None or not hasattr(self._index, "nlist"):
            return "flat"
        return f"ivf{self._index.nlist}"

    @property
    def count(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    def _new_index(self, vectors: np.ndarray):
        import faiss

        total = len(vectors)
        if not self.ann_min_vectors or total < self.ann_min_vectors:
            return faiss.IndexFlatIP(self.dimension)
        lists = ivf_lists(total)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dimension), self.dimension, lists,
                                   faiss.METRIC_INNER_PRODUCT)
        sample = vectors
        if total > self.TRAINING_PER_LIST * lists:
            rows = np.random.default_rng(0).choice(total, self.TRAINING_PER_LIST * lists, replace=False)
            sample = vectors[np.sort(rows)]
        index.train(sample)
        index.nprobe = min(self.ann_nprobe, lists)
        return index

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got {vectors.shape}")
        if self._index is None:  # the kind of index is chosen from the first (bulk) add
            self._index = self._new_index(vectors)
        self._index.add(vectors)  # one bulk add (llama-index's add() goes node by node)

    def search(self, vector: np.ndarray, k: int, within: Within | None = None) -> list[tuple[int, float]]:
        if self.count == 0:
            return []
        query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        if within is None:
            scores, rows = self._index.search(query, min(k, self.count))
        else:
            scores, rows = self._search_within(query, min(k, len(within.rows)), within.rows)
        return [(int(i), float(s)) for i, s in zip(rows[0], scores[0]) if i >= 0]

    def _search_within(self, query: np.ndarray, k: int, chosen: np.ndarray):
        """FAISS's search over the ``chosen`` rows only (a bitmap selector): exact for a flat
        index; an IVF index probes every list when its usual probes find fewer than ``k``."""
        import faiss

        if k <= 0:
            return np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
        mask = np.zeros(self.count, dtype=bool)
        mask[chosen] = True
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(self.count, faiss.swig_ptr(bitmap))
        if not hasattr(self._index, "nlist"):
            return self._index.search(query, k, params=faiss.SearchParameters(sel=selector))
        for probes in (self._index.nprobe, self._index.nlist):
            scores, rows = self._index.search(query, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=probes))
            if int((rows[0] >= 0).sum()) >= k:
                break
        return scores, rows

    def save(self, folder: Path) -> list[str]:
        """Write the index into ``folder``; returns the file names written. The format is
        llama-index's ``FaissVectorStore`` one, which is FAISS's own (``persist`` is
        ``faiss.write_index``, and ``FaissVectorStore.from_persist_path`` reads the file):
        written with FAISS itself, as it is read, since importing llama-index took 1.9 s
        of a 29 s ingest of twelve papers."""
        import faiss

        if self._index is None:
            self.add(np.zeros((0, self.dimension), dtype=np.float32))
        Path(folder).mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(Path(folder) / self.FILE))
        return [self.FILE]

    @classmethod
    def load(cls, folder: Path, dimension: int) -> FaissDense:
        """Read a saved index memory-mapped (an IVF index's lists stay on disk until a
        query probes them), with FAISS itself: no llama-index import when answering."""
        import faiss

        path = str(Path(folder) / cls.FILE)
        index = faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        if index.d != dimension:
            raise ValueError(f"vector index has dimension {index.d}, manifest says {dimension}")
        return cls(dimension, index)


class PgvectorDense:
    """Dense search in one version's pgvector table (cosine similarity)."""

    def __init__(self, store, count: int, subset=None) -> None:
        self._store = store  # llama-index's PGVectorStore of the version's table
        self._count = count
        self._subset = subset  # the storage's filtered SQL (ingest.storage.pgsearch.SubsetSearch)

    @property
    def count(self) -> int:
        return self._count

    def search(self, vector: np.ndarray, k: int, within: Within | None = None) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        if not self._count:
            return []
        if within is not None:
            return self._subset.dense(vector, min(k, len(within.rows)), within)
        result = self._store.query(VectorStoreQuery(query_embedding=np.asarray(vector, dtype=float).tolist(),
                                                    similarity_top_k=min(k, self._count)))
        return [(int(node.metadata["row"]), float(score)) for node, score in zip(result.nodes, result.similarities)]
