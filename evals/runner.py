"""Run an evaluation set through an ``ask`` function, write reports, check thresholds."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from core.answer import Answer
from core.types import Section

from .cases import EvalCase
from .metrics import CaseScore, score_case
from .report import bar_chart_svg, fmt, histogram_svg, per_category, render_markdown, summarize

PLOTS = {"Correct by category": "correct_by_category.svg", "Total latency": "latency.svg"}


def _error_answer(question: str, error: Exception) -> Answer:
    return Answer(question=question, text="", abstained=False, citations=[], passages=[],
                  llm="", note=f"error: {type(error).__name__}: {error}")


def failure_reasons(case: EvalCase, answer: Answer, score: CaseScore) -> list[str]:
    """Human-readable reasons a case is wrong or its citations are weak (empty if none)."""
    reasons = [answer.note] if answer.note.startswith("error:") else []
    if case.answerable and answer.abstained:
        reasons.append("abstained on an answerable question")
    if not case.answerable and not answer.abstained:
        reasons.append("answered a question the source does not answer")
    missing = [" / ".join(f) for f, ok in zip(case.key_facts, score.facts_present) if not ok]
    if missing and not answer.abstained:
        reasons.append("missing key fact(s): " + "; ".join(missing))
    if score.recall_at_k is not None and score.recall_at_k < 1:
        found = round(score.recall_at_k * len(case.evidence))
        reasons.append(f"retrieval found {found} of {len(case.evidence)} evidence quote(s) "
                       f"in {score.k} passage(s)")
    for s in score.sentences:
        if not s.cited:
            reasons.append(f"sentence has no citation: {s.text!r}")
        elif not s.supported:
            numbers = f"; missing numbers {', '.join(s.missing_numbers)}" if s.missing_numbers else ""
            cited = "".join(f"[{n}]" for n in s.cited)
            reasons.append(f"sentence not supported by {cited} (support test: {s.coverage:.0%} of "
                           f"content words{numbers}): {s.text!r}")
    for c in score.citations:
        if c.offsets_ok is False:
            reasons.append(f"citation [{c.number}] quote differs from the document at its offsets")
        if not c.relevant and score.sentences:
            reasons.append(f"citation [{c.number}] supports no sentence")
        if c.gold_overlap is False and score.sentences:
            reasons.append(f"citation [{c.number}] does not overlap the gold evidence")
    return reasons


def case_record(case: EvalCase, answer: Answer, score: CaseScore) -> dict[str, Any]:
    """The JSON-ready per-case entry of a report."""
    metrics = score.to_dict()
    sentences, citation_checks = metrics.pop("sentences"), metrics.pop("citations")
    return {
        "id": case.id, "category": case.category, "question": case.question,
        "answerable": case.answerable, "answer": answer.text, "abstained": answer.abstained,
        "correct": score.correct, "llm": answer.llm, "note": answer.note,
        "error": answer.note if answer.note.startswith("error:") else "",
        "citations": [{"number": c.number, "section": c.section, "source": c.source,
                       "start": c.start, "end": c.end, "quote": c.quote}
                      for c in answer.citations],
        "passages": [{"rank": rank, "chunk_id": p.chunk_id, "section": p.section,
                      "start": p.start, "end": p.end, "score": p.score}
                     for rank, p in enumerate(answer.passages, start=1)],
        "expected": {"gold_answer": case.gold_answer,
                     "key_facts": [list(f) for f in case.key_facts],
                     "evidence": [{"section": e.section, "quote": e.quote} for e in case.evidence]},
        "metrics": metrics, "sentences": sentences, "citation_checks": citation_checks,
        "failures": failure_reasons(case, answer, score),
    }


def run_eval(ask: Callable[[str], Answer], cases: Sequence[EvalCase],
             documents: Mapping[str, str], *, backend_name: str, progress: bool = True,
             sections: Mapping[str, Sequence[Section]] | None = None) -> dict[str, Any]:
    """Ask every question, score every answer; returns ``{backend, created, summary,
    per_category, cases}``. An exception from ``ask`` is recorded as a failed case."""
    records = []
    for case in tqdm(cases, desc=f"eval {backend_name}", unit="q", file=sys.stderr,
                     disable=not progress):
        try:
            answer = ask(case.question)
        except Exception as error:  # noqa: BLE001 - one bad question must not stop the run
            answer = _error_answer(case.question, error)
        records.append(case_record(case, answer, score_case(case, answer, documents, sections)))
    summary = {"backend": backend_name, **summarize(records)}
    return {"backend": backend_name, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "summary": summary, "per_category": per_category(records), "cases": records}


def write_reports(report: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write report.json, report.md, correct_by_category.svg and latency.svg; return paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [(f"{cat} ({row['n_cases']})", row["accuracy"] or 0.0,
             f"{fmt(row['accuracy'])} ({row['n_correct']}/{row['n_cases']})")
            for cat, row in report["per_category"].items()]
    latencies = [r["metrics"]["latency"]["total"] for r in report["cases"]
                 if r["metrics"]["latency"].get("total") is not None]
    files = {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        "report.md": render_markdown(report, PLOTS),
        PLOTS["Correct by category"]: bar_chart_svg(rows, "Correct by category"),
        PLOTS["Total latency"]: histogram_svg(latencies, "Total latency"),
    }
    paths = []
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        paths.append(out / name)
    return paths


def check_thresholds(summary: Mapping[str, Any], thresholds: Mapping[str, Any],
                     backend: str | None = None) -> list[str]:
    """Failures of ``summary`` against ``{"<backend>": {"<metric>": {"min": x} | {"max": x}}}``.

    The backend is ``backend`` or ``summary["backend"]``; without an entry for it the
    ``"default"`` entry is used, and without that there is nothing to check.

    >>> check_thresholds({"backend": "x", "accuracy": 0.5}, {"default": {"accuracy": {"min": 0.6}}})
    ['x: accuracy is 0.500, below the minimum 0.6']
    """
    backend = backend or summary.get("backend", "default")
    limits = thresholds.get(backend, thresholds.get("default", {}))
    failures = []
    for metric, bounds in limits.items():
        value = summary.get(metric)
        if metric not in summary:
            failures.append(f"{backend}: metric {metric!r} is not in the summary")
        elif not isinstance(bounds, Mapping) or not set(bounds) & {"min", "max"}:
            failures.append(f"{backend}: threshold for {metric!r} needs 'min' or 'max'")
        elif value is None:
            failures.append(f"{backend}: {metric} is n/a, so its threshold cannot be met")
        elif "min" in bounds and value < bounds["min"]:
            failures.append(f"{backend}: {metric} is {fmt(value)}, below the minimum {bounds['min']}")
        elif "max" in bounds and value > bounds["max"]:
            failures.append(f"{backend}: {metric} is {fmt(value)}, above the maximum {bounds['max']}")
    return failures


def load_thresholds(path: Path | str) -> dict[str, Any]:
    """Read a thresholds JSON file (see :func:`check_thresholds` for the format)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
