"""Calibrate the judge's thresholds: ``python -m qa.calibrate`` (part of ``make train-judge``).

Indexes the calibration articles of squad2-dev (``--data``, default ``../shared/data``;
never ``evals/data``, which is the test), runs the real pipeline up to the judge on every
question, and chooses, by the rules written into ``calibration.json`` beside the judge:

* ``answer``: the probability under which the product declines. Chosen by balanced
  accuracy, the mean of (answerable questions answered with the gold span shown) and
  (unanswerable questions declined): the lowest threshold within ``PLATEAU`` of the best,
  because the curve is flat near its top and a lower threshold declines fewer plain
  questions. (Weighing a wrong answer at 1.5 or 2 false declines was tried: with this
  judge it declines nearly everything, which the brief calls useless.)
* ``extra``: the probability at which an extractive answer adds a further sentence: the
  highest share of gold spans shown while the median answer stays within 30 words.
* ``claim``: the probability a generated sentence's claim needs: the lowest at which
  ``CLAIM_PRECISION`` of the accepted claims on these articles are true
  (:mod:`qa.judge_data` claim pairs), else the one of highest precision.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from pathlib import Path

import numpy as np

from . import judge_data as data
from .thresholds import FILE

GRID = [round(x, 3) for x in np.arange(0.02, 0.99, 0.01)]
PLATEAU = 0.005
MAX_MEDIAN_WORDS = 30
CLAIM_PRECISION = 0.90


def _collect(engine, questions: list[dict]) -> list[dict]:
    """Per question: whether answerable, its gold spans, and the judged candidates."""
    rows = []
    for q in questions:
        judged, _ = engine.judged(q["question"])
        rows.append({"answerable": q["answerable"], "answers": q["answers"],
                     "judged": judged})
    return rows


def _outcome(engine, row: dict, answer: float, extra: float) -> tuple[str, int]:
    """('correct' | 'wrong' | 'declined', words shown) at these thresholds."""
    judged = row["judged"]
    if not judged or judged[0].probability < answer:
        return ("correct" if not row["answerable"] else "declined"), 0
    supporting = [j for j in judged if j.probability >= answer]
    shown = " ".join(text for text, _ in engine.extractive(supporting, extra).shown)
    if not row["answerable"]:
        return "wrong", len(shown.split())
    hit = any(a in shown for a in row["answers"])
    return ("correct" if hit else "wrong"), len(shown.split())


def balanced(engine, rows: list[dict], answer: float) -> tuple[float, float]:
    """(answerable answered with the gold span, unanswerable declined) at ``answer``."""
    outcomes = [(_outcome(engine, r, answer, 1.01)[0], r["answerable"]) for r in rows]
    cited = [o == "correct" for o, answerable in outcomes if answerable]
    declined = [o == "correct" for o, answerable in outcomes if not answerable]
    return sum(cited) / max(len(cited), 1), sum(declined) / max(len(declined), 1)


def choose_answer(engine, rows: list[dict]) -> tuple[float, str]:
    curve = {t: balanced(engine, rows, t) for t in GRID}
    top = max(sum(v) / 2 for v in curve.values())
    t = min(t for t, v in curve.items() if sum(v) / 2 >= top - PLATEAU)
    cited, declined = curve[t]
    how = (f"lowest threshold within {PLATEAU} of the best balanced accuracy ({top:.3f}) over "
           f"{len(rows)} calibration questions: answerable answered with the gold span {cited:.3f}, "
           f"unanswerable declined {declined:.3f}")
    return t, how


def choose_extra(engine, rows: list[dict], answer: float) -> tuple[float, str]:
    best = (-1.0, 1.0, 0)
    for e in GRID:
        results = [_outcome(engine, r, answer, e) for r in rows if r["answerable"]]
        words = [w for _, w in results if w]
        median = statistics.median(words) if words else 0
        correct = sum(o == "correct" for o, _ in results) / max(len(results), 1)
        if median <= MAX_MEDIAN_WORDS and correct > best[0]:
            best = (correct, e, median)
    return best[1], (f"highest share of answerable calibration questions answered with the gold span "
                     f"({best[0]:.3f}) with a median answer of at most {MAX_MEDIAN_WORDS} words ({best[2]})")


def choose_claim(score, pairs: list[data.Pair]) -> tuple[float, str]:
    claims = [p for p in pairs if p.source.endswith(":claim")]
    probabilities = score([(p.query, p.evidence) for p in claims])
    labels = np.array([p.label for p in claims])
    precision = {t: labels[probabilities >= t].mean() for t in GRID if (probabilities >= t).any()}
    reached = [t for t, p in precision.items() if p >= CLAIM_PRECISION]
    t = min(reached) if reached else max(precision, key=precision.get)
    accepted = probabilities >= t
    return t, (f"{'lowest probability at which' if reached else 'no threshold reached'} "
               f"{CLAIM_PRECISION:.0%} of accepted claims are true on {len(claims)} calibration claim "
               f"pairs; at {t}: precision {precision[t]:.3f}, recall "
               f"{labels[accepted].sum() / max(labels.sum(), 1):.3f}")


def _questions(squad: Path) -> list[dict]:
    with open(squad / "qa.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [r for r in rows if r["article"] in data.CALIBRATION_ARTICLES]


def main(argv: list[str] | None = None) -> int:
    from core.settings import load_settings
    from ingest import ingest
    from qa.api import get_engine

    from .train import REPO_ROOT, make_ranker

    parser = argparse.ArgumentParser(prog="python -m qa.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--judge", default="bundled", help="judge to calibrate ('bundled' or 'ce:/path')")
    args = parser.parse_args(argv)
    squad = args.data / "squad2-dev"
    with tempfile.TemporaryDirectory() as home:
        corpus = Path(home) / "corpus"
        corpus.mkdir()
        for name in data.CALIBRATION_ARTICLES:
            (corpus / f"{name}.txt").write_text((squad / "corpus" / f"{name}.txt").read_text("utf-8"), "utf-8")
        settings = load_settings(environ={}, home=Path(home) / "home", corpus_dir=corpus, judge=args.judge)
        ingest(settings)
        engine = get_engine(settings)
        rows = _collect(engine, _questions(squad))
        answer, answer_how = choose_answer(engine, rows)
        extra, extra_how = choose_extra(engine, rows, answer)
        articles, questions = data.load_squad_dev(squad, data.CALIBRATION_ARTICLES)
        pairs = list(data.squad_pairs(articles, questions, make_ranker(engine.embedder.embed),
                                      random.Random(13), "squad2-dev"))
        claim, claim_how = choose_claim(engine.judge.score, pairs)
        folder = engine.judge.folder
    result = {"answer": answer, "extra": extra, "claim": claim,
              "how": {"answer": answer_how, "extra": extra_how, "claim": claim_how,
                      "data": f"squad2-dev calibration articles {', '.join(data.CALIBRATION_ARTICLES)}"}}
    (Path(folder) / FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
