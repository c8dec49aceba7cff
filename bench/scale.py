"""Scale: exact (flat) vs approximate (IVF) FAISS search at 10k, 100k and 1M chunks.

Vectors are synthetic: unit vectors around 2,000 random centres in 384 dimensions (the
embedder's), so neighbours are meaningful as with real sentence embeddings; queries are
drawn the same way. Indexes are built, saved and searched through ``ingest.dense.FaissDense``,
the product's code path, by its public API only: the index size is that of the file
``FaissDense.save`` writes, and the IVF index is searched at each ``nprobe`` by reading
that file back into a FAISS index of the bench's own, handed to ``FaissDense``'s
constructor (FaissDense has no public setter for nprobe).

    python -m bench.scale --sizes 10000 100000 1000000 --out scale.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ingest.dense import FaissDense

DIMENSION = 384
QUERIES = 300


def synthetic(count: int, seed: int, centres: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((count, DIMENSION), dtype=np.float32)
    for first in range(0, count, 100_000):  # in blocks: float32 all the way, bounded temporaries
        n = min(100_000, count - first)
        block = centres[rng.integers(len(centres), size=n)] + 0.03 * rng.standard_normal(
            (n, DIMENSION), dtype=np.float32)
        out[first:first + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _saved_bytes(store: FaissDense, folder: Path) -> int:
    """Bytes of the index files ``store.save`` writes into ``folder`` (FAISS's own format)."""
    return sum((folder / name).stat().st_size for name in store.save(folder))


def _read_back(folder: Path):
    """The FAISS index saved in ``folder``, read into memory (the caller owns it)."""
    import faiss

    return faiss.read_index(str(folder / FaissDense.FILE))


def _latencies(store: FaissDense, queries: np.ndarray) -> tuple[list[float], list[set[int]]]:
    for query in queries[:20]:  # warm-up
        store.search(query, 10)
    times, results = [], []
    for query in queries:
        began = time.perf_counter()
        hits = store.search(query, 10)
        times.append(time.perf_counter() - began)
        results.append({row for row, _ in hits})
    return times, results


def _p(values: list[float], q: int) -> float:
    return float(np.percentile(values, q))


def measure(count: int, nprobes: list[int]) -> dict:
    rng = np.random.default_rng(1234)
    centres = rng.standard_normal((2000, DIMENSION), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = synthetic(count, 1, centres)
    queries = synthetic(QUERIES, 2, centres)
    row: dict = {"chunks": count}

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        began = time.perf_counter()
        flat = FaissDense(DIMENSION, ann_min_vectors=0)
        flat.add(vectors)
        row["flat"] = {"build_s": time.perf_counter() - began}
        (Path(scratch) / "flat").mkdir()
        row["flat"]["index_mb"] = _saved_bytes(flat, Path(scratch) / "flat") / 1e6
        times, exact = _latencies(flat, queries)
        row["flat"].update(p50_ms=_p(times, 50) * 1e3, p95_ms=_p(times, 95) * 1e3)
        del flat

        began = time.perf_counter()
        built = FaissDense(DIMENSION, ann_min_vectors=1, ann_nprobe=nprobes[0])
        built.add(vectors)
        row["ivf"] = {"kind": built.kind, "build_s": time.perf_counter() - began}
        (Path(scratch) / "ivf").mkdir()
        row["ivf"].update(index_mb=_saved_bytes(built, Path(scratch) / "ivf") / 1e6, by_nprobe={})
        del built
        index = _read_back(Path(scratch) / "ivf")
    ivf = FaissDense(DIMENSION, index)
    for nprobe in nprobes:
        index.nprobe = nprobe
        times, approximate = _latencies(ivf, queries)
        recall = statistics.mean(len(a & e) / 10 for a, e in zip(approximate, exact))
        row["ivf"]["by_nprobe"][nprobe] = {"p50_ms": _p(times, 50) * 1e3, "p95_ms": _p(times, 95) * 1e3,
                                          "recall_at_10": recall}
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--nprobe", type=int, nargs="+", default=[32, 8, 16, 64])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    rows = []
    for count in args.sizes:
        rows.append(measure(count, args.nprobe))
        print(json.dumps(rows[-1]), flush=True)
    with open(args.out, "w") as handle:
        json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
