"""Compare two evaluation reports (as written to report.json) in Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .report import LOWER_IS_BETTER, fmt

# Counts that describe the set rather than the system: a change is neither better nor worse.
NEUTRAL = frozenset({"n_cases", "n_answerable", "n_unanswerable", "n_abstained"})


def judge(metric: str, before: Any, after: Any, tolerance: float = 1e-9) -> str:
    """'better', 'worse', 'same' or '' (not comparable) for a change of one summary metric.

    >>> judge("accuracy", 0.5, 0.7), judge("latency_total_p50", 1.0, 2.0), judge("x", None, 1)
    ('better', 'worse', '')
    """
    numeric = (int, float)
    if (metric in NEUTRAL or isinstance(before, bool) or isinstance(after, bool)
            or not isinstance(before, numeric) or not isinstance(after, numeric)):
        return ""
    if abs(after - before) <= tolerance:
        return "same"
    higher = after > before
    return "better" if higher != (metric in LOWER_IS_BETTER) else "worse"


def _delta(before: Any, after: Any) -> str:
    if isinstance(before, (int, float)) and isinstance(after, (int, float)):
        if isinstance(before, int) and isinstance(after, int):
            return f"{after - before:+d}"
        return f"{after - before:+.3f}"
    return ""


_MARK = {"better": "better ✅", "worse": "worse ❌", "same": "same", "": ""}


def _flips(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """(correct in a but not b, correct in b but not a) per-case records of ``b``."""
    before = {r["id"]: r for r in a.get("cases", [])}
    regressions, fixes = [], []
    for record in b.get("cases", []):
        old = before.get(record["id"])
        if old is None or old["correct"] == record["correct"]:
            continue
        (fixes if record["correct"] else regressions).append(record)
    return regressions, fixes


def _case_lines(records: list[dict], empty: str) -> list[str]:
    if not records:
        return [empty]
    return [f"- **{r['id']}** ({r['category']}): {r['question']} — "
            + ("; ".join(r.get("failures", [])[:3]) or "correct now") for r in records]


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """Markdown comparing report ``a`` (before) with ``b`` (after).

    Summary metrics side by side with their delta, each marked better or worse
    (latency, errors and false abstention are lower-is-better), then the cases that
    flipped correct -> incorrect (regressions) and incorrect -> correct (fixes).
    """
    name_a, name_b = a.get("backend", "A"), b.get("backend", "B")
    sa, sb = a.get("summary", {}), b.get("summary", {})
    lines = [f"# Comparison: {name_a} → {name_b}", "",
             f"| metric | {name_a} | {name_b} | delta | change |", "|---|---|---|---|---|"]
    verdicts = {"better": 0, "worse": 0}
    metrics = [m for m in [*sa, *(k for k in sb if k not in sa)] if m != "backend"]
    for metric in metrics:
        before, after = sa.get(metric), sb.get(metric)
        verdict = judge(metric, before, after)
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        lines.append(f"| {metric} | {fmt(before)} | {fmt(after)} | {_delta(before, after)} "
                     f"| {_MARK[verdict]} |")
    regressions, fixes = _flips(a, b)
    ids_a = {r["id"] for r in a.get("cases", [])}
    ids_b = {r["id"] for r in b.get("cases", [])}
    tally = (f"{verdicts['better']} metric(s) better, {verdicts['worse']} worse; "
             f"{len(regressions)} regression(s), {len(fixes)} fix(es).")
    lines += ["", tally, "", f"## Regressions: correct → incorrect ({len(regressions)})", ""]
    lines += _case_lines(regressions, "None.")
    lines += ["", f"## Fixes: incorrect → correct ({len(fixes)})", ""]
    lines += _case_lines(fixes, "None.")
    if ids_a != ids_b:
        only = (f"Cases only in {name_a}: {', '.join(sorted(ids_a - ids_b)) or 'none'}; "
                f"only in {name_b}: {', '.join(sorted(ids_b - ids_a)) or 'none'}.")
        lines += ["", only]
    return "\n".join(lines) + "\n"
