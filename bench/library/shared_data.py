"""Real text from the public datasets in ../shared/data (each folder's README gives the
format and licence), when that folder is there; a fresh clone without it skips them."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from .sources import Doc, Source, grouped

PER_FILE = 20  # short passages per corpus file


def squad_dev(data: Path) -> Iterator[Doc]:
    """The 12 whole Wikipedia articles of SQuAD 2.0 dev, as they are."""
    for path in sorted((data / "squad2-dev" / "corpus").glob("*.txt")):
        yield Doc(f"squad2-dev/{path.name}", path.read_bytes())


def squad_train(data: Path) -> Iterator[Doc]:
    """SQuAD 2.0 train's first 10 articles: title, then every paragraph's context."""
    path = data / "squad2-train-sample" / "train-v2.0-first10articles.json.gz"
    for article in json.loads(gzip.decompress(path.read_bytes()))["data"]:
        title = article["title"]
        text = "\n\n".join([title.replace("_", " ")] + [p["context"] for p in article["paragraphs"]])
        yield Doc(f"squad2-train/{title.replace('/', '_')}.txt", (text + "\n").encode("utf-8"))


def pubmedqa(data: Path) -> Iterator[Doc]:
    """PubMedQA's 1,000 abstracts: the title (as a question), then the abstract's sections."""
    items = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    for pmid in sorted(items, key=int):
        text = "\n\n".join([items[pmid]["QUESTION"], *items[pmid]["CONTEXTS"]])
        yield Doc(f"pubmedqa/{pmid}.txt", (text + "\n").encode("utf-8"))


def boolq(data: Path) -> Iterator[Doc]:
    """BoolQ dev's Wikipedia passages under their page titles, 20 to a file."""
    items, seen = [], set()
    for line in (data / "boolq" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["passage"] not in seen:
            seen.add(row["passage"])
            items.append((row["title"], [row["passage"]]))
    yield from grouped("boolq", "passages", items, PER_FILE)


def climate_fever(data: Path) -> Iterator[Doc]:
    """CLIMATE-FEVER's Wikipedia evidence sentences under their article, 20 articles a file."""
    articles: dict[str, dict[str, str]] = {}
    for line in (data / "climate-fever" / "climate-fever.jsonl").read_text(encoding="utf-8").splitlines():
        for evidence in json.loads(line)["evidences"]:
            articles.setdefault(evidence["article"], {})[evidence["evidence_id"]] = evidence["evidence"]
    items = [(title, list(articles[title].values())) for title in sorted(articles)]
    yield from grouped("climate-fever", "evidence", items, PER_FILE)


def healthver(data: Path) -> Iterator[Doc]:
    """HealthVer's evidence passages (from scientific abstracts) under their search question."""
    topics: dict[str, dict[str, None]] = {}
    for name in ("healthver_dev.csv", "healthver_test.csv"):
        if not (data / "healthver" / name).is_file():
            continue
        with (data / "healthver" / name).open(encoding="utf-8", newline="") as rows:
            for row in csv.DictReader(rows):
                topics.setdefault(row["question"].strip(), {})[row["evidence"].strip()] = None
    for number, (question, evidence) in enumerate(topics.items(), start=1):
        yield from grouped("healthver", f"topic-{number:03d}", [(question, list(evidence))], PER_FILE)


# (name, reader, the file it needs, licence as the folder's README states it)
DATASETS: tuple[tuple[str, Callable[[Path], Iterator[Doc]], str, str], ...] = (
    ("squad2-dev", squad_dev, "squad2-dev/corpus", "CC BY-SA 4.0 (SQuAD 2.0; Wikipedia)"),
    ("squad2-train", squad_train, "squad2-train-sample/train-v2.0-first10articles.json.gz",
     "CC BY-SA 4.0 (SQuAD 2.0; Wikipedia)"),
    ("pubmedqa", pubmedqa, "pubmedqa/ori_pqal.json", "MIT (PubMedQA)"),
    ("boolq", boolq, "boolq/dev.jsonl", "CC BY-SA 3.0 (BoolQ; Wikipedia)"),
    ("climate-fever", climate_fever, "climate-fever/climate-fever.jsonl",
     "none stated (CLIMATE-FEVER); the sentences are English Wikipedia's, CC BY-SA"),
    ("healthver", healthver, "healthver/healthver_dev.csv",
     "none stated (HealthVer): measured with locally, never redistributed"),
)


def _origin(data: Path, needed: str) -> str:
    """The dataset file (or folder) read, with its size: a changed file changes the recipe."""
    path = data / needed
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        return f"shared data {needed}/ ({len(files)} files, {sum(p.stat().st_size for p in files)} bytes)"
    return f"shared data {needed} ({path.stat().st_size} bytes)"


def shared_sources(data: Path | None) -> list[Source]:
    """The datasets found under ``data`` as sources; none, with a note, when it is missing."""
    if data is None or not data.is_dir():
        print(f"bench.library: no {data} (../shared/data): the library is built from the Debian "
              "documentation packages alone", flush=True)
        return []
    sources = []
    for name, reader, needed, licence in DATASETS:
        if not (data / needed).exists():
            print(f"bench.library: {data / needed} missing: {name} skipped", flush=True)
            continue
        sources.append(Source(name, licence, _origin(data, needed),
                              lambda reader=reader: reader(data)))
    return sources
