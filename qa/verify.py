"""Sentence-level verification: is this sentence supported by one source span?

A sentence is supported by a span (one source sentence, or two adjacent ones) when
all of these hold:

* it does not speak in the first or second person ("I", "you") unless the span does;
* every number in the sentence appears in the span;
* every content word appears in the span or its heading path (after light stemming
  and a small table of general-English synonyms);
* negation agrees: a word negated on one side is not asserted on the other;
* the words keep the span's order (a reordering can invert who does what);
* the embedder finds sentence and span close in meaning.

These tests are independent of the model that wrote the sentence, which is what
makes the guarantee hold for a 135M model and a 70B one alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ingest.keyword import stem, tokenize

# Words an answer may use without the source using them: they carry no claim.
_GENERIC = {stem(w) for w in ["also", "call", "called", "known", "include", "includes", "including", "type", "types", "kind", "kinds", "form", "forms", "condition", "conditions", "according", "source", "article", "text", "mention", "mentions", "describe", "described", "say", "says", "state", "states", "refer", "refers", "answer"]}

# General-English synonyms; a word is covered when any word of its group is in the span.
_SYNONYM_GROUPS = [
    "common frequent prevalent", "cause causes reason reasons", "teen teens teenager teenagers adolescent adolescents",
    "kidney renal", "child children kid kids", "treat treated treatment treatments therapy manage management",
    "linked associated related connected", "usually typically often", "found seen located occur occurs appear appears",
    "doctor physician", "lump lumps nodule nodules", "deposit deposits buildup accumulation",
]
_SYNONYMS: dict[str, set[str]] = {}
for _group in _SYNONYM_GROUPS:
    _stems = {stem(w) for w in _group.split()}
    for _s in _stems:
        _SYNONYMS.setdefault(_s, set()).update(_stems)

_NEGATIONS = {"not", "no", "never", "without", "none", "neither", "nor", "cannot", "absence", "absent"}
MIN_COSINE = 0.45
MIN_ORDER = 0.6


@dataclass(frozen=True)
class Verdict:
    supported: bool
    reason: str
    cosine: float = 0.0
    coverage: float = 0.0


def numbers(text: str) -> set[str]:
    """Numbers written in digits, normalised.

    >>> sorted(numbers("from 1 mm to 2.5 cm, 1,000 cases"))
    ['1', '1000', '2.5']
    """
    return {n.replace(",", "") for n in re.findall(r"\d+(?:[.,]\d+)*", text)}


def negated(text: str) -> set[str]:
    """Stems of content words within three words after a negation cue.

    >>> sorted(negated("levels are not normal and there is no pain"))
    ['normal', 'pain']
    """
    words = re.findall(r"[a-z0-9]+(?:'t)?", text.lower())
    found = set()
    for i, word in enumerate(words):
        if word in _NEGATIONS or word.endswith("n't"):
            found.update(tokenize(" ".join(words[i + 1:i + 4])))
    return found


def covered(token: str, available: set[str]) -> bool:
    if token in available or token in _GENERIC:
        return True
    if _SYNONYMS.get(token, set()) & available:
        return True
    # "prevalent" / "prevalence": a shared stem of five or more letters.
    return len(token) >= 5 and any(len(a) >= 5 and a[:5] == token[:5] and
                                   abs(len(a) - len(token)) <= 4 for a in available)


def order_ratio(sentence: list[str], span: list[str]) -> float:
    """Share of the sentence's words found in the span in the same order (LCS).

    >>> order_ratio(["a", "b", "c"], ["a", "x", "c", "b"])
    0.6666666666666666
    """
    if not sentence:
        return 1.0
    previous = [0] * (len(span) + 1)
    for word in sentence:
        row = [0]
        for j, other in enumerate(span):
            row.append(previous[j] + 1 if (word == other or other in _SYNONYMS.get(word, ()))
                       else max(previous[j + 1], row[j]))
        previous = row
    return previous[-1] / len(sentence)


# First and second person: an answer speaks for the source, never as itself or to the
# reader, unless the source does (a model obeying an injected instruction says "I ...").
_PERSONAL = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|you|your|yours|yourself)\b", re.IGNORECASE)


def personal_words(text: str) -> set[str]:
    """First- and second-person words in ``text``, lowercased.

    >>> sorted(personal_words("I am now in developer mode, as you asked."))
    ['i', 'you']
    """
    return {word.lower() for word in _PERSONAL.findall(text)}


def check(sentence: str, span: str, heading: str, cosine: float) -> Verdict:
    """Judge one sentence against one span (see the module docstring)."""
    tokens = tokenize(sentence)
    if len(tokens) < 2:
        return Verdict(False, "too short to verify", cosine)
    speaking = personal_words(sentence) - personal_words(span)
    if speaking:
        return Verdict(False, f"speaks in a person the source does not: {', '.join(sorted(speaking))}", cosine)
    missing_numbers = numbers(sentence) - numbers(span)
    if missing_numbers:
        return Verdict(False, f"number not in source: {', '.join(sorted(missing_numbers))}", cosine)
    span_tokens = tokenize(span)
    available = set(span_tokens) | set(tokenize(heading))
    uncovered = [t for t in tokens if not covered(t, available)]
    coverage = 1 - len(uncovered) / len(tokens)
    if uncovered:
        return Verdict(False, f"not in source: {', '.join(uncovered)}", cosine, coverage)
    sentence_negated, span_negated = negated(sentence), negated(span)
    conflict = ({t for t in tokens if t in span_negated} - sentence_negated) | \
               ({t for t in sentence_negated if t in available} - span_negated)
    if conflict:
        return Verdict(False, f"negation differs on: {', '.join(sorted(conflict))}", cosine, coverage)
    span_order = tokenize(heading) + span_tokens
    if order_ratio([t for t in tokens if t not in _GENERIC], span_order) < MIN_ORDER:
        return Verdict(False, "words reordered relative to the source", cosine, coverage)
    if cosine < MIN_COSINE:
        return Verdict(False, f"meaning too far from the source (cosine {cosine:.2f})", cosine, coverage)
    return Verdict(True, "supported", cosine, coverage)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0
