"""pgvector at scale: build time, size and query latency of an HNSW index, against exact search.

Runs a PostgreSQL of its own (pgserver) in a temporary folder. The vectors are the ones
of ``bench.scale`` (384 dimensions, around 2,000 centres, so FAISS and pgvector are
measured on the same data), loaded with a binary COPY.

    python -m bench.pgscale --rows 1000000 --out pgscale.json
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time

import numpy as np

from .scale import synthetic

DIMENSION = 384


def binary_copy(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """Rows (id bigint, embedding vector) in PostgreSQL's binary COPY format."""
    count, dimension = vectors.shape
    record = np.dtype([("fields", ">i2"), ("id_length", ">i4"), ("id", ">i8"), ("vector_length", ">i4"),
                       ("dimension", ">i2"), ("unused", ">i2"), ("values", ">f4", (dimension,))])
    rows = np.empty(count, dtype=record)
    rows["fields"], rows["id_length"], rows["id"] = 2, 8, ids
    rows["vector_length"], rows["dimension"], rows["unused"] = 4 + 4 * dimension, dimension, 0
    rows["values"] = vectors
    return b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"


def _percentile(values: list[float], q: int) -> float:
    return float(np.percentile(values, q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import pgserver
    import psycopg2

    server = pgserver.get_server(tempfile.mkdtemp(prefix="pgscale-"), cleanup_mode="delete")
    connection = psycopg2.connect(server.get_uri())
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
    cursor.execute("SET maintenance_work_mem = '6GB'")
    cursor.execute("SET max_parallel_maintenance_workers = 1")
    rng = np.random.default_rng(1234)
    centres = rng.standard_normal((2000, DIMENSION), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    results = []
    for rows in args.rows:
        row: dict = {"rows": rows}
        cursor.execute("DROP TABLE IF EXISTS chunks")
        cursor.execute(f"CREATE TABLE chunks (id bigint PRIMARY KEY, embedding vector({DIMENSION}))")
        began = time.perf_counter()
        for first in range(0, rows, 100_000):
            block = synthetic(min(100_000, rows - first), first + 1, centres)
            cursor.copy_expert("COPY chunks (id, embedding) FROM STDIN WITH (FORMAT binary)",
                               io.BytesIO(binary_copy(np.arange(first, first + len(block)), block)))
        row["load_s"] = time.perf_counter() - began
        queries = ["[" + ",".join(f"{x:.6f}" for x in q) + "]" for q in synthetic(args.queries, 2, centres)]

        def run(sql: str, queries: list[str] = queries) -> tuple[list[float], list[list[int]]]:
            times, hits = [], []
            for query in queries:
                started = time.perf_counter()
                cursor.execute(sql, (query,))
                hits.append([r[0] for r in cursor.fetchall()])
                times.append(time.perf_counter() - started)
            return times, hits

        search = "SELECT id FROM chunks ORDER BY embedding <=> %s::vector LIMIT 10"
        exact_times, exact = run(search)
        row["exact_p50_ms"], row["exact_p95_ms"] = (_percentile(exact_times, 50) * 1e3,
                                                    _percentile(exact_times, 95) * 1e3)
        began = time.perf_counter()
        cursor.execute("CREATE INDEX ON chunks USING hnsw (embedding vector_cosine_ops) "
                       "WITH (m = 16, ef_construction = 64)")
        row["hnsw_build_s"] = time.perf_counter() - began
        cursor.execute("SELECT pg_relation_size('chunks'), pg_indexes_size('chunks')")
        table_bytes, index_bytes = cursor.fetchone()
        row["table_mb"], row["indexes_mb"] = table_bytes / 1e6, index_bytes / 1e6
        for ef in (40, 100, 200):
            cursor.execute(f"SET hnsw.ef_search = {ef}")
            times, approximate = run(search)
            recall = statistics.mean(len(set(a) & set(e)) / 10 for a, e in zip(approximate, exact))
            row[f"hnsw_ef{ef}"] = {"p50_ms": _percentile(times, 50) * 1e3, "p95_ms": _percentile(times, 95) * 1e3,
                                   "recall_at_10": recall}
        results.append(row)
        print(json.dumps(row), flush=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)
    connection.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
