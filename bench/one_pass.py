"""Ingest from nothing with sentence vectors from each chunk's own pass (the product since
issue 29) against embedding every sentence again (before): seconds, chunks per second,
texts sent to the embedder and their ratio, one process, the same loaded MiniLM.

    python -m bench.one_pass [--corpus DIR ...] [--repeats N] [--out bench/one_pass.json]

The default corpus is the seed and the squad2 articles (157 chunks); ``bench.run``
records it in results.json and RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPORA = [REPO / "corpus", REPO / "evals" / "data" / "squad2" / "corpus"]


class Alone:
    """The real embedder without ``embed_spans``: every sentence embedded on its own."""

    def __init__(self, embedder) -> None:
        self.name, self.dimension, self._embedder = embedder.name, embedder.dimension, embedder

    def embed(self, texts):
        return self._embedder.embed(texts)


def _ingest(corpus: Path, embedder, scratch: Path) -> dict:
    from core.settings import load_settings
    from ingest import ingest

    home = scratch / "home"
    shutil.rmtree(home, ignore_errors=True)
    settings = load_settings(environ={}, home=home, corpus_dir=corpus)
    began = time.perf_counter()
    report = ingest(settings, embedder=embedder)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "chunks": report.chunks, "embedded": report.embedded,
            "chunks_per_s": report.chunks / seconds}


def measure(corpora: list[Path], repeats: int) -> dict:
    from ingest import make_embedder

    model = make_embedder("minilm")
    model.embed(["warm up"])
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"
        corpus.mkdir()
        for number, folder in enumerate(corpora):
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    shutil.copy(path, corpus / f"{number}-{path.name}")
        runs: dict[str, list[dict]] = {"alone": [], "one_pass": []}
        for _ in range(repeats):  # alternated, so a busy moment of the machine hits both
            runs["alone"].append(_ingest(corpus, Alone(model), Path(scratch)))
            runs["one_pass"].append(_ingest(corpus, model, Path(scratch)))
    out: dict = {"repeats": repeats, "corpus": [str(c.relative_to(REPO)) if c.is_relative_to(REPO) else str(c)
                                                for c in corpora]}
    for side, rows in runs.items():
        seconds = statistics.median(r["seconds"] for r in rows)
        out[side] = {"seconds": seconds, "chunks": rows[0]["chunks"], "embedded": rows[0]["embedded"],
                     "chunks_per_s": rows[0]["chunks"] / seconds}
    out["speedup"] = out["alone"]["seconds"] / out["one_pass"]["seconds"]
    out["embedded_ratio"] = out["alone"]["embedded"] / out["one_pass"]["embedded"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, nargs="+", default=CORPORA, help="folders of text to ingest")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the numbers here (JSON); else print them")
    args = parser.parse_args(argv)
    result = measure([c.resolve() for c in args.corpus], args.repeats)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
