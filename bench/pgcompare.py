"""FAISS files against PostgreSQL/pgvector on the seed corpus: ingest time, retrieval
latency and answer agreement on every curated question (extractive backend, so the
comparison is about the index, not the model).

    python -m bench.pgcompare --out pgcompare.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import pgserver

    from core.settings import load_settings
    from evals.cases import load_cases
    from ingest import ingest, make_embedder
    from qa import ask

    server = pgserver.get_server(tempfile.mkdtemp(prefix="pgcompare-"), cleanup_mode="delete")
    embedder = make_embedder("minilm")
    home = Path(tempfile.mkdtemp(prefix="pgcompare-home-"))
    sides = {"faiss": {}, "postgres": {"vector_store": "postgres", "database_url": server.get_uri()}}
    results: dict = {}
    settings = {}
    for name, extra in sides.items():
        times = []
        for attempt in range(args.repeats + 1):  # a fresh index each time; the first one warms up
            if name == "faiss":
                extra = {"index_dir": home / f"index-{attempt}"}
            settings[name] = load_settings(environ={}, home=home, **extra)
            if name == "postgres" and attempt:
                with server_connection(server) as cursor:
                    cursor.execute("DELETE FROM sourceqa_current; DELETE FROM sourceqa_versions;")
            began = time.perf_counter()
            ingest(settings[name], embedder=embedder)
            if attempt:
                times.append(time.perf_counter() - began)
        began = time.perf_counter()
        ingest(settings[name], embedder=embedder)
        results[name] = {"ingest_warm_s": statistics.median(times), "ingest_unchanged_s": time.perf_counter() - began}
    cases = load_cases()
    answers: dict[str, list] = {name: [] for name in sides}
    for name in sides:
        ask(cases[0].question, llm="extractive", settings=settings[name], embedder=embedder)
        retrieval = []
        for attempt in range(args.repeats):
            for case in cases:
                answer = ask(case.question, llm="extractive", settings=settings[name], embedder=embedder)
                retrieval.append(answer.timings["retrieval"])
                if attempt == 0:
                    answers[name].append((answer.text, [c.quote for c in answer.citations],
                                          [p.chunk_id for p in answer.passages]))
        results[name]["retrieval_p50_ms"] = float(np.percentile(retrieval, 50) * 1e3)
        results[name]["retrieval_p95_ms"] = float(np.percentile(retrieval, 95) * 1e3)
    pairs = list(zip(answers["faiss"], answers["postgres"]))
    results["agreement"] = {
        "questions": len(pairs),
        "same_answer_and_citations": sum(a[:2] == b[:2] for a, b in pairs),
        "same_passage_order": sum(a[2] == b[2] for a, b in pairs),
    }
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


class server_connection:
    def __init__(self, server) -> None:
        import psycopg2

        self.connection = psycopg2.connect(server.get_uri())
        self.connection.autocommit = True

    def __enter__(self):
        return self.connection.cursor()

    def __exit__(self, *exc) -> None:
        self.connection.close()


if __name__ == "__main__":
    raise SystemExit(main())
