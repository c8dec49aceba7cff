"""Training and calibration pairs for the judge, built from public QA and entailment sets.

Every pair is (query, evidence, label) in the judge's own input format
(:func:`qa.judge.judge_query`, :func:`qa.judge.evidence_text`), so training reads text
exactly as answering does. Sources (``../shared/data``; each folder's README gives the
licence, and only open-licensed sets are read here):

* SQuAD 2.0 (dev articles of the training split, and the train sample): for each
  question the sentences of its whole article that a retriever would offer. The sentence
  holding the gold answer is positive; the others are negatives, and for an unanswerable
  question every sentence is, including the one with the tempting ``plausible`` span.
  Claims: the gold answer and the gold sentence are supported; another phrase of the
  same sentence, the sentence with its answer swapped for that phrase, or a plausible
  span given as the answer, are not ("Who killed Harold II? King Harold II of England.").
* SNLI (CC BY-SA 4.0): a hypothesis as a bare claim, supported only when entailed.

PubMedQA was tried as (question, its own conclusion) against other studies' conclusions
and left out: those negatives differ in topic, so the judge learned "same topic means
answered" and scored every sentence of a medical article near 1.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.splits import CALIBRATION_ARTICLES, TRAIN_ARTICLES, VALIDATION_ARTICLES  # noqa: F401
from core.text import split_sentences

from .judge import evidence_text, judge_query

CANDIDATES = 10  # sentences a question is paired with (the retriever's share of the article)


@dataclass(frozen=True)
class Pair:
    query: str
    evidence: str
    label: float
    source: str  # which data set and task, for per-source metrics


@dataclass(frozen=True)
class ArticleSentence:
    text: str
    previous: str


@dataclass(frozen=True)
class Question:
    article: str
    question: str
    answers: tuple[str, ...]
    plausible: tuple[str, ...]
    gold: int | None  # row of the sentence holding the first answer (None: unanswerable)


@dataclass(frozen=True)
class Article:
    title: str
    sentences: tuple[ArticleSentence, ...]


def split_paragraphs(paragraphs: list[str]) -> tuple[list[ArticleSentence], list[int]]:
    """Sentences of consecutive paragraphs, each with the one before it in its paragraph,
    and the character offset of each sentence in ``"\\n\\n".join(paragraphs)``.

    >>> rows, starts = split_paragraphs(["A b c. It is d.", "E f."])
    >>> [(r.text, r.previous) for r in rows], starts
    ([('A b c.', ''), ('It is d.', 'A b c.'), ('E f.', '')], [0, 7, 17])
    """
    rows, starts, offset = [], [], 0
    for paragraph in paragraphs:
        previous = ""
        for sentence in split_sentences(paragraph, offset):
            rows.append(ArticleSentence(sentence.text, previous))
            starts.append(sentence.start)
            previous = sentence.text
        offset += len(paragraph) + 2
    return rows, starts


def _row_at(starts: list[int], position: int) -> int:
    return max(i for i, start in enumerate(starts) if start <= position)


def load_squad_dev(folder: Path, articles: tuple[str, ...]) -> tuple[list[Article], list[Question]]:
    """The squad2-dev corpus and questions of ``articles`` (see its README for the format)."""
    out_articles, questions = [], []
    by_article: dict[str, list[dict]] = {}
    with open(folder / "qa.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            by_article.setdefault(row["article"], []).append(row)
    for name in articles:
        title, _, body = (folder / "corpus" / f"{name}.txt").read_text(encoding="utf-8").partition("\n\n")
        sentences, _ = split_paragraphs([p for p in body.split("\n\n") if p.strip()])
        out_articles.append(Article(title.strip(), tuple(sentences)))
        texts = [s.text for s in sentences]
        for row in by_article.get(name, []):
            gold = None
            if row["answerable"]:
                gold = next((i for i, t in enumerate(texts) if row["context_sentence"] in t
                             or t in row["context_sentence"]), None)
                if gold is None:
                    continue  # the splitter cut the gold sentence differently: no clean label
            questions.append(Question(title.strip(), row["question"], tuple(row["answers"]),
                                      tuple(row["plausible"]), gold))
    return out_articles, questions


def load_squad_official(path: Path) -> tuple[list[Article], list[Question]]:
    """An official-format SQuAD 2.0 file (optionally gzipped), one Article per title."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)["data"]
    articles, questions = [], []
    for entry in data:
        title = entry["title"].replace("_", " ")
        paragraphs = [p["context"] for p in entry["paragraphs"]]
        sentences, starts = split_paragraphs(paragraphs)
        articles.append(Article(title, tuple(sentences)))
        offset = 0
        for paragraph in entry["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                plausible = tuple(dict.fromkeys(a["text"] for a in qa.get("plausible_answers", [])))
                gold = None
                if answers:
                    gold = _row_at(starts, offset + qa["answers"][0]["answer_start"])
                    if answers[0] not in sentences[gold].text:
                        continue  # the answer crosses a sentence boundary
                questions.append(Question(title, qa["question"], answers, plausible, gold))
            offset += len(paragraph["context"]) + 2
    return articles, questions


Rank = Callable[[str, list[str]], list[int]]  # question, sentence texts -> best-first rows


def _phrases(sentence: str, avoid: tuple[str, ...]) -> list[str]:
    """Short phrases of a sentence that share no word with ``avoid`` (wrong answers).

    >>> _phrases("Rollo swore fealty to Charles in 911.", ("Rollo",))
    ['Charles', '911']
    """
    banned = {w.lower() for a in avoid for w in re.findall(r"\w+", a)}
    found = re.findall(r"(?:[A-Z][\w'-]+(?:\s+(?:of|the|de|von|and)?\s*[A-Z][\w'-]+)*|\d[\d,.]*\d|\d)", sentence)
    out = []
    for phrase in dict.fromkeys(f.strip() for f in found):
        words = {w.lower() for w in re.findall(r"\w+", phrase)}
        if words and not words & banned and phrase != sentence.split()[0]:
            out.append(phrase)
    return out


def squad_pairs(articles: list[Article], questions: list[Question], rank: Rank, rng: random.Random,
                source: str) -> Iterator[Pair]:
    """Answerability and claim pairs for SQuAD-style questions (see the module docstring)."""
    texts_of = {a.title: [s.text for s in a.sentences] for a in articles}
    evidence_of = {a.title: [evidence_text(s.text, a.title, s.previous) for s in a.sentences]
                   for a in articles}
    for q in questions:
        texts, evidence = texts_of[q.article], evidence_of[q.article]
        candidates = rank(q.question, texts)[:CANDIDATES]
        for row in candidates:
            if row == q.gold:
                continue
            if q.gold is not None and any(a in texts[row] for a in q.answers):
                continue  # the answer also appears here: neither clearly right nor wrong
            yield Pair(q.question, evidence[row], 0.0, f"{source}:answerability")
        if q.gold is not None:
            yield Pair(q.question, evidence[q.gold], 1.0, f"{source}:answerability")
            yield from _claims(q, texts[q.gold], evidence[q.gold], evidence, candidates, rng, source)
        else:
            yield from _plausible_claims(q, texts, evidence, candidates, source)


def _claims(q: Question, sentence: str, evidence: str, all_evidence: list[str],
            candidates: list[int], rng: random.Random, source: str) -> Iterator[Pair]:
    answer = q.answers[0]
    task = f"{source}:claim"
    yield Pair(judge_query(q.question, answer), evidence, 1.0, task)
    yield Pair(judge_query(q.question, sentence), evidence, 1.0, task)
    wrong = _phrases(sentence, q.answers)
    if wrong:
        phrase = rng.choice(wrong)
        yield Pair(judge_query(q.question, phrase), evidence, 0.0, task)
        if answer in sentence:
            yield Pair(judge_query(q.question, sentence.replace(answer, phrase, 1)), evidence, 0.0, task)
    others = [r for r in candidates if r != q.gold and not any(a in all_evidence[r] for a in q.answers)]
    if others:
        yield Pair(judge_query(q.question, answer), all_evidence[others[0]], 0.0, task)


def _plausible_claims(q: Question, texts: list[str], evidence: list[str], candidates: list[int],
                      source: str) -> Iterator[Pair]:
    """An unanswerable question's tempting span, claimed as its answer, is never supported."""
    for phrase in q.plausible[:1]:
        rows = [r for r in candidates if phrase in texts[r]] or [r for r, t in enumerate(texts) if phrase in t][:1]
        for row in rows[:1]:
            yield Pair(q.question, evidence[row], 0.0, f"{source}:answerability")
            yield Pair(judge_query(q.question, phrase), evidence[row], 0.0, f"{source}:claim")
            yield Pair(judge_query(q.question, texts[row]), evidence[row], 0.0, f"{source}:claim")


_SNLI_SPACING = [(" n't", "n't"), (" 's", "'s"), (" .", "."), (" ,", ","), (" !", "!"), (" ?", "?")]


def snli_pairs(path: Path, limit: int, rng: random.Random) -> Iterator[Pair]:
    """SNLI hypotheses as bare claims: supported when entailed by the premise."""
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    rng.shuffle(rows)
    for row in rows[:limit]:
        premise, hypothesis = row["premise"], row["hypothesis"]
        for old, new in _SNLI_SPACING:
            premise, hypothesis = premise.replace(old, new), hypothesis.replace(old, new)
        yield Pair(judge_query("", hypothesis), evidence_text(premise, "", ""),
                   1.0 if row["label"] == "entailment" else 0.0, "snli:claim")
