"""The SQuAD 2.0 generality gate: whole Wikipedia articles the system was never tuned on.

A set is a corpus folder (one ``<Title>.txt`` per article) and a ``qa.jsonl`` of
questions (``id``, ``article``, ``question``, ``answerable``, ``answers``, ``plausible``,
``context_sentence``); ``data/squad2/README.md`` describes the copy kept in the repo.
Scoring uses SQuAD's own normalisation (:func:`evals.metrics.normalize_answer`).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from tqdm import tqdm

from core.answer import Answer
from core.splits import CALIBRATION_ARTICLES, TRAIN_ARTICLES, VALIDATION_ARTICLES  # noqa: F401

from .report import _table, fmt, mean, percentile
from .text import marker_free, normalize_answer, token_f1

# The fixed split of the 12 SQuAD 2.0 dev articles lives with the judge's training data
# (core/splits.py): the judge trains on TRAIN, its thresholds are calibrated on
# CALIBRATION, and the CI gate runs on VALIDATION only (kept in the repo).

DATA = Path(__file__).parent / "data" / "squad2"
DEFAULT_SET, DEFAULT_CORPUS = DATA / "qa.jsonl", DATA / "corpus"
SUMMARY_KEYS = ("n", "n_answerable", "n_unanswerable", "n_errors", "answerable_answered_cited",
                "answerable_declined", "unanswerable_declined", "unanswerable_answered", "net",
                "short_em", "short_f1", "n_short", "answer_words_median", "latency_p50", "latency_p95",
                "latency_judge_p50")


@dataclass(frozen=True)
class SquadCase:
    id: str
    article: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    plausible: tuple[str, ...] = ()
    context_sentence: str = ""


def load_squad(path: Path | str, articles: Iterable[str] | None = None) -> list[SquadCase]:
    """Read a qa.jsonl (optionally only some articles); a bad line is a ValueError naming it."""
    keep = set(articles) if articles is not None else None
    cases = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            case = SquadCase(str(row["id"]), row["article"], row["question"], bool(row["answerable"]),
                             tuple(row["answers"]), tuple(row.get("plausible", ())),
                             row.get("context_sentence", ""))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a SQuAD-format question ({error!r})") from error
        if case.answerable and not case.answers:
            raise ValueError(f"{path}:{number}: answerable question without answers")
        if keep is None or case.article in keep:
            cases.append(case)
    return cases


def contains(text: str, phrase: str) -> bool:
    """Whether the normalised phrase occurs as whole words in the normalised text.

    >>> contains("It began in [1] 1990.", "1990"), contains("In 1990.", "199"), contains("x", "The")
    (True, False, False)
    """
    needle = normalize_answer(phrase)
    return bool(needle) and f" {needle} " in f" {normalize_answer(text)} "


def exact_match(prediction: str, gold: str) -> bool:
    """SQuAD exact match after normalisation.

    >>> exact_match("The Scottish Parliament.", "scottish parliament")
    True
    """
    return normalize_answer(prediction) == normalize_answer(gold)


def score_squad_case(case: SquadCase, answer: Answer) -> dict[str, Any]:
    """One question's scores: ``answered_cited`` or ``declined``, plus short-answer EM/F1.

    An answerable question counts as answered and cited when a gold answer is in the
    marker-free answer text and in at least one cited quote.
    """
    text = marker_free(answer.text)
    quotes = [c.quote for c in answer.citations]
    short = getattr(answer, "short", "")  # older Answers have no short field
    record = {"id": case.id, "article": case.article, "answerable": case.answerable,
              "abstained": answer.abstained, "words": None if answer.abstained else len(text.split()),
              "declined": answer.abstained, "answered_cited": None, "short_em": None, "short_f1": None}
    if case.answerable:
        record["answered_cited"] = not answer.abstained and any(
            contains(text, gold) and any(contains(q, gold) for q in quotes) for gold in case.answers)
        if short and not answer.abstained:
            record["short_em"] = any(exact_match(short, gold) for gold in case.answers)
            record["short_f1"] = max(token_f1(short, gold) for gold in case.answers)
    return record


def sample(cases: Sequence[SquadCase], n: int | None, seed: int = 0) -> list[SquadCase]:
    """A seeded subsample of ``n`` cases, stratified by (article, answerable), in file order.

    Each stratum gets its proportional share; the largest remainders get the leftovers.

    >>> cases = [SquadCase(str(i), "AB"[i % 2], "q?", i < 4, ("x",)) for i in range(8)]
    >>> sorted((c.article, c.answerable) for c in sample(cases, 4, seed=1))
    [('A', False), ('A', True), ('B', False), ('B', True)]
    """
    if n is None or n >= len(cases):
        return list(cases)
    strata: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for index, case in enumerate(cases):
        strata[(case.article, case.answerable)].append(index)
    keys = sorted(strata)
    quotas = {key: n * len(strata[key]) / len(cases) for key in keys}
    counts = {key: int(quotas[key]) for key in keys}
    leftovers = sorted(keys, key=lambda key: (counts[key] - quotas[key], keys.index(key)))
    for key in leftovers[:n - sum(counts.values())]:
        counts[key] += 1
    rng = random.Random(seed)
    chosen = sorted(i for key in keys for i in rng.sample(strata[key], counts[key]))
    return [cases[i] for i in chosen]


def _share(records: Sequence[Mapping[str, Any]], key: str) -> float | None:
    return mean(bool(r[key]) for r in records) if records else None


def summarize_squad(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The summary metrics of scored records (see :func:`score_squad_case`).

    >>> rows = [{"answerable": True, "answered_cited": True, "declined": False, "words": 4,
    ...          "short_em": None, "short_f1": None, "seconds": 1.0, "error": ""},
    ...         {"answerable": False, "answered_cited": None, "declined": False, "words": 6,
    ...          "short_em": None, "short_f1": None, "seconds": 3.0, "error": ""}]
    >>> s = summarize_squad(rows)
    >>> s["answerable_answered_cited"], s["unanswerable_declined"], s["net"], s["answer_words_median"]
    (1.0, 0.0, 0.0, 5.0)
    """
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    shorts = [r for r in answerable if r["short_f1"] is not None]
    words = [r["words"] for r in records if r["words"] is not None]
    seconds = [r["seconds"] for r in records if "seconds" in r]
    cited, declined = _share(answerable, "answered_cited"), _share(unanswerable, "declined")
    answered = None if declined is None else 1 - declined
    return {
        "n": len(records), "n_answerable": len(answerable), "n_unanswerable": len(unanswerable),
        "n_errors": sum(bool(r.get("error")) for r in records),
        "answerable_answered_cited": cited, "answerable_declined": _share(answerable, "declined"),
        "unanswerable_declined": declined, "unanswerable_answered": answered,
        "net": None if cited is None or answered is None else cited - answered,
        "short_em": mean(r["short_em"] for r in shorts), "short_f1": mean(r["short_f1"] for r in shorts),
        "n_short": len(shorts), "answer_words_median": float(median(words)) if words else None,
        "latency_p50": percentile(seconds, 50), "latency_p95": percentile(seconds, 95),
        "latency_judge_p50": percentile([r["judge_seconds"] for r in records
                                         if r.get("judge_seconds") is not None], 50),
    }


def _failure(case: SquadCase, answer: Answer, record: Mapping[str, Any]) -> dict[str, Any] | None:
    if case.answerable and record["answered_cited"]:
        return None
    if not case.answerable and record["declined"]:
        return None
    return {"id": case.id, "article": case.article, "question": case.question,
            "answerable": case.answerable, "expected": list(case.answers) or "decline",
            "answer": answer.text, "abstained": answer.abstained,
            "quotes": [c.quote for c in answer.citations], "error": record.get("error", "")}


def _ask(ask_fn: Callable[[str], Answer], question: str) -> tuple[Answer, float, str]:
    began = time.perf_counter()
    try:
        answer, error = ask_fn(question), ""
    except Exception as exc:  # noqa: BLE001 - one bad question must not stop the run
        answer = Answer(question, "", False, [], [], "")
        error = f"{type(exc).__name__}: {exc}"
    return answer, time.perf_counter() - began, error


def run_squad(ask_fn: Callable[[str], Answer], cases: Sequence[SquadCase], *, name: str = "squad2",
              progress: bool = True) -> dict[str, Any]:
    """Ask every question and score it; returns ``{name, created, summary, per_article, failures}``.

    Latency is the wall time of one whole ``ask_fn`` call; an exception is a failed question.
    """
    records, failures = [], []
    for case in tqdm(cases, desc=f"eval {name}", unit="q", file=sys.stderr, disable=not progress):
        answer, seconds, error = _ask(ask_fn, case.question)
        record = {**score_squad_case(case, answer), "seconds": seconds, "error": error,
                  "judge_seconds": answer.timings.get("judge")}
        if error:
            record["words"] = None  # a failed call shows no answer to measure
        records.append(record)
        failure = _failure(case, answer, record)
        if failure:
            failures.append(failure)
    by_article: dict[str, list] = defaultdict(list)
    for record in records:
        by_article[record["article"]].append(record)
    return {"name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "summary": {"name": name, **summarize_squad(records)},
            "per_article": {a: summarize_squad(rows) for a, rows in sorted(by_article.items())},
            "failures": failures}


def article_table(report: Mapping[str, Any]) -> str:
    """A markdown table of the main metrics, one row per article."""
    columns = ("n", "answerable_answered_cited", "answerable_declined", "unanswerable_declined",
               "net", "answer_words_median", "latency_p50")
    return "\n".join(_table(["article", *columns], [(a, *(fmt(row[c]) for c in columns))
                                                    for a, row in report["per_article"].items()]))


def render_squad_markdown(report: Mapping[str, Any], max_failures: int = 100) -> str:
    """report.md: the summary, the per-article table and the first failures."""
    summary = report["summary"]
    lines = [f"# SQuAD 2.0 gate: {report['name']}", "", f"Created {report['created']}.", ""]
    lines += _table(["metric", "value"], [(key, fmt(summary.get(key))) for key in SUMMARY_KEYS])
    lines += ["", "## Per article", "", article_table(report)]
    failures = report["failures"]
    lines += ["", f"## Failures ({len(failures)}; first {min(len(failures), max_failures)})", ""]
    for failure in failures[:max_failures]:
        expected = failure["expected"]
        lines.append(f"- **{failure['question']}** ({failure['article']}); expected: "
                     f"{expected if isinstance(expected, str) else ' / '.join(expected)}; "
                     f"{'declined' if failure['abstained'] else 'answered'}: "
                     f"{' '.join(failure['answer'].split())[:300]}")
    return "\n".join(lines) + "\n"


def write_squad_reports(report: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write report.json and report.md into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md"]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(render_squad_markdown(report), encoding="utf-8")
    return paths


def squad_table(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """A markdown table of the main summary metrics, one column per backend."""
    keys = ("n", "answerable_answered_cited", "answerable_declined", "unanswerable_declined",
            "net", "short_f1", "n_short", "answer_words_median", "latency_p50", "latency_p95")
    return "\n".join(_table(["metric", *reports], [(key, *(fmt(r["summary"].get(key))
                                                          for r in reports.values())) for key in keys]))


def squad_limits(thresholds: Mapping[str, Any]) -> dict[str, Any]:
    """The ``"squad2"`` thresholds without ``_comment``-style keys, in check_thresholds' format.

    >>> squad_limits({"squad2": {"_comment": "why", "net": {"min": 0.1}}, "default": {}})
    {'squad2': {'net': {'min': 0.1}}}
    """
    limits = thresholds.get("squad2", {})
    return {"squad2": {k: v for k, v in limits.items() if not k.startswith("_")}}
