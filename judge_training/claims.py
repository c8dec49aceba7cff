"""Claim-check pairs: a generated sentence, read as the answer to the question, against
the evidence it cites (``judge_query(question, claim)``). Label 1: the evidence supports
it; 0: it does not.

* From each mined SQuAD question with its gold sentence: the gold answer and the gold
  sentence are supported; another phrase of the sentence, the sentence with its answer
  swapped for that phrase, and the answer against a sentence that does not hold it, are
  not ("Who killed Harold II? Answer: King Harold II of England." is not). A swapped
  question's original sentence, claimed as its answer, is not either.
* SNLI (CC BY-SA 4.0) and FEVER (CC BY-SA 3.0): a bare claim against the very sentence
  it was written from, supported only when entailed.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from judge import evidence_text, judge_query, sentence_part


@dataclass(frozen=True)
class Pair:
    query: str
    evidence: str
    label: float
    source: str


def phrases(sentence: str, avoid: tuple[str, ...]) -> list[str]:
    """Short phrases of a sentence that share no word with ``avoid`` (wrong answers).

    >>> phrases("Rollo swore fealty to Charles in 911.", ("Rollo",))
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


def from_group(group: dict, rng: random.Random) -> Iterator[Pair]:
    """Claim pairs of one mined question (see the module docstring)."""
    if group["source"] == "swap" and group["candidates"]:
        evidence = group["candidates"][0][0]
        yield Pair(judge_query(group["question"], sentence_part(evidence)), evidence, 0.0, "swap")
        return
    if "gold" not in group or not group["answers"]:
        return
    evidence, _, answer = group["gold"]
    sentence = sentence_part(evidence)
    question, source = group["question"], group["source"]
    yield Pair(judge_query(question, answer), evidence, 1.0, source)
    yield Pair(judge_query(question, sentence), evidence, 1.0, source)
    wrong = phrases(sentence, tuple(group["answers"]))
    if wrong:
        phrase = rng.choice(wrong)
        yield Pair(judge_query(question, phrase), evidence, 0.0, source)
        if answer in sentence:
            yield Pair(judge_query(question, sentence.replace(answer, phrase, 1)), evidence, 0.0, source)
    others = [e for e, label in group["candidates"] if label == 0]
    if others:
        yield Pair(judge_query(question, answer), others[0], 0.0, source)


_SPACING = [(" n't", "n't"), (" 's", "'s"), (" .", "."), (" ,", ","), (" !", "!"), (" ?", "?")]
_FEVER = [("-LRB-", "("), ("-RRB-", ")"), ("-LSB-", "["), ("-RSB-", "]"), ("``", '"'), ("''", '"'),
          (" ( ", " ("), (" )", ")"), (" ;", ";"), (" :", ":")]


def _detokenise(text: str, table) -> str:
    for old, new in table:
        text = text.replace(old, new)
    return " ".join(text.split())


def snli(path: Path, limit: int, rng: random.Random) -> list[Pair]:
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    rng.shuffle(rows)
    return [Pair(judge_query("", _detokenise(r["hypothesis"], _SPACING)),
                 evidence_text(_detokenise(r["premise"], _SPACING), "", ""),
                 1.0 if r["label"] == "entailment" else 0.0, "snli") for r in rows[:limit]]


def fever(path: Path, limit: int, rng: random.Random) -> list[Pair]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    rng.shuffle(rows)
    return [Pair(judge_query("", _detokenise(r["claim"], _SPACING + _FEVER)),
                 evidence_text(_detokenise(r["evidence"], _SPACING + _FEVER), "", ""),
                 1.0 if r["label"] == "entailment" else 0.0, "fever") for r in rows[:limit]]
