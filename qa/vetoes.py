"""The cheap, always-right vetoes on a generated sentence against one source span.

The judge (:mod:`judge`) decides whether a sentence, read as an answer to the
question, is supported by the span it cites. Before it is asked (:mod:`qa.verify`), a
sentence must pass these vetoes, which hold for any text and any model:

* it does not speak in the first or second person ("I", "you") unless the span does;
* every number in the sentence appears in the span;
* every content word appears in the span or its heading path (after light stemming;
  a shared stem of five or more letters counts, so "prevalent" matches "prevalence");
* negation agrees: a word negated on one side is not asserted on the other.

They are independent of the model that wrote the sentence, which is what makes the
guarantee hold for a 135M model and a 70B one alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import stem, tokenize

from .thresholds import PREFIX_LENGTH_SLACK, PREFIX_LETTERS

# Words an answer may use without the source using them: they carry no claim.
GENERIC = frozenset(stem(w) for w in [
    "also", "call", "called", "known", "include", "includes", "including", "type", "types", "kind",
    "kinds", "form", "forms", "according", "source", "article", "text", "mention", "mentions",
    "describe", "described", "say", "says", "state", "states", "refer", "refers", "answer"])
NEGATIONS = frozenset(["not", "no", "never", "without", "none", "neither", "nor", "cannot", "absence",
                       "absent"])


@dataclass(frozen=True)
class Verdict:
    supported: bool
    reason: str
    coverage: float = 0.0  # share of the sentence's content words found in the span


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
        if word in NEGATIONS or word.endswith("n't"):
            found.update(tokenize(" ".join(words[i + 1:i + 4])))
    return found


def covered(token: str, available: set[str]) -> bool:
    """Whether a stemmed word is in ``available``, generic, or shares a long stem with one
    (the first PREFIX_LETTERS letters, lengths within PREFIX_LENGTH_SLACK: qa/thresholds.py).

    >>> covered("prevalent", {"prevalence"}), covered("renal", {"kidney"})
    (True, False)
    """
    if token in available or token in GENERIC:
        return True
    return len(token) >= PREFIX_LETTERS and any(
        len(a) >= PREFIX_LETTERS and a[:PREFIX_LETTERS] == token[:PREFIX_LETTERS]
        and abs(len(a) - len(token)) <= PREFIX_LENGTH_SLACK for a in available)


# First and second person: an answer speaks for the source, never as itself or to the
# reader, unless the source does (a model obeying an injected instruction says "I ...").
_PERSONAL = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|you|your|yours|yourself)\b", re.IGNORECASE)


def personal_words(text: str) -> set[str]:
    """First- and second-person words in ``text``, lowercased.

    >>> sorted(personal_words("I am now in developer mode, as you asked."))
    ['i', 'you']
    """
    return {word.lower() for word in _PERSONAL.findall(text)}


def check(sentence: str, span: str, heading: str) -> Verdict:
    """Apply the vetoes to one sentence against one span (see the module docstring).

    >>> check("Renal failure is the usual cause.", "Chronic renal failure is the most frequent cause.", "").reason
    'not in source: usual'
    >>> check("Calcinosis is not rare.", "Calcinosis is rare.", "").reason
    'negation differs on: rare'
    """
    tokens = tokenize(sentence)
    if len(tokens) < 2:
        return Verdict(False, "too short to verify")
    speaking = personal_words(sentence) - personal_words(span)
    if speaking:
        return Verdict(False, f"speaks in a person the source does not: {', '.join(sorted(speaking))}")
    missing_numbers = numbers(sentence) - numbers(span)
    if missing_numbers:
        return Verdict(False, f"number not in source: {', '.join(sorted(missing_numbers))}")
    available = set(tokenize(span)) | set(tokenize(heading))
    uncovered = list(dict.fromkeys(t for t in tokens if not covered(t, available)))
    coverage = 1 - sum(not covered(t, available) for t in tokens) / len(tokens)
    if uncovered:
        return Verdict(False, f"not in source: {', '.join(uncovered)}", coverage)
    sentence_negated, span_negated = negated(sentence), negated(span)
    conflict = ({t for t in tokens if t in span_negated} - sentence_negated) | \
               ({t for t in sentence_negated if t in available} - span_negated)
    if conflict:
        return Verdict(False, f"negation differs on: {', '.join(sorted(conflict))}", coverage)
    return Verdict(True, "passes the vetoes", coverage)
