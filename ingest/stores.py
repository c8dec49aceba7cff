"""Vector stores behind one small interface, chosen by name.

The default is FAISS through llama-index's ``FaissVectorStore`` (an exact inner-product
index over unit vectors, i.e. cosine similarity). Rows are addressed by position, which
matches the order of the chunk table saved beside the index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class VectorStore(Protocol):
    name: str

    @property
    def count(self) -> int: ...

    def add(self, vectors: np.ndarray) -> None: ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Best ``k`` rows for one query vector, as (row, cosine similarity), best first."""
        ...

    def save(self, folder: Path) -> list[str]:
        """Write the store into ``folder``; returns the file names written."""
        ...


class FaissStore:
    name = "faiss"
    FILE = "vectors.faiss"

    def __init__(self, dimension: int, store=None) -> None:
        try:
            import faiss
            from llama_index.vector_stores.faiss import FaissVectorStore
        except ImportError as error:  # pragma: no cover - dependencies of the project
            raise ImportError("Faiss is not available - pip install faiss-cpu "
                              "llama-index-vector-stores-faiss") from error
        self.dimension = dimension
        self._store = store or FaissVectorStore(faiss_index=faiss.IndexFlatIP(dimension))

    @property
    def count(self) -> int:
        return int(self._store.client.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got {vectors.shape}")
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
        self._store.persist(persist_path=str(Path(folder) / self.FILE))
        return [self.FILE]

    @classmethod
    def load(cls, folder: Path, dimension: int) -> FaissStore:
        from llama_index.vector_stores.faiss import FaissVectorStore

        store = FaissVectorStore.from_persist_path(str(Path(folder) / cls.FILE))
        if store.client.d != dimension:
            raise ValueError(f"vector index has dimension {store.client.d}, manifest says {dimension}")
        return cls(dimension, store)


STORES = {"faiss": FaissStore}


def new_vector_store(name: str, dimension: int) -> VectorStore:
    if name not in STORES:
        raise ValueError(f"unknown vector store {name!r}; known: {sorted(STORES)}")
    return STORES[name](dimension)


def load_vector_store(name: str, folder: Path, dimension: int) -> VectorStore:
    if name not in STORES:
        raise ValueError(f"unknown vector store {name!r}; known: {sorted(STORES)}")
    return STORES[name].load(folder, dimension)
