"""A/B of the keyword index (issue 17): the hand-written BM25 (:mod:`bench.legacy_bm25`)
against the bm25s one the product now uses (:mod:`ingest.keywords`), on real chunk texts.

The corpus folder is read, cleaned and chunked with the product's own code
(``scan_corpus``, ``clean_page``, ``chunk_document``); its chunks' ``embed_text`` are cut
to each size (the first N, in the corpus's order). For each size and index it measures
build seconds and saved bytes (in this process), then, in fresh processes (one per load,
``--repeats`` of them), load seconds and the resident memory the load added, and the
query latency over the questions of ``evals/data/cases.jsonl`` and
``evals/data/squad2/*.jsonl`` (up to ``--queries``; 20 warm-up queries first). Ranking
agreement: the share of queries whose top-10 rows are identical, and the mean top-10
overlap (|A & B| / max(|A|, |B|), 1 when both find nothing).

    python -m bench.keywords_ab [--corpus DIR] [--sizes 1000 10000 100000]
                                [--out bench/keywords_ab.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.settings import Settings
from ingest.chunk import chunk_document
from ingest.clean import clean_page
from ingest.readers import scan_corpus

REPO = Path(__file__).resolve().parent.parent
IMPLEMENTATIONS = {"legacy": "bench.legacy_bm25", "bm25s": "ingest.keywords"}
DOCS = "usr/share/doc/python3.11/html"  # in the unpacked python3.11-doc package
CORPORA = (REPO / "bench/.cache/library/corpus-100000", Path("/tmp/kwdeb/py") / DOCS,
           Path("/tmp/deb/py") / DOCS)
GET_DOCS = ("mkdir -p /tmp/kwdeb && cd /tmp/kwdeb && apt-get download python3.11-doc "
            "&& dpkg -x python3.11-doc*.deb py")
TOP = 10
WARM_UP = 20


def default_corpus() -> Path:
    for corpus in CORPORA:
        if corpus.is_dir():
            return corpus
    raise SystemExit(f"no corpus: build bench/.cache/library/corpus-100000 or run: {GET_DOCS}")


def chunk_texts(corpus: Path) -> list[str]:
    """What the product's keyword index reads for every chunk of the corpus, in order."""
    logging.disable(logging.WARNING)  # skipped files are warned about; not the question here
    documents, _ = scan_corpus(corpus)
    logging.disable(logging.NOTSET)
    words = Settings().chunk_max_words
    return [chunk.embed_text for d in documents
            for chunk in chunk_document(clean_page(d.text, d.source, d.page_starts), words)]


def questions(limit: int) -> list[str]:
    found: list[str] = []
    squad = sorted((REPO / "evals/data/squad2").glob("*.jsonl"))
    for path in [REPO / "evals/data/cases.jsonl", *squad]:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                found.append(json.loads(line)["question"])
    return found[:limit]


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(implementation: str, folder: str, queries_file: str) -> None:
    """In a fresh process: load the saved index, then answer every query; prints JSON."""
    module = importlib.import_module(IMPLEMENTATIONS[implementation])
    queries = json.loads(Path(queries_file).read_text("utf-8"))
    before = _rss_kib()
    began = time.perf_counter()
    index = module.KeywordIndex.load(Path(folder))
    load_s = time.perf_counter() - began
    loaded = _rss_kib()
    for query in queries[:WARM_UP]:
        index.search(query, TOP)
    times, rows = [], []
    for query in queries:
        began = time.perf_counter()
        hits = index.search(query, TOP)
        times.append(time.perf_counter() - began)
        rows.append([row for row, _ in hits])
    print(json.dumps({"load_s": load_s, "load_rss_mib": (loaded - before) / 1024,
                      "queried_rss_mib": (_rss_kib() - before) / 1024, "times": times,
                      "rows": rows}))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _run_child(implementation: str, folder: Path, queries_file: Path) -> dict:
    command = [sys.executable, "-m", "bench.keywords_ab", "--child", implementation,
               str(folder), str(queries_file)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(implementation: str, texts: list[str], queries_file: Path, repeats: int) -> dict:
    module = importlib.import_module(IMPLEMENTATIONS[implementation])
    began = time.perf_counter()
    index = module.KeywordIndex.from_texts(texts)
    build_s = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="keywords-ab-") as folder:
        index.save(Path(folder))
        del index
        saved = sum(p.stat().st_size for p in Path(folder).iterdir())
        runs = [_run_child(implementation, Path(folder), queries_file) for _ in range(repeats)]
    times = runs[-1]["times"]
    return {"build_s": build_s, "saved_bytes": saved,
            "load_s": statistics.median(r["load_s"] for r in runs),
            "load_rss_mib": statistics.median(r["load_rss_mib"] for r in runs),
            "queried_rss_mib": statistics.median(r["queried_rss_mib"] for r in runs),
            "query_p50_ms": 1000 * _percentile(times, 0.5),
            "query_p95_ms": 1000 * _percentile(times, 0.95), "rows": runs[0]["rows"]}


def agreement(a: list[list[int]], b: list[list[int]]) -> dict:
    overlaps = [len(set(x) & set(y)) / max(len(x), len(y)) if (x or y) else 1.0
                for x, y in zip(a, b)]
    return {"identical_top10": sum(x == y for x, y in zip(a, b)) / len(a),
            "mean_top10_overlap": statistics.mean(overlaps),
            "queries_with_hits": sum(bool(x) for x in a)}


def table(results: dict) -> str:
    lines = [("| chunks | index | build s | saved MB | load s | load RSS MB | RSS after "
              "queries MB | query p50 ms | query p95 ms |"), "|---" * 9 + "|"]
    for size, entry in results["sizes"].items():
        for name in IMPLEMENTATIONS:
            m = entry[name]
            lines.append(f"| {size} | {name} | {m['build_s']:.2f} | {m['saved_bytes'] / 1e6:.1f} "
                         f"| {m['load_s']:.3f} | {m['load_rss_mib']:.1f} "
                         f"| {m['queried_rss_mib']:.1f} | {m['query_p50_ms']:.2f} "
                         f"| {m['query_p95_ms']:.2f} |")
    lines += ["", "| chunks | queries | with hits | identical top-10 | mean top-10 overlap |",
              "|---|---|---|---|---|"]
    for size, entry in results["sizes"].items():
        a = entry["agreement"]
        lines.append(f"| {size} | {results['queries']} | {a['queries_with_hits']} | "
                     f"{a['identical_top10']:.3f} | {a['mean_top10_overlap']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--out", type=Path, default=REPO / "bench/keywords_ab.json")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process loads per index")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    corpus = args.corpus or default_corpus()
    began = time.perf_counter()
    texts = chunk_texts(corpus)
    print(f"{len(texts)} chunks from {corpus} in {time.perf_counter() - began:.0f} s", flush=True)
    queries = questions(args.queries)
    results: dict = {"corpus": str(corpus), "chunks_available": len(texts),
                     "queries": len(queries), "top": TOP, "sizes": {}, "skipped": []}
    with tempfile.TemporaryDirectory(prefix="keywords-ab-q-") as scratch:
        queries_file = Path(scratch) / "queries.json"
        queries_file.write_text(json.dumps(queries), "utf-8")
        for size in args.sizes:
            if size > len(texts):
                results["skipped"].append(size)
                print(f"skipping {size}: the corpus has only {len(texts)} chunks", flush=True)
                continue
            entry = {name: measure(name, texts[:size], queries_file, args.repeats)
                     for name in IMPLEMENTATIONS}
            entry["agreement"] = agreement(entry["legacy"]["rows"], entry["bm25s"]["rows"])
            for name in IMPLEMENTATIONS:
                del entry[name]["rows"]
            results["sizes"][str(size)] = entry
            print(f"{size} chunks measured", flush=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
