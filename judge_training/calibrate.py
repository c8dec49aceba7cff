"""Calibrate the judge's thresholds: ``python -m judge_training.calibrate`` (part of
``make train-judge``).

Indexes the calibration articles of squad2-dev (``--data``, default ``../shared/data``;
never ``evals/data``, which is the test) with the product's ingest, runs the real
pipeline up to the judge on every question, and chooses, by the rules written into
``calibration.json`` beside the judge:

* ``answer``: the question-level probability (1 minus "no answer"'s share) under which
  the product declines. Chosen by balanced accuracy, the mean of (answerable questions
  answered with the gold span shown) and (unanswerable questions declined): the lowest
  threshold within ``PLATEAU`` of the best, because the curve is flat near its top and a
  lower threshold declines fewer plain questions.
* ``extra``: the pair probability at which an extractive answer adds a further
  sentence: the highest share of gold spans shown while the median answer stays within
  30 words.
* ``claim``: the probability a generated sentence's claim needs: the lowest at which
  ``CLAIM_PRECISION`` of the accepted claims on these articles are true
  (:mod:`judge_training.claims` pairs), else the one of highest precision.

It also writes the question-level and pair-level ROC AUC into the judge's metrics.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from pathlib import Path

import numpy as np

from core.splits import CALIBRATION_ARTICLES

from . import claims, sources
from .metrics import roc_auc
from .mine import mine_shard

GRID = [round(x, 3) for x in np.arange(0.02, 0.99, 0.01)]
PLATEAU = 0.005
MAX_MEDIAN_WORDS = 30
CLAIM_PRECISION = 0.90
REPO = Path(__file__).resolve().parent.parent


def collect(engine, questions: list[sources.Question]) -> list[dict]:
    """Per question: whether answerable, its gold spans, and what the judge made of it."""
    rows = []
    for q in questions:
        judgement = engine.judged(q.question)
        rows.append({"answerable": bool(q.answers), "answers": q.answers, "judgement": judgement})
    return rows


def outcome(engine, row: dict, answer: float, extra: float) -> tuple[str, int]:
    """('correct' | 'wrong' | 'declined', words shown) at these thresholds."""
    judgement = row["judgement"]
    if not judgement.judged or judgement.answer < answer:
        return ("correct" if not row["answerable"] else "declined"), 0
    shown = " ".join(text for text, _ in engine.extractive(judgement.judged, extra).shown)
    if not row["answerable"]:
        return "wrong", len(shown.split())
    return ("correct" if any(a in shown for a in row["answers"]) else "wrong"), len(shown.split())


def balanced(engine, rows: list[dict], answer: float) -> tuple[float, float]:
    """(answerable answered with the gold span, unanswerable declined) at ``answer``."""
    outcomes = [(outcome(engine, r, answer, 1.01)[0], r["answerable"]) for r in rows]
    cited = [o == "correct" for o, answerable in outcomes if answerable]
    declined = [o == "correct" for o, answerable in outcomes if not answerable]
    return sum(cited) / max(len(cited), 1), sum(declined) / max(len(declined), 1)


def choose_answer(engine, rows: list[dict]) -> tuple[float, str]:
    curve = {t: balanced(engine, rows, t) for t in GRID}
    top = max(sum(v) / 2 for v in curve.values())
    t = min(t for t, v in curve.items() if sum(v) / 2 >= top - PLATEAU)
    cited, declined = curve[t]
    return t, (f"lowest threshold within {PLATEAU} of the best balanced accuracy ({top:.3f}) over "
               f"{len(rows)} calibration questions: answerable answered with the gold span {cited:.3f}, "
               f"unanswerable declined {declined:.3f}")


def choose_extra(engine, rows: list[dict], answer: float) -> tuple[float, str]:
    best = (-1.0, 1.0, 0)
    for e in GRID:
        results = [outcome(engine, r, answer, e) for r in rows if r["answerable"]]
        words = [w for _, w in results if w]
        median = statistics.median(words) if words else 0
        correct = sum(o == "correct" for o, _ in results) / max(len(results), 1)
        if median <= MAX_MEDIAN_WORDS and correct > best[0]:
            best = (correct, e, median)
    return best[1], (f"highest share of answerable calibration questions answered with the gold span "
                     f"({best[0]:.3f}) with a median answer of at most {MAX_MEDIAN_WORDS} words ({best[2]})")


def choose_claim(score, pairs: list[claims.Pair]) -> tuple[float, str]:
    probabilities = score([(p.query, p.evidence) for p in pairs])
    labels = np.array([p.label for p in pairs])
    precision = {t: labels[probabilities >= t].mean() for t in GRID if (probabilities >= t).any()}
    reached = [t for t, p in precision.items() if p >= CLAIM_PRECISION]
    t = min(reached) if reached else max(precision, key=precision.get)
    accepted = probabilities >= t
    return t, (f"{'lowest probability at which' if reached else 'no threshold reached'} "
               f"{CLAIM_PRECISION:.0%} of accepted claims are true on {len(pairs)} calibration claim "
               f"pairs; at {t}: precision {precision[t]:.3f}, recall "
               f"{labels[accepted].sum() / max(labels.sum(), 1):.3f}")


def aucs(rows: list[dict], groups: list[dict], score) -> dict[str, float]:
    """Question-level AUC (the judge's answer probability, answerable vs not) and
    pair-level AUC (each candidate's probability, gold sentence vs the others)."""
    question = roc_auc(np.array([int(r["answerable"]) for r in rows]),
                       np.array([r["judgement"].answer for r in rows]))
    pairs = [(g["question"], e, label) for g in groups if g.get("gold") for e, label in g["candidates"] if label >= 0]
    probabilities = score([(q, e) for q, e, _ in pairs])
    pair = roc_auc(np.array([label for *_, label in pairs]), np.asarray(probabilities))
    return {"question_auc": round(question, 4), "pair_auc": round(pair, 4),
            "questions": len(rows), "pairs": len(pairs)}


def main(argv: list[str] | None = None) -> int:
    from core.settings import load_settings
    from ingest import ingest
    from judge import CALIBRATION_FILE
    from qa import get_engine

    parser = argparse.ArgumentParser(prog="python -m judge_training.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--judge", default="bundled", help="judge to calibrate ('bundled' or 'ce:/path')")
    args = parser.parse_args(argv)
    documents, questions = sources.squad2_dev(args.data, CALIBRATION_ARTICLES)
    with tempfile.TemporaryDirectory() as home:
        corpus = Path(home) / "corpus"
        corpus.mkdir()
        for document in documents:
            (corpus / f"{document.name}{document.suffix}").write_text(document.text, encoding="utf-8")
        settings = load_settings(environ={}, home=Path(home) / "home", corpus_dir=corpus, judge=args.judge)
        ingest(settings)
        engine = get_engine(settings)
        rows = collect(engine, questions)
        answer, answer_how = choose_answer(engine, rows)
        extra, extra_how = choose_extra(engine, rows, answer)
        groups = mine_shard(documents, questions, Path(home) / "mined", random.Random(13), swaps=False,
                            judge=args.judge)
        rng = random.Random(13)
        claim, claim_how = choose_claim(engine.judge.score, [p for g in groups for p in claims.from_group(g, rng)])
        measured = aucs(rows, groups, engine.judge.score)
        folder = Path(engine.judge.folder)
    result = {"answer": answer, "extra": extra, "claim": claim,
              "how": {"answer": answer_how, "extra": extra_how, "claim": claim_how,
                      "data": f"squad2-dev calibration articles {', '.join(CALIBRATION_ARTICLES)}"}}
    (folder / CALIBRATION_FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    metrics_path = folder / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    metrics["calibration_articles"] = measured
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({**result, "calibration_articles": measured}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
