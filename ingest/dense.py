"""Dense (vector) search: the :class:`Dense` interface and its two backends.

* :class:`FaissDense` (the file storage): FAISS through llama-index's
  ``FaissVectorStore``; an exact inner-product index over unit vectors (cosine
  similarity) up to ``ann_min_vectors`` rows, and an approximate IVF index (inverted lists
  searched ``ann_nprobe`` at a time) from there on, where exact search gets slow
  (bench/RESULTS.md shows where). Built with :meth:`FaissDense.add`, written into a
  version's folder with :meth:`~FaissDense.save`.
* :class:`PgvectorDense` (the postgres storage): one version's pgvector table through
  llama-index's ``PGVectorStore``; the postgres storage writes its rows (each with the
  chunk's text, which keyword search reads too).

Rows are addressed by position: row ``i`` is chunk ``i`` of the version's chunk table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class Dense(Protocol):
    """Search by cosine similarity over the chunk rows of one index version."""

    @property
    def count(self) -> int:
        """How many chunk rows are indexed."""
        ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Best ``k`` rows for one unit query vector, as (row, cosine similarity), best first."""
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

    def __init__(self, dimension: int, store=None, *, ann_min_vectors: int = 0, ann_nprobe: int = 32) -> None:
        try:
            import faiss  # noqa: F401
            from llama_index.vector_stores.faiss import FaissVectorStore  # noqa: F401
        except ImportError as error:  # pragma: no cover - dependencies of the project
            raise ImportError("Faiss is not available - pip install faiss-cpu "
                              "llama-index-vector-stores-faiss") from error
        self.dimension = dimension
        self.ann_min_vectors = ann_min_vectors  # 0: always exact
        self.ann_nprobe = ann_nprobe
        self._store = store

    @property
    def kind(self) -> str:
        """'flat' (exact) or 'ivf<lists>' (approximate)."""
        if self._store is None or not hasattr(self._store.client, "nlist"):
            return "flat"
        return f"ivf{self._store.client.nlist}"

    @property
    def count(self) -> int:
        return int(self._store.client.ntotal) if self._store is not None else 0

    def _new_index(self, vectors: np.ndarray):
        import faiss
        from llama_index.vector_stores.faiss import FaissVectorStore

        total = len(vectors)
        if not self.ann_min_vectors or total < self.ann_min_vectors:
            return FaissVectorStore(faiss_index=faiss.IndexFlatIP(self.dimension))
        lists = ivf_lists(total)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dimension), self.dimension, lists,
                                   faiss.METRIC_INNER_PRODUCT)
        sample = vectors
        if total > self.TRAINING_PER_LIST * lists:
            rows = np.random.default_rng(0).choice(total, self.TRAINING_PER_LIST * lists, replace=False)
            sample = vectors[np.sort(rows)]
        index.train(sample)
        index.nprobe = min(self.ann_nprobe, lists)
        return FaissVectorStore(faiss_index=index)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got {vectors.shape}")
        if self._store is None:  # the kind of index is chosen from the first (bulk) add
            self._store = self._new_index(vectors)
        # One bulk add: llama-index's add() inserts node by node, which is slow at scale.
        self._store.client.add(vectors)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        if self.count == 0:
            return []
        query = VectorStoreQuery(query_embedding=np.asarray(vector, dtype=np.float32).tolist(),
                                 similarity_top_k=min(k, self.count))
        result = self._store.query(query)
        return [(int(i), float(s)) for i, s in zip(result.ids, result.similarities)]

    def save(self, folder: Path) -> list[str]:
        """Write the index into ``folder``; returns the file names written."""
        if self._store is None:
            self.add(np.zeros((0, self.dimension), dtype=np.float32))
        self._store.persist(persist_path=str(Path(folder) / self.FILE))
        return [self.FILE]

    @classmethod
    def load(cls, folder: Path, dimension: int) -> FaissDense:
        from llama_index.vector_stores.faiss import FaissVectorStore

        store = FaissVectorStore.from_persist_path(str(Path(folder) / cls.FILE))
        if store.client.d != dimension:
            raise ValueError(f"vector index has dimension {store.client.d}, manifest says {dimension}")
        return cls(dimension, store)


class PgvectorDense:
    """Dense search in one version's pgvector table (cosine similarity)."""

    def __init__(self, store, count: int) -> None:
        self._store = store  # llama-index's PGVectorStore of the version's table
        self._count = count

    @property
    def count(self) -> int:
        return self._count

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        if not self._count:
            return []
        result = self._store.query(VectorStoreQuery(query_embedding=np.asarray(vector, dtype=float).tolist(),
                                                    similarity_top_k=min(k, self._count)))
        return [(int(node.metadata["row"]), float(score)) for node, score in zip(result.nodes, result.similarities)]
