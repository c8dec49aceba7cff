"""Public QA sets as documents and questions (``../shared/data``; only open-licensed sets).

A :class:`Document` is written into a corpus folder and indexed by the product's own
ingest; a :class:`Question` asks about one document. ``positives`` are the passages
(sentences, or a whole answer section) whose sentences answer it; no positives means
the document does not answer it (an adversarial SQuAD 2.0 question).

>>> normalise_space(" a\\u00a0 b\\n")
'a b'
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.splits import CALIBRATION_ARTICLES, TRAIN_ARTICLES, VALIDATION_ARTICLES

HELD_OUT = set(CALIBRATION_ARTICLES) | set(VALIDATION_ARTICLES)


@dataclass(frozen=True)
class Document:
    name: str  # file name without suffix, unique within a shard
    text: str  # what is written to the corpus folder
    suffix: str = ".txt"


@dataclass(frozen=True)
class Question:
    id: str
    source: str  # data set, for weights and per-source metrics
    document: str
    question: str
    answers: tuple[str, ...] = ()  # short answers (SQuAD spans)
    positives: tuple[str, ...] = ()  # passages holding the answer (a paragraph or section)
    answer_start: int = -1  # the first answer's offset in positives[0] (-1: unknown)
    plausible: tuple[str, ...] = ()
    weight: float = 1.0
    extra: dict = field(default_factory=dict, compare=False)


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if str(path).endswith(".gz") else open(path, encoding="utf-8")


def _squad_file(path: Path, source: str, skip: set[str], weight_unanswerable: float
                ) -> tuple[list[Document], list[Question]]:
    with _open(path) as handle:
        data = json.load(handle)["data"]
    documents, questions = [], []
    for entry in data:
        title = entry["title"].replace("_", " ")
        if entry["title"] in skip or title in skip:
            continue
        name = re.sub(r"[^\w-]+", "_", entry["title"])[:80]
        paragraphs = [p["context"].strip() for p in entry["paragraphs"]]
        documents.append(Document(name, title + "\n\n" + "\n\n".join(paragraphs) + "\n"))
        for paragraph, context in zip(entry["paragraphs"], paragraphs):
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                plausible = tuple(dict.fromkeys(a["text"] for a in qa.get("plausible_answers", [])))
                if answers:
                    start = qa["answers"][0].get("answer_start", -1)
                    questions.append(Question(qa["id"], source, name, qa["question"], answers,
                                              (context,), start, plausible))
                else:
                    questions.append(Question(qa["id"], source, name, qa["question"], (), (), -1,
                                              plausible, weight_unanswerable))
    return documents, questions


def squad11(data: Path, skip: set[str]) -> tuple[list[Document], list[Question]]:
    """SQuAD 1.1 train (442 articles, CC BY-SA 4.0): every question is answerable."""
    return _squad_file(data / "squad11-train" / "train-v1.1.json.gz", "squad11", skip, 1.0)


def squad2_sample(data: Path) -> tuple[list[Document], list[Question]]:
    """SQuAD 2.0 train, first 10 articles, adversarial unanswerables weighted 2."""
    return _squad_file(data / "squad2-train-sample" / "train-v2.0-first10articles.json.gz",
                       "squad2-train", set(), 2.0)


def squad2_dev_train(data: Path) -> tuple[list[Document], list[Question]]:
    """The 7 TRAIN articles of squad2-dev (never the calibration or validation ones)."""
    assert not set(TRAIN_ARTICLES) & HELD_OUT
    return squad2_dev(data, TRAIN_ARTICLES)


def squad2_dev(data: Path, articles: tuple[str, ...]) -> tuple[list[Document], list[Question]]:
    """Some squad2-dev articles with their questions (adversarial ones weighted 2)."""
    folder = data / "squad2-dev"
    documents, questions = [], []
    for name in articles:
        documents.append(Document(name, (folder / "corpus" / f"{name}.txt").read_text(encoding="utf-8")))
    with open(folder / "qa.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["article"] not in articles:
                continue
            if row["answerable"]:
                sentence = row["context_sentence"]
                start = sentence.find(row["answers"][0])
                questions.append(Question(row["id"], "squad2-dev", row["article"], row["question"],
                                          tuple(row["answers"]), (sentence,), start, ()))
            else:
                questions.append(Question(row["id"], "squad2-dev", row["article"], row["question"],
                                          (), (), -1, tuple(row["plausible"]), 2.0))
    return documents, questions


def selqa(data: Path) -> tuple[list[Document], list[Question]]:
    """SelQA (Apache-2.0): a Wikipedia section's sentences, the answering ones marked."""
    documents, questions, seen = [], [], {}
    for split in ("dev", "test"):
        with _open(data / "selqa" / f"selqa-ass-{split}.json.gz") as handle:
            items = json.load(handle)
        for number, item in enumerate(items):
            key = (item["article"], item["section"])
            if key not in seen:
                seen[key] = re.sub(r"[^\w-]+", "_", f"{item['article']}_{item['section']}")[:70] + f"_{len(seen)}"
                body = " ".join(item["candidates"])
                documents.append(Document(seen[key], f"# {item['article']}\n\n## {item['section']}\n\n{body}\n", ".md"))
            positives = tuple(item["candidates"][i] for i in item["answers"])
            if positives:
                questions.append(Question(f"selqa-{split}-{number}", "selqa", seen[key], item["question"],
                                          (), positives, -1, (), 1.0))
    return documents, questions


MEDQUAD_HEADINGS = {"information": "Overview", "symptoms": "Symptoms", "treatment": "Treatment",
                    "inheritance": "Inheritance", "frequency": "Frequency", "genetic changes": "Genetic changes",
                    "causes": "Causes", "exams and tests": "Diagnosis", "research": "Research",
                    "outlook": "Outlook", "susceptibility": "Who is at risk", "considerations": "Considerations",
                    "prevention": "Prevention", "stages": "Stages", "complications": "Complications"}


def medquad(data: Path, limit: int, rng: random.Random) -> tuple[list[Document], list[Question]]:
    """MedQuAD (CC BY 4.0): one document per focus with a section per question type;
    a question's positives are its own section (noisy at the sentence level, so weighted
    0.5). Its twin (section removed) is the hard in-domain near miss."""
    by_focus: dict[tuple[str, str], list[dict]] = {}
    with _open(data / "medquad" / "medquad_with_answers.jsonl.gz") as handle:
        for line in handle:
            row = json.loads(line)
            if row["qtype"] in MEDQUAD_HEADINGS and len(row["answer"]) < 4000:
                by_focus.setdefault((row["source"], row["focus"]), []).append(row)
    groups = [rows for rows in by_focus.values() if len({r["qtype"] for r in rows}) >= 3]
    rng.shuffle(groups)
    documents, questions = [], []
    for number, rows in enumerate(groups):
        if len(questions) >= limit:
            break
        rows = list({r["qtype"]: r for r in rows}.values())
        name = re.sub(r"[^\w-]+", "_", rows[0]["focus"])[:60] + f"_{number}"
        sections = [f"## {MEDQUAD_HEADINGS[r['qtype']]}\n\n{_medquad_body(r['answer'])}" for r in rows]
        documents.append(Document(name, f"# {rows[0]['focus']}\n\n" + "\n\n".join(sections) + "\n", ".md"))
        for r in rows:
            questions.append(Question(f"medquad-{number}-{r['qtype']}", "medquad", name, r["question"].replace(" ?", "?"),
                                      (), (_medquad_body(r["answer"]),), -1, (), 0.5))
    return documents, questions


def _medquad_body(answer: str) -> str:
    lines = [normalise_space(line).lstrip("- ") for line in answer.splitlines()]
    return "\n".join(line for line in lines if line)


def shards(documents: list[Document], size: int) -> Iterator[list[Document]]:
    """Documents in groups of ``size``: each group is one small library, indexed apart."""
    for begin in range(0, len(documents), size):
        yield documents[begin:begin + size]
