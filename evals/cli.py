"""``sourceqa eval``: run the curated set (or, with ``--corpus``, a SQuAD-format set; see
evals/squad.py) on each backend, write reports, check thresholds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

THRESHOLDS = Path(__file__).parent / "thresholds.json"
DEFAULT_BACKENDS = ["extractive", "local"]


def evaluate(backends: list[str], *, cases_path: Path | None = None, out_dir: Path | None = None,
             settings=None, embedder=None, progress: bool = True) -> dict[str, dict]:
    """Run every backend over the cases; returns {backend: report}, written under out_dir."""
    from functools import partial

    from core.settings import load_settings
    from qa import ask

    from .cases import DEFAULT_CASES, load_cases
    from .runner import run_eval, write_reports
    from .validate import document_sections, document_texts, load_corpus

    settings = settings or load_settings()
    cases = load_cases(cases_path or DEFAULT_CASES)
    corpus = load_corpus(settings.corpus_dir)
    documents, sections = document_texts(corpus), document_sections(corpus)
    out_dir = Path(out_dir or Path(settings.home) / "evals")
    reports = {}
    for backend in backends:
        run = partial(ask, llm=backend, settings=settings, embedder=embedder)
        run(cases[0].question)  # warm-up: model loading is not answer latency
        report = run_eval(run, cases, documents, backend_name=backend, progress=progress,
                          sections=sections)
        write_reports(report, out_dir / backend.replace(":", "_").replace("/", "_"))
        reports[backend] = report
    return reports


def summary_table(reports: dict[str, dict]) -> str:
    keys = ["n_cases", "accuracy", "answerable_accuracy", "key_facts_all", "token_f1", "recall_at_k",
            "mrr", "citation_recall", "citation_precision", "citation_gold_precision", "faithfulness",
            "abstention_recall", "false_abstention_rate", "latency_total_p50", "latency_total_p95"]
    names = list(reports)
    lines = ["| metric | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for key in keys:
        cells = []
        for name in names:
            value = reports[name]["summary"].get(key)
            cells.append("-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value)))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def squad_settings(corpus_dir: Path, out_dir: Path, settings=None):
    """``settings`` (default: load_settings()) with ``corpus_dir`` indexed into
    ``<out_dir>/index``, apart from the main index."""
    from core.settings import load_settings

    base = settings or load_settings()
    return base.model_copy(update={"corpus_dir": Path(corpus_dir), "index_dir": Path(out_dir) / "index"})


def evaluate_squad(backends: list[str], *, cases_path: Path, corpus_dir: Path,
                   out_dir: Path | None = None, sample_size: int | None = None, seed: int = 0,
                   settings=None, embedder=None, progress: bool = True) -> dict[str, dict]:
    """Index a SQuAD-format corpus, answer its questions with each backend, write reports
    under ``out_dir/<backend>``; returns {backend: report} (see evals/squad.py)."""
    from functools import partial

    from core.settings import load_settings
    from ingest import ingest
    from qa import ask

    from .squad import load_squad, run_squad, sample, write_squad_reports

    if not Path(corpus_dir).is_dir():
        raise ValueError(f"--corpus {corpus_dir} is not a folder")
    if sample_size is not None and sample_size < 1:
        raise ValueError(f"--sample must be at least 1, got {sample_size}")
    cases = sample(load_squad(cases_path), sample_size, seed)
    if not cases:
        raise ValueError(f"{cases_path} has no questions")
    out_dir = Path(out_dir or Path((settings or load_settings()).home) / "evals" / "squad2")
    settings = squad_settings(corpus_dir, out_dir, settings)
    ingest(settings, embedder=embedder, progress=progress)
    reports = {}
    for backend in backends:
        run = partial(ask, llm=backend, settings=settings, embedder=embedder)
        run(cases[0].question)  # warm-up: model loading is not answer latency
        report = run_squad(run, cases, name=backend, progress=progress)
        write_squad_reports(report, out_dir / backend.replace(":", "_").replace("/", "_"))
        reports[backend] = report
    return reports


def _run_squad_from_args(args: argparse.Namespace) -> int:
    from .runner import check_thresholds, load_thresholds
    from .squad import squad_limits, squad_table

    if args.cases is None:
        raise ValueError("--corpus needs --set PATH/qa.jsonl (its questions)")
    reports = evaluate_squad(args.llm or ["extractive"], cases_path=args.cases,
                             corpus_dir=args.corpus, out_dir=args.out, sample_size=args.sample,
                             seed=args.seed, progress=sys.stderr.isatty())
    print(squad_table(reports))
    if not args.check:
        return 0
    limits = squad_limits(load_thresholds(THRESHOLDS))
    failures = [f"{name}: {problem}" for name, report in reports.items()
                for problem in check_thresholds(report["summary"], limits, "squad2")]
    for failure in failures:
        print(f"below threshold: {failure}", file=sys.stderr)
    return 1 if failures else 0


def run_from_args(args: argparse.Namespace) -> int:
    from .compare import compare_reports
    from .runner import check_thresholds, load_thresholds

    if args.compare:
        before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in args.compare)
        print(compare_reports(before, after))
        return 0
    if getattr(args, "corpus", None) is not None:
        return _run_squad_from_args(args)
    if getattr(args, "sample", None) is not None:
        raise ValueError("--sample works only with --corpus (a SQuAD-format set)")
    reports = evaluate(args.llm or DEFAULT_BACKENDS, cases_path=args.cases, out_dir=args.out,
                       progress=sys.stderr.isatty())
    print(summary_table(reports))
    if not args.check:
        return 0
    thresholds = load_thresholds(THRESHOLDS)
    failures = [f"{name}: {problem}" for name, report in reports.items()
                for problem in check_thresholds(report["summary"], thresholds, name)]
    for failure in failures:
        print(f"below threshold: {failure}", file=sys.stderr)
    return 1 if failures else 0
