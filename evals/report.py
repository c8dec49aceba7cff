"""Aggregate per-case records into a summary; render the Markdown report and SVG plots.

A per-case record is the dict :func:`evals.runner.run_eval` builds; its ``metrics``
hold the :class:`evals.metrics.CaseScore` fields. Plots are hand-written SVG
(:func:`bar_chart_svg`, :func:`histogram_svg`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from .metrics import STAGES

MEAN_METRICS = ("key_facts_all", "fact_recall", "token_f1", "recall_at_k", "mrr",
                "citation_recall", "citation_precision", "citation_gold_recall",
                "citation_gold_precision", "faithfulness")
# Summary key -> per-case metric it averages.
_SOURCE = {"key_facts_all": "all_key_facts", "mrr": "reciprocal_rank"}
LOWER_IS_BETTER = frozenset(
    {"false_abstention_rate", "n_errors", "n_bad_citation_offsets"}
    | {f"latency_{stage}_{stat}" for stage in STAGES for stat in ("mean", "p50", "p95")}
)
CATEGORY_METRICS = ("fact_recall", "token_f1", "recall_at_k", "mrr", "citation_recall",
                    "citation_precision", "faithfulness")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 95)
    (2.5, 3.85)
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not ``None``; ``None`` when there are none.

    >>> mean([1.0, None, 0.0, True])
    0.6666666666666666
    """
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _latency(records: Sequence[Mapping[str, Any]], stats: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in STAGES:
        values = [r["metrics"]["latency"].get(stage) for r in records]
        values = [float(v) for v in values if v is not None]
        if "mean" in stats:
            out[f"latency_{stage}_mean"] = mean(values)
        out[f"latency_{stage}_p50"] = percentile(values, 50)
        out[f"latency_{stage}_p95"] = percentile(values, 95)
    return out


def summarize(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, means over cases where a metric applies, abstention rates, latency p50/p95."""
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    abstained = [r for r in records if r["abstained"]]
    correct_abstentions = sum(not r["answerable"] for r in abstained)
    summary: dict[str, Any] = {
        "n_cases": len(records), "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable), "n_correct": sum(r["correct"] for r in records),
        "n_abstained": len(abstained), "n_errors": sum(bool(r.get("error")) for r in records),
        "n_bad_citation_offsets": sum(c["offsets_ok"] is False for r in records
                                      for c in r["citation_checks"]),
    }
    summary["accuracy"] = _ratio(summary["n_correct"], len(records))
    summary["answerable_accuracy"] = _ratio(sum(r["correct"] for r in answerable), len(answerable))
    for name in MEAN_METRICS:
        summary[name] = mean(r["metrics"][_SOURCE.get(name, name)] for r in records)
    summary["abstention_precision"] = _ratio(correct_abstentions, len(abstained))
    summary["abstention_recall"] = _ratio(correct_abstentions, len(unanswerable))
    summary["false_abstention_rate"] = _ratio(sum(r["abstained"] for r in answerable),
                                              len(answerable))
    summary.update(_latency(records, ("mean",)))
    return summary


def per_category(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per category: case count, correct count and rate, metric means, total latency p50."""
    out: dict[str, dict[str, Any]] = {}
    for category in sorted({r["category"] for r in records}):
        group = [r for r in records if r["category"] == category]
        row: dict[str, Any] = {"n_cases": len(group), "n_correct": sum(r["correct"] for r in group)}
        row["accuracy"] = _ratio(row["n_correct"], len(group))
        row["n_abstained"] = sum(r["abstained"] for r in group)
        for name in CATEGORY_METRICS:
            row[name] = mean(r["metrics"][_SOURCE.get(name, name)] for r in group)
        row["latency_total_p50"] = _latency(group, ())["latency_total_p50"]
        out[category] = row
    return out


def fmt(value: Any) -> str:
    """A metric for a table cell: rates to 3 places, ``n/a`` for ``None``.

    >>> fmt(0.5), fmt(None), fmt(3), fmt(True)
    ('0.500', 'n/a', '3', 'yes')
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _case_block(record: Mapping[str, Any]) -> list[str]:
    expected = record["expected"]
    lines = [f"### {record['id']} ({record['category']})", "",
             f"- **Question:** {_cell(record['question'])}",
             f"- **Answer:** {_cell(record['answer']) or '(empty)'}"
             + (" *(abstained)*" if record["abstained"] else "")]
    for c in record["citations"]:
        lines.append(f"  - [{c['number']}] {_cell(c['section'])}: \"{_cell(c['quote'])}\"")
    if record["answerable"]:
        lines.append(f"- **Expected:** {_cell(expected['gold_answer'])}")
        facts = "; ".join(" / ".join(f) for f in expected["key_facts"])
        lines.append(f"- **Key facts:** {_cell(facts)}")
        for e in expected["evidence"]:
            lines.append(f"  - {_cell(e['section'])}: \"{_cell(e['quote'])}\"")
    else:
        lines.append("- **Expected:** abstention (the source does not answer this)")
    lines.append("- **Why it failed:**")
    lines += [f"  - {_cell(reason)}" for reason in record["failures"] or ["(no reason recorded)"]]
    return lines + [""]


def render_markdown(report: Mapping[str, Any], plots: Mapping[str, str] | None = None) -> str:
    """The Markdown report: summary, per-category table, plots, failures, other issues."""
    summary, records = report["summary"], report["cases"]
    headline = (f"{summary['n_correct']} of {summary['n_cases']} cases correct "
                f"(accuracy {fmt(summary['accuracy'])}).")
    lines = [f"# Evaluation report: {report.get('backend', '?')}", "", headline, "",
             "## Summary", ""]
    lines += _table(["metric", "value"], [(k, fmt(v)) for k, v in summary.items()])
    lines += ["", "## Per category", ""]
    header = ["category", "cases", "correct", "accuracy", *CATEGORY_METRICS, "latency_total_p50"]
    lines += _table(header, [(cat, row["n_cases"], row["n_correct"], fmt(row["accuracy"]),
                              *(fmt(row[m]) for m in CATEGORY_METRICS),
                              fmt(row["latency_total_p50"]))
                             for cat, row in report["per_category"].items()])
    for title, name in (plots or {}).items():
        lines += ["", f"![{title}]({name})"]
    failed = [r for r in records if not r["correct"]]
    lines += ["", f"## Failures ({len(failed)})", ""]
    for record in failed:
        lines += _case_block(record)
    if not failed:
        lines += ["None.", ""]
    issues = [r for r in records if r["correct"] and r["failures"]]
    if issues:
        lines += [f"## Correct, with issues ({len(issues)})", ""]
        lines += [f"- **{r['id']}**: " + "; ".join(_cell(x) for x in r["failures"]) for r in issues]
    return "\n".join(lines).rstrip() + "\n"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">')
    return "\n".join([head, f"<title>{escape(title)}</title>",
                      f'<rect width="{width}" height="{height}" fill="white"/>',
                      f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
                      *body, "</svg>"]) + "\n"


def bar_chart_svg(rows: Sequence[tuple[str, float, str]], title: str) -> str:
    """Horizontal bars of values in [0, 1]; each row is (label, value, annotation).

    >>> "<rect" in bar_chart_svg([("lookup", 0.5, "1/2")], "Correct")
    True
    """
    longest = max((len(label) for label, _, _ in rows), default=0)
    left, bar_width, row_height, top = max(120, 7 * longest + 16), 320, 24, 40
    height = top + row_height * max(len(rows), 1) + 30
    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x = left + tick * bar_width
        body.append(f'<line x1="{x:.1f}" y1="{top - 5}" x2="{x:.1f}" y2="{height - 25}" '
                    'stroke="#ddd"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{tick:.0%}</text>')
    for index, (label, value, note) in enumerate(rows):
        y = top + index * row_height
        body.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect x="{left}" y="{y + 4}" width="{max(value, 0) * bar_width:.1f}" '
                    f'height="{row_height - 8}" fill="#4c78a8"/>')
        body.append(f'<text x="{left + bar_width + 8}" y="{y + 16}">{escape(note)}</text>')
    return _svg(left + bar_width + 120, height, body, title)


def histogram_svg(values: Sequence[float], title: str, unit: str = "s") -> str:
    """Histogram of the values with dashed p50 and p95 lines.

    >>> histogram_svg([0.1, 0.2, 0.9], "Latency").count('fill="#f58518"')  # 2 bins
    2
    """
    width, height, left, top, plot_h = 640, 300, 50, 40, 200
    plot_w = width - left - 30
    if not values:
        return _svg(width, 80, ['<text x="10" y="50">no latency data</text>'], title)
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    bins = max(1, min(12, math.ceil(math.sqrt(len(values)))))
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / span * bins), bins - 1)] += 1
    peak, base = max(counts), top + plot_h
    body = [f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="black"/>',
            f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak}</text>',
            f'<text x="{left - 6}" y="{base}" text-anchor="end">0</text>']
    for index, count in enumerate(counts):
        h = count / peak * plot_h
        x = left + index * plot_w / bins
        body.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{plot_w / bins - 2:.1f}" '
                    f'height="{h:.1f}" fill="#f58518"/>')
    for q, label_y in ((50, top + 12), (95, top + 26)):
        value = percentile(values, q)
        x = left + (value - low) / span * plot_w
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{base}" stroke="black" '
                    'stroke-dasharray="4 3"/>')
        side = f'x="{x - 3:.1f}" text-anchor="end"' if x > width - 120 else f'x="{x + 3:.1f}"'
        body.append(f'<text {side} y="{label_y}">p{q} {value:.2f}{unit}</text>')
    for value, anchor in ((low, "start"), (high, "end")):
        x = left + (value - low) / span * plot_w
        body.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="{anchor}">'
                    f'{value:.2f}{unit}</text>')
    body.append(f'<text x="{left + plot_w / 2}" y="{base + 40}" text-anchor="middle">'
                f'total latency per question ({len(values)} answers)</text>')
    return _svg(width, height, body, title)
