"""Do unrelated documents change the decisions? ``python -m bench.distractors``.

Answers the curated set on the seed article alone, then on the seed plus N unrelated short
documents (BoolQ's Wikipedia passages from ``../shared/data/boolq``, CC BY-SA 3.0, one
file each), and counts how many unanswerable cases are declined and answerable ones
answered with every key fact in each. Writes ``bench/distractors.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def write_distractors(boolq: Path, folder: Path, n: int) -> int:
    seen, written = set(), 0
    with open(boolq, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    for row in rows:
        if row["passage"] in seen:
            continue
        seen.add(row["passage"])
        name = re.sub(r"[^A-Za-z0-9]+", "_", row["title"])[:60] or "untitled"
        (folder / f"boolq_{written:04d}_{name}.txt").write_text(
            f"{row['title'].title()}\n\n{row['passage']}\n", encoding="utf-8")
        written += 1
        if written == n:
            break
    return written


def score(settings, cases) -> dict:
    from evals.metrics import score_case
    from evals.validate import document_sections, document_texts, load_corpus
    from qa import ask

    seed = load_corpus(REPO / "corpus")
    documents, sections = document_texts(seed), document_sections(seed)
    from_text = (REPO / "corpus" / "calcinosis_cutis.txt").name
    declined = answered_all = 0
    answered_examples = []
    for case in cases:
        answer = ask(case.question, llm="extractive", settings=settings)
        if not case.answerable:
            declined += answer.abstained
            if not answer.abstained:
                answered_examples.append({"question": case.question, "answer": answer.text[:300]})
        else:
            result = score_case(case, answer, documents, sections)
            answered_all += bool(result.all_key_facts)
    unanswerable = sum(not c.answerable for c in cases)
    return {"corpus_seed": from_text, "unanswerable": unanswerable, "declined": declined,
            "answerable": len(cases) - unanswerable, "answered_with_all_key_facts": answered_all,
            "unanswerable_answered": answered_examples}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.distractors", description=__doc__.split("\n\n")[0])
    parser.add_argument("--boolq", type=Path, default=REPO.parent / "shared" / "data" / "boolq" / "dev.jsonl")
    parser.add_argument("-n", type=int, default=2000, help="unrelated documents to add")
    parser.add_argument("--out", type=Path, default=BENCH / "distractors.json")
    args = parser.parse_args(argv)
    from core.settings import load_settings
    from evals.cases import load_cases
    from ingest import ingest

    cases = load_cases()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        corpus.mkdir()
        (corpus / "calcinosis_cutis.txt").write_text(
            (REPO / "corpus" / "calcinosis_cutis.txt").read_text("utf-8"), "utf-8")
        for label, extra in (("seed", 0), ("seed+distractors", args.n)):
            added = write_distractors(args.boolq, corpus, extra) if extra else 0
            settings = load_settings(environ={}, home=Path(work) / f"home-{label}", corpus_dir=corpus)
            ingest(settings)
            results[label] = {"documents_added": added, **score(settings, cases)}
            print(label, {k: v for k, v in results[label].items() if k != "unanswerable_answered"})
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
