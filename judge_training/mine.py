"""Mine every training question's candidates with the product's own retriever.

Each shard of documents is written to a corpus folder and indexed by the product's
ingest; each question then goes through ``Engine.candidates`` (retrieval and pre-rank,
no judge), so the evidence text and the candidates are exactly what answering reads.
A group records, best first, the candidates' evidence and a label: 1 the gold sentence,
0 a sentence that does not hold the answer, -1 one that holds an answer string but is
not the gold (neither clearly right nor wrong: left out of training). The gold sentence
is kept even when retrieval missed it, with the answer's offset for the span head.

``python -m judge_training.mine --data ../shared/data --out .cache/judge-data``
(resumable: a finished shard is not mined again; ``--budget`` minutes stops early,
round robin over the sets, so that a short run has some of every set).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import shutil
import sys
import time
from pathlib import Path

from . import sources
from .sources import Document, Question, normalise_space
from .swaps import swap

REPO = Path(__file__).resolve().parent.parent
SHARD_SIZE = 8  # documents indexed together: a small library, as the SQuAD gate's 3 articles
SWAP_SHARE = 0.25  # answerable SQuAD questions that also get a swapped unanswerable twin
SWAP_WEIGHT = 0.7  # a swap can, rarely, still be answerable elsewhere: weighted below real ones


def _gold_row(question: Question, rows: list[int], text_of) -> tuple[int, int] | None:
    """(sentence row, answer offset in it) of the sentence that holds the answer, or
    (row, -1) for a passage-only positive; None when no sentence matches cleanly."""
    passages = [normalise_space(p) for p in question.positives]
    best = None
    for row in rows:
        sentence = normalise_space(text_of(row))
        if len(sentence) < 3:
            continue
        inside = [p for p in passages if sentence in p or (len(p) < 400 and p in sentence)]
        if not inside:
            continue
        if not question.answers:
            return row, -1
        for answer in question.answers:
            offset = text_of(row).find(answer)
            if offset < 0:
                continue
            where = inside[0].find(sentence)
            distance = abs(where - question.answer_start) if question.answer_start >= 0 and where >= 0 else 0
            if where >= 0 and question.answer_start >= 0 and where > question.answer_start:
                distance += 10_000  # the sentence starts after the answer's offset
            if best is None or distance < best[2]:
                best = (row, offset, distance)
    return None if best is None else (best[0], best[1])


def _label(question: Question, row: int, gold: set[int], text_of) -> int:
    if row in gold:
        return 1
    text = text_of(row)
    if any(a and a in text for a in question.answers):
        return -1
    return 0


def mine_shard(documents: list[Document], questions: list[Question], work: Path, rng: random.Random,
               swaps: bool, judge: str = "bundled") -> list[dict]:
    from core.settings import load_settings
    from ingest import ingest
    from qa import get_engine

    corpus = work / "corpus"
    shutil.rmtree(work, ignore_errors=True)
    corpus.mkdir(parents=True)
    for document in documents:
        (corpus / f"{document.name}{document.suffix}").write_text(document.text, encoding="utf-8")
    settings = load_settings(environ={}, home=work / "home", corpus_dir=corpus, judge=judge)
    ingest(settings)
    engine = get_engine(settings)
    index, spans = engine.index, engine.spans
    rows_of: dict[str, list[int]] = {}
    for row, sentence in enumerate(index.sentences):
        rows_of.setdefault(sentence.source.rsplit(".", 1)[0], []).append(row)
    text_of = lambda row: index.sentence_text(index.sentences[row])
    groups = []
    for q in questions:
        rows = rows_of.get(q.document, [])
        found, gold_rows = None, set()
        if q.answers:
            found = _gold_row(q, rows, text_of)
            gold_rows = {found[0]} if found else set()
        elif q.positives:  # a passage-level positive: every sentence inside it answers
            gold_rows = {row for row in rows if _gold_row(q, [row], text_of)}
            found = (min(gold_rows), -1) if gold_rows else None
        if q.positives and found is None:
            continue  # the gold sentence was split differently: no clean label
        candidates, _ = engine.candidates(q.question)
        group = {"id": q.id, "source": q.source, "question": q.question, "weight": q.weight,
                 "answers": list(q.answers),
                 "candidates": [[spans.evidence(e.row), _label(q, e.row, gold_rows, text_of)] for e in candidates]}
        if found is not None:
            group["gold"] = [spans.evidence(found[0]), found[1], q.answers[0] if q.answers else ""]
        groups.append(group)
        if swaps and found is not None and q.answers and rng.random() < SWAP_SHARE:
            sentence = text_of(found[0])
            others = [text_of(r) for r in rng.sample(rows_of[q.document], min(40, len(rows_of[q.document])))]
            swapped = swap(q.question, sentence, others, rng)
            if swapped:
                candidates, _ = engine.candidates(swapped)
                listed = [[spans.evidence(e.row), 0] for e in candidates if e.row != found[0]]
                # The sentence that answered the original is the tempting near miss: always shown.
                listed.insert(0, [spans.evidence(found[0]), 0])
                groups.append({"id": q.id + "-swap", "source": "swap", "question": swapped,
                               "weight": SWAP_WEIGHT, "answers": [], "candidates": listed[:len(candidates) or 1]})
    return groups


def collect(data: Path, medquad_limit: int, seed: int) -> list[tuple[str, list[Document], list[Question], bool]]:
    """(name, documents, questions, make swaps) per data set."""
    rng = random.Random(seed)
    out = []
    sample_docs, sample_questions = sources.squad2_sample(data)
    skip = {d.name for d in sample_docs} | {d.name.replace("_", " ") for d in sample_docs}
    out.append(("squad2-train", sample_docs, sample_questions, True))
    out.append(("squad2-dev", *sources.squad2_dev_train(data), True))
    out.append(("selqa", *sources.selqa(data), False))
    out.append(("medquad", *sources.medquad(data, medquad_limit, rng), False))
    out.append(("squad11", *sources.squad11(data, skip), True))
    return out


def plan(sets, questions_per_document: int, rng: random.Random):
    """(target name, documents, questions, swaps) per shard, round robin over the sets, so
    that a run cut short by its budget still has some of every set."""
    queues = []
    for name, documents, questions, swaps in sets:
        by_document: dict[str, list[Question]] = {}
        for q in questions:
            by_document.setdefault(q.document, []).append(q)
        if questions_per_document and name == "squad11":  # the large set; the others are scarce
            for document, listed in by_document.items():
                if len(listed) > questions_per_document:
                    by_document[document] = rng.sample(listed, questions_per_document)
        queues.append([(f"{name}-{number:03d}", shard, [q for d in shard for q in by_document.get(d.name, [])], swaps)
                       for number, shard in enumerate(sources.shards(documents, SHARD_SIZE))])
    while any(queues):
        for queue in queues:
            if queue:
                yield queue.pop(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m judge_training.mine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "judge-data")
    parser.add_argument("--medquad", type=int, default=6000, help="MedQuAD questions at most")
    parser.add_argument("--max-documents", type=int, default=0, help="documents per set at most (0: all)")
    parser.add_argument("--questions-per-document", type=int, default=0,
                        help="SQuAD 1.1 questions mined per article at most, a seeded sample (0: all)")
    parser.add_argument("--budget", type=float, default=0,
                        help="minutes to mine (0: everything); shards go round robin over the sets")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    sets = collect(args.data, args.medquad, args.seed)
    if args.max_documents:
        sets = [(name, documents[:args.max_documents], questions, swaps) for name, documents, questions, swaps in sets]
    began = time.time()
    for name, shard, shard_questions, swaps in plan(sets, args.questions_per_document, random.Random(args.seed)):
        if args.budget and time.time() - began > args.budget * 60:
            print(f"mining budget of {args.budget:g} minutes spent; stopping before {name}", file=sys.stderr)
            break
        target = args.out / f"{name}.jsonl.gz"
        if target.is_file():
            continue
        started = time.time()
        groups = mine_shard(shard, shard_questions, args.out / "work", random.Random(f"{args.seed}-{name}"), swaps)
        partial = target.with_suffix(".partial")
        with gzip.open(partial, "wt", encoding="utf-8") as handle:
            for group in groups:
                handle.write(json.dumps(group, ensure_ascii=False) + "\n")
        partial.rename(target)
        print(f"{target.name}: {len(groups)} groups from {len(shard_questions)} questions "
              f"({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
    shutil.rmtree(args.out / "work", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
