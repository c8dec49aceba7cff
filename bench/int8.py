"""The int8 embedder ('minilm-int8') against the fp32 one ('minilm'), on the same chunks:
the cosine of each int8 vector (chunks, and sentences pooled from their chunk's pass) to
its fp32 vector, how often dense chunk retrieval keeps its top 1 and top 10 (the curated
questions over the seed, the SQuAD questions over their articles), and the speed of
embedding every chunk (one pass each), interleaved repeats in one process.

    python -m bench.int8 [--repeats N] [--out bench/int8.json]

The answer gates (curated and SQuAD evals) are measured by ``sourceqa eval`` with
``SOURCEQA_EMBEDDER=minilm-int8``; bench/RESULTS.md has both side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus"
SQUAD = REPO / "evals" / "data" / "squad2"


def _index(corpus: Path, embedder, scratch: Path):
    from core.settings import load_settings
    from ingest import ingest, load_index

    settings = load_settings(environ={}, home=scratch / corpus.name, corpus_dir=corpus)
    ingest(settings, embedder=embedder)
    return load_index(settings.index_path)


def _spans(index, embedder) -> tuple[list[str], list[list]]:
    """Each chunk's text and its sentences' spans, as ingest plans them for ``embedder``."""
    from ingest.embed import identity, plan

    texts = {source: index.documents[source] for source in index.documents}
    work = plan(index.chunks, index.sentences, texts, identity(embedder))
    spans: list[list] = [[] for _ in range(work.chunks)]
    for row in range(work.chunks, len(work.keys)):
        spans[work.context[row]].append(work.spans[row])
    return work.texts[:work.chunks], spans


def _cosines(a: np.ndarray, b: np.ndarray) -> dict:
    cos = np.sum(a * b, axis=1)
    return {"n": len(cos), "min": float(cos.min()), "p1": float(np.percentile(cos, 1)),
            "mean": float(cos.mean())}


def _agreement(questions: list[str], chunks: list[str], fp32, int8) -> dict:
    """Top-1 equal and top-10 overlap of dense chunk retrieval, fp32 against int8."""
    top1, overlap = [], []
    sides = []
    for model in (fp32, int8):
        scores = model.embed(questions) @ model.embed(chunks).T
        sides.append(np.argsort(-scores, axis=1, kind="stable"))
    for a, b in zip(*sides):
        top1.append(a[0] == b[0])
        k = min(10, len(a))
        overlap.append(len(set(a[:k]) & set(b[:k])) / k)
    return {"questions": len(questions), "chunks": len(chunks), "top1_same": float(np.mean(top1)),
            "top10_overlap": float(np.mean(overlap)), "top10_overlap_min": float(np.min(overlap))}


def measure(repeats: int) -> dict:
    from evals.cases import load_cases
    from evals.squad import load_squad
    from ingest import make_embedder

    fp32, int8 = make_embedder("minilm"), make_embedder("minilm-int8")
    out: dict = {"repeats": repeats}
    with tempfile.TemporaryDirectory() as scratch:
        seed, squad = _index(SEED, fp32, Path(scratch)), _index(SQUAD / "corpus", fp32, Path(scratch))
    texts, spans = [], []
    for index in (seed, squad):
        t, s = _spans(index, fp32)
        texts += t
        spans += s
    vectors = {}
    for name, model in (("fp32", fp32), ("int8", int8)):
        chunk_vectors, pooled = model.embed_spans(texts, spans)
        sentences = [v for row in pooled for v in row if v is not None]
        vectors[name] = (chunk_vectors, np.stack(sentences))
    out["cosine_chunks"] = _cosines(vectors["fp32"][0], vectors["int8"][0])
    out["cosine_sentences"] = _cosines(vectors["fp32"][1], vectors["int8"][1])
    curated = [c.question for c in load_cases()]
    out["agreement_curated"] = _agreement(curated, [c.embed_text for c in seed.chunks], fp32, int8)
    squad_questions = [c.question for c in load_squad(SQUAD / "qa.jsonl")]
    out["agreement_squad"] = _agreement(squad_questions, [c.embed_text for c in squad.chunks], fp32, int8)
    seconds: dict[str, list[float]] = {"fp32": [], "int8": []}
    for _ in range(repeats):  # alternated, so a busy moment of the machine hits both
        for name, model in (("fp32", fp32), ("int8", int8)):
            began = time.perf_counter()
            model.embed_spans(texts, spans)
            seconds[name].append(time.perf_counter() - began)
    out["chunks"] = len(texts)
    out["seconds"] = {name: statistics.median(s) for name, s in seconds.items()}
    out["speedup"] = out["seconds"]["fp32"] / out["seconds"]["int8"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the numbers here (JSON); else print them")
    args = parser.parse_args(argv)
    text = json.dumps(measure(args.repeats), indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
