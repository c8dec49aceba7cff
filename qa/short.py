"""The short answer: the phrase the judge's span head picks inside the best sentence,
for a question that asks for one (who, when, where, which, how many...). It is shown in
bold inside its cited sentence and returned as ``Answer.short``; a question that asks
why, how something works, or yes or no, gets none: its answer is the sentence.

>>> asks_for_phrase("Who usually gets tumoral calcinosis?"), asks_for_phrase("Why does it form?")
(True, False)
>>> asks_for_phrase("Is it painful?"), asks_for_phrase("How many types are there?")
(False, True)
"""

from __future__ import annotations

import re

from .thresholds import MAX_SHORT_WORDS

_NO_PHRASE = re.compile(r"^\s*(?:why\b|how\s+(?:do|does|did|is|are|was|were|can|could|should|would)\b|"
                        r"(?:is|are|was|were|do|does|did|can|could|should|would|will|has|have|had)\b|"
                        r"(?:explain|describe|tell)\b)", re.IGNORECASE)


def asks_for_phrase(question: str) -> bool:
    """Whether a question asks for a phrase rather than an explanation or a yes/no."""
    return not _NO_PHRASE.match(question)


def short_answer(question: str, judged, candidate) -> str:
    """The short phrase of the best judged sentence (``judged.short`` holds its
    characters in ``judged.text``), when the question asks for one, it lies inside the
    quote the answer cites, and it is shorter than the sentence; else ""."""
    if judged.short is None or not asks_for_phrase(question):
        return ""
    start, end = judged.short
    phrase = judged.text[start:end].strip(" ,;:.")
    if not phrase or len(phrase.split()) > MAX_SHORT_WORDS or phrase == judged.text.strip(" .") \
            or phrase not in candidate.quote:
        return ""
    return phrase
