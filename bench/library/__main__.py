"""``python -m bench.library``: the product on a real library of about 1k, 10k and 100k
chunks: ingest, the stock llama-index pipeline's ingest of the same folder (``stock``),
unchanged re-ingest, answering every curated question, answers against the seed-only
index's, and the CLI's cold start; each measured in a fresh process.

    python -m bench.library [--sizes 1000 10000 100000] [--repo PATH] [--label NAME]
                            [--runs 3] [--out bench/library.json] [--reuse-index]
                            [--quick | --tiny] [--repo-text] [--cases FILE] [--cache DIR]
                            [--no-stock]

``--repo`` measures another checkout of the product (e.g. an older commit) with the same
probe and corpora; ``--reuse-index`` keeps built indexes (100k chunks take about an hour
to embed on 2 cores). ``--tiny`` (the smoke test's) is one library of about 100 chunks of
the repository's own text (``--repo-text``: no network, no ../shared), one run, written
to ``<cache>/library-tiny.json`` unless ``--out`` says otherwise. Results are written
after every step, so a killed run keeps what it measured; with the default ``--out`` the
"Real library" section of bench/RESULTS.md and bench/library.svg are rewritten at the
end (``python -m bench.library.report``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import BENCH, CACHE, REPO, SIZES, stock
from .compare import answer_key, compare
from .corpus import build, corpus_dir
from .measure import cold_start, git_commit, machine, percentile, probe
from .report import update

CASES = REPO / "evals" / "data" / "cases.jsonl"
DEFAULT_OUT = BENCH / "library.json"


@dataclass(frozen=True)
class Place:
    """Where one library is measured: its corpus, its index and the product's home."""

    repo: Path
    corpus: Path
    index: Path
    home: Path

    def probe(self, mode: str, cases: Path | None = None) -> dict:
        return probe(self.repo, mode, self.corpus, self.index, self.home, cases)


def ingest_step(place: Place, reuse: bool) -> dict:
    """A cold process ingests the corpus into a fresh index (or resumes or keeps the one
    there, ``reuse``). Chunks per second are those of a build from nothing; the build that
    embedded is recorded beside the index, so a kept index reports the build that made it."""
    if not reuse:
        shutil.rmtree(place.index, ignore_errors=True)
        shutil.rmtree(place.home, ignore_errors=True)  # an interrupted ingest's vectors
    fresh = not place.index.exists() and not place.home.exists()
    result = place.probe("ingest")
    build_file = place.index.with_name(place.index.name + ".build.json")
    if result["embedded"] and not result["unchanged"]:
        result["fresh"] = fresh
        result["tokens"] = chunk_tokens(place)
        result["chunks_per_s"] = result["chunks"] / result["seconds"] if fresh else None
        result["embedded_per_s"] = result["embedded"] / result["seconds"]
        build_file.write_text(json.dumps(result), encoding="utf-8")
        return result
    recorded = json.loads(build_file.read_text(encoding="utf-8")) if build_file.exists() else None
    if recorded is None:
        return {**result, "chunks_per_s": None, "this_run": dict(result)}
    return {**recorded, "this_run": result, "from_recorded_build": True}


def chunk_tokens(place: Place) -> int | None:
    """The tokens of the chunks' passes through the embedder (each chunk's text as embedded,
    up to what the model keeps), read back from the index after the clock stopped: the
    work beside the stock pipeline's ``tokens``. None for another checkout's index."""
    if place.repo != REPO:
        return None
    from core.settings import load_settings
    from ingest import load_index
    from ingest.embedders import make_embedder

    settings = load_settings(corpus_dir=place.corpus, index_dir=place.index, llm="extractive")
    model = make_embedder("minilm")
    counts = getattr(model, "token_counts", None)
    return sum(counts([c.embed_text for c in load_index(settings.index_path).chunks])) if counts else None


def reingest_step(place: Place, runs: int) -> dict:
    """New processes ingest the unchanged corpus again: the median of ``runs``."""
    results = [place.probe("ingest") for _ in range(runs)]
    return {"median_s": statistics.median(r["seconds"] for r in results),
            "process_median_s": statistics.median(r["process_s"] for r in results),
            "seconds": [r["seconds"] for r in results], "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "all_unchanged": all(r["unchanged"] for r in results), "runs": runs}


def answer_step(place: Place, cases: Path, runs: int = 1) -> dict:
    """``runs`` new processes each answer every curated question; the first answer of
    each (it loads everything) is reported apart and left out of the latencies. p50 and
    p95 are the medians over the runs, the peak RSS the highest; the answers are the first
    run's, and ``stable`` says whether every run gave the same ones."""
    results = [place.probe("answer", cases) for _ in range(runs)]
    per_run = []
    for result in results:
        answers = result["answers"]
        rest = [a["seconds"] for a in answers[1:]] or [a["seconds"] for a in answers]
        per_run.append({"first_answer_s": answers[0]["seconds"], "n": len(rest),
                        "p50_ms": percentile(rest, 50) * 1000, "p95_ms": percentile(rest, 95) * 1000,
                        "mean_ms": statistics.fmean(rest) * 1000, "peak_rss_mb": result["peak_rss_mb"],
                        "process_s": result["process_s"]})
    answers = results[0]["answers"]
    keys = [[answer_key(a) for a in result["answers"]] for result in results]
    return {**{k: statistics.median(r[k] for r in per_run) for k in
               ("first_answer_s", "p50_ms", "p95_ms", "mean_ms", "process_s")},
            "n": per_run[0]["n"], "peak_rss_mb": max(r["peak_rss_mb"] for r in per_run), "runs": per_run,
            "stable": all(k == keys[0] for k in keys), "answered": sum(not a["abstained"] for a in answers),
            "answers": answers}


def measure(label: str, record: dict, args: argparse.Namespace, row: dict,
            save: Callable[[], None]) -> None:
    """Every measurement of one library into ``row``, saved after each step."""
    place = Place(args.repo, corpus_dir(args.cache, label), args.cache / f"index-{label}-{args.label}",
                  args.cache / f"home-{label}-{args.label}")
    row.update({"label": label, "target": record["target"], "index": str(place.index),
                "corpus": {k: record[k] for k in ("chunks", "documents", "off_target")} | {
                    "digest": corpus_digest(record)} | {
                    "sources": {n: {k: s[k] for k in ("documents", "chunks", "licence")}
                                for n, s in record["sources"].items()}}})
    steps: list[tuple[str, Callable[[], dict]]] = [
        ("ingest", lambda: ingest_step(place, args.reuse_index)),
        # --tiny measures the stock pipeline once (on its library, not the seed, and not
        # without overlap, which bench.papers' smoke test runs): each run pays llama-index's
        # import, and the smoke test runs in make test.
        *([] if args.no_stock or stock.too_big(label) or (args.tiny and label == "seed") else
          [("stock_ingest", lambda: stock.step(place.corpus, row["ingest"]))]),
        # the same pipeline embedding each word about once: the engine against the engine
        *([] if args.no_stock or stock.too_big(label) or args.tiny else
          [("stock_no_overlap", lambda: stock.step(place.corpus, row["ingest"], chunk_overlap=0))]),
        ("reingest", lambda: reingest_step(place, args.runs)),
        ("answering", lambda: answer_step(place, args.cases, args.runs))]
    if label == "seed":
        question = json.loads(args.cases.read_text(encoding="utf-8").splitlines()[0])["question"]
        steps.append(("cold_start", lambda: cold_start(args.repo, place.corpus, place.index,
                                                       place.home, question, args.runs)))
    for name, step in steps:
        print(f"bench.library: {label}: {name}", flush=True)
        row[name] = step()
        save()


def corpus_digest(record: dict) -> str:
    """Which files a library holds (its record's file list): runs compare only equal ones."""
    listed = json.dumps(record.get("files", {}), sort_keys=True).encode("utf-8")
    return hashlib.sha256(listed).hexdigest()[:16]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.library", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="chunks per library")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout under test")
    parser.add_argument("--label", help="names its indexes and results (default: current, or "
                        "the checkout's folder name)")
    parser.add_argument("--runs", type=int, default=3, help="runs of re-ingest, answering and cold start")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/library.json, or "
                        "bench/library-<label>.json for another checkout, <cache>/library-tiny.json "
                        "with --tiny)")
    parser.add_argument("--reuse-index", action="store_true", help="keep built indexes")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="1,000 chunks only, one run")
    size.add_argument("--tiny", action="store_true", help="about 100 chunks of the repository's own "
                      "text (--repo-text), one run: a smoke test")
    parser.add_argument("--repo-text", action="store_true", help="text from the repository itself "
                        "(docs/, evals' SQuAD articles) instead of Debian's and --data's: no network")
    parser.add_argument("--no-stock", action="store_true", help="skip the stock llama-index "
                        "pipeline's ingest of the seed and libraries up to 10k chunks (bench/library/stock.py)")
    parser.add_argument("--cases", type=Path, default=CASES, help="the curated questions")
    parser.add_argument("--cache", type=Path, default=CACHE, help="corpora and indexes")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared datasets folder (skipped when missing)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = [1_000], 1
    if args.tiny:
        args.sizes, args.runs, args.repo_text = [100], 1, True
    args.repo, args.cache = args.repo.resolve(), args.cache.resolve()
    args.label = args.label or ("current" if args.repo == REPO else args.repo.name)
    args.out = args.out or (args.cache / "library-tiny.json" if args.tiny
                            else DEFAULT_OUT if args.label == "current"
                            else BENCH / f"library-{args.label}.json")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    records = build(args.sizes, args.cache, args.data, repo_only=args.repo_text)
    began = time.perf_counter()
    results: dict = {"machine": machine(), "repo": str(args.repo), "label": args.label,
                     "commit": git_commit(args.repo), "runs": args.runs, "quick": args.quick,
                     "tiny": args.tiny,
                     "cases": sum(1 for line in args.cases.read_text(encoding="utf-8").splitlines()
                                  if line.strip()),
                     "sizes": {}}

    def save() -> None:
        results["seconds"] = time.perf_counter() - began
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")

    for label, record in records.items():
        row = results["sizes"].setdefault(label, {})
        measure(label, record, args, row, save)
        if label != "seed":
            row["identical"] = compare(results["sizes"]["seed"]["answering"]["answers"],
                                       row["answering"]["answers"])
            save()
    print(f"bench.library: done in {results['seconds'] / 60:.1f} min; wrote {args.out}", flush=True)
    if args.out.resolve() == DEFAULT_OUT:
        update(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
