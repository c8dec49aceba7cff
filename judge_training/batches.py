"""Training examples: one question group (its candidates and a "no answer" option) and
claim pairs, tokenised into batches of similar length.

A group of an answerable question gives two examples from one forward pass: the question
over [gold, hardest negatives] (the answer mass belongs on the gold) and its
unanswerable twin, the same question over the negatives alone (the mass belongs on "no
answer"), as if the sentence holding the answer had been taken out of the document.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from judge import MAX_TOKENS

CANDIDATES = 6  # pairs per question in training: the gold and the hardest negatives first
MAX_SPAN_TOKENS = 30


@dataclass(frozen=True)
class Example:
    question: str
    evidences: tuple[str, ...]
    positives: tuple[int, ...]  # rows of evidences that answer; () = the document does not
    twin: bool  # also learn "no answer" over the rows that are not positives
    weight: float
    span: tuple[int, int] | None  # characters of the answer in evidences[positives[0]]
    source: str


def example(group: dict, candidates: int = CANDIDATES) -> Example | None:
    """A question group as an Example: positives first, then negatives best-ranked first."""
    negatives = [e for e, label in group["candidates"] if label == 0]
    positives = [e for e, label in group["candidates"] if label == 1][:2]
    span = None
    if "gold" in group:
        gold, offset, answer = group["gold"]
        if gold not in positives:
            positives = [gold, *positives][:2]
        elif positives[0] != gold:
            positives = [gold, *[p for p in positives if p != gold]][:2]
        if offset >= 0 and answer:
            span = (offset, offset + len(answer.rstrip(" .,;")))
    evidences = (positives + negatives)[:candidates]
    if not evidences:
        return None
    rows = tuple(range(len(positives)))
    return Example(group["question"], tuple(evidences), rows, bool(rows) and len(evidences) > len(rows),
                   float(group.get("weight", 1.0)), span, group["source"])


def length(example: Example) -> int:
    return len(example.question) + max(len(e) for e in example.evidences)


def steps(examples: list, per_step: int, rng: random.Random, bucket_steps: int = 50) -> list[list]:
    """Examples in steps of ``per_step``, each step of similar lengths (less padding):
    shuffled, cut into pools of ``bucket_steps`` steps, sorted by length within a pool,
    and the steps shuffled again."""
    order = list(examples)
    rng.shuffle(order)
    out = []
    pool = per_step * bucket_steps
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin:begin + pool], key=lambda e: length(e) if isinstance(e, Example) else
                       len(e.query) + len(e.evidence))
        out += [chunk[i:i + per_step] for i in range(0, len(chunk), per_step)]
    rng.shuffle(out)
    return out


def encode(tokenizer, queries: list[str], evidences: list[str], max_tokens: int = MAX_TOKENS):
    """Tokenise pairs as answering does (longest_first truncation), with character offsets."""
    # Lengths padded to a multiple of 16: fewer distinct shapes, so the CPU's kernels are
    # prepared once per shape and reused.
    return tokenizer(queries, evidences, padding=True, truncation="longest_first", max_length=max_tokens,
                     pad_to_multiple_of=16, return_tensors="pt", return_offsets_mapping=True)


def span_tokens(encoding, row: int, span: tuple[int, int]) -> tuple[int, int] | None:
    """Token positions of a character span of the second text of pair ``row``, or None
    when truncation cut it off or it is longer than MAX_SPAN_TOKENS."""
    sequence = encoding.sequence_ids(row)
    offsets = encoding["offset_mapping"][row].tolist()
    start = end = None
    for position, (which, (a, b)) in enumerate(zip(sequence, offsets)):
        if which != 1 or b <= a:
            continue
        if start is None and b > span[0]:
            start = position
        if a < span[1]:
            end = position
    if start is None or end is None or end < start or end - start >= MAX_SPAN_TOKENS:
        return None
    return start, end
