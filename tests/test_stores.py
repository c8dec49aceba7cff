"""The FAISS dense index on seeded synthetic vectors: exact below the ANN threshold, IVF above it."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.dense import FaissDense


def clustered(count: int, dimension: int = 32, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres, like sentence embeddings of related texts."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dimension))
    vectors = centres[rng.integers(clusters, size=count)] + 0.35 * rng.normal(size=(count, dimension))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_small_collections_are_exact_and_round_trip(tmp_path):
    vectors = clustered(500)
    store = FaissDense(32, ann_min_vectors=1000)
    store.add(vectors)
    assert store.kind == "flat" and store.count == 500
    assert store.search(vectors[7], 1)[0][0] == 7
    store.save(tmp_path)
    loaded = FaissDense.load(tmp_path, 32)
    assert loaded.count == 500 and loaded.search(vectors[7], 3) == store.search(vectors[7], 3)


def test_large_collections_switch_to_ivf_with_high_recall(tmp_path):
    vectors, queries = clustered(6000), clustered(100, seed=1)
    exact = FaissDense(32, ann_min_vectors=0)
    exact.add(vectors)
    approximate = FaissDense(32, ann_min_vectors=5000, ann_nprobe=16)
    approximate.add(vectors)
    assert exact.kind == "flat" and approximate.kind.startswith("ivf")
    recall = np.mean([len({r for r, _ in exact.search(q, 10)} & {r for r, _ in approximate.search(q, 10)}) / 10
                      for q in queries])
    assert recall >= 0.9
    approximate.save(tmp_path)
    loaded = FaissDense.load(tmp_path, 32)
    assert loaded.kind == approximate.kind and loaded.count == 6000
    assert loaded.search(queries[0], 10) == approximate.search(queries[0], 10)  # nprobe persisted


def test_wrong_dimension_is_refused():
    store = FaissDense(32)
    with pytest.raises(ValueError, match="dimension 32"):
        store.add(np.zeros((3, 8), dtype=np.float32))


def test_empty_store_saves_and_searches(tmp_path):
    store = FaissDense(16)
    store.save(tmp_path)
    assert FaissDense.load(tmp_path, 16).search(np.ones(16, dtype=np.float32), 5) == []


def test_a_saved_index_is_read_by_llama_index_as_its_own_faiss_store(tmp_path):
    """Saved with FAISS itself, the file is still llama-index's FaissVectorStore format."""
    from llama_index.core.vector_stores.types import VectorStoreQuery
    from llama_index.vector_stores.faiss import FaissVectorStore

    vectors = clustered(200)
    store = FaissDense(32, ann_min_vectors=1000)
    store.add(vectors)
    [name] = store.save(tmp_path / "version")
    theirs = FaissVectorStore.from_persist_path(str(tmp_path / "version" / name))
    found = theirs.query(VectorStoreQuery(query_embedding=vectors[11].tolist(), similarity_top_k=3))
    assert [int(i) for i in found.ids] == [row for row, _ in store.search(vectors[11], 3)]
