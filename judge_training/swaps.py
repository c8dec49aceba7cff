"""Unanswerable near misses made from answerable questions, as SQuAD 2.0's crowd made
them by hand: one name or number the question shares with its answer sentence is
swapped for another of the same kind from the same document ("When did the Normans
conquer Sicily?" -> "... conquer Apulia?"), or a year is moved. The sentence that
answered the original still names everything else, so it is exactly the tempting
near miss the product must decline.

>>> import random
>>> swap("When did Rollo meet Charles in 911?", "Rollo met Charles in 911 at Epte.",
...      ["Richard ruled Normandy.", "In 1066 William landed."], random.Random(1))
'When did William meet Charles in 911?'
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

_PHRASE = re.compile(r"\b(?:[A-Z][\w'-]+(?:\s+(?:of|the|de|von|and)?\s*[A-Z][\w'-]+)*|\d{4}|\d+(?:[.,]\d+)?)\b")
_QUESTION_WORDS = {"What", "When", "Where", "Which", "Who", "Whom", "Whose", "Why", "How", "In", "On", "At",
                   "The", "A", "An", "Is", "Are", "Was", "Were", "Do", "Does", "Did", "For", "By", "To", "Of"}


def _phrases(text: str) -> list[str]:
    out = []
    for match in _PHRASE.finditer(text):
        phrase = match.group(0)
        if phrase.split()[0] in _QUESTION_WORDS:
            phrase = " ".join(phrase.split()[1:])
        if phrase:
            out.append(phrase)
    return list(dict.fromkeys(out))


def _kind(phrase: str) -> str:
    if re.fullmatch(r"\d{4}", phrase):
        return "year"
    if re.fullmatch(r"\d+(?:[.,]\d+)?", phrase):
        return "number"
    return "name"


def swap(question: str, sentence: str, others: Sequence[str], rng: random.Random) -> str | None:
    """``question`` with one phrase it shares with ``sentence`` replaced by another of the
    same kind that ``sentence`` does not contain (a name from ``others``, or a year moved
    by 2 to 30 years); None when it has no such phrase."""
    shared = [p for p in _phrases(question) if p in sentence]
    if not shared:
        return None
    target = rng.choice(shared)
    kind = _kind(target)
    if kind == "year":
        replacement = str(int(target) + rng.choice([-1, 1]) * rng.randint(2, 30))
    else:
        pool = [p for text in others for p in _phrases(text)
                if _kind(p) == kind and p not in sentence and p not in question
                and len(p.split()) <= len(target.split()) + 1]
        if not pool:
            return None
        replacement = rng.choice(sorted(set(pool)))
    if replacement in sentence:
        return None
    return re.sub(rf"\b{re.escape(target)}\b", replacement, question, count=1)
