"""What a question asks for: validation, instruction detection, the kind of answer it needs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


class InvalidQuestion(ValueError):
    """The question cannot be asked (empty, too long, not text)."""


_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instruction|rule|prompt|above|previous)s?\b"
    r"|^\s*(?:system|assistant|developer)\s*:|\byou are now\b|\bfrom now on\b|\bpretend (?:to be|you)\b"
    r"|\bnew instructions?\b|\b(?:just |only )?(?:say|reply|respond|answer) (?:with |only )?['\"]",
    re.IGNORECASE | re.MULTILINE,
)

# Each kind of specific answer, the words that ask for it, and what an answer of
# that kind must contain. A true sentence about something else is not an answer.
_NUMBER = r"\b\d+(?:[.,]\d+)?\b"
ANSWER_KINDS: dict[str, tuple[re.Pattern, re.Pattern]] = {
    "dose": (re.compile(r"\b(?:dose|doses|dosage|dosing|how much|milligrams?|mg)\b", re.IGNORECASE),
             re.compile(_NUMBER + r"\s*(?:mg|g|mcg|µg|ml|mL|units?|iu|mg/kg|mmol)\b", re.IGNORECASE)),
    "duration": (re.compile(r"\b(?:how long|duration|how many (?:days|weeks|months|years))\b", re.IGNORECASE),
                 re.compile(r"\b(?:\d+|one|two|three|four|five|six|several)\s*(?:hours?|days?|weeks?|months?|years?)\b", re.IGNORECASE)),
    "statistic": (re.compile(r"\b(?:percent|percentage|%|proportion|prevalence|incidence|rate|rates|"
                             r"statistics?|how many (?:people|patients|cases)|odds|likelihood|chance)\b", re.IGNORECASE),
                  re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|percent|per\b|in \d)|\bone in\b", re.IGNORECASE)),
    "year": (re.compile(r"\b(?:what|which) year\b|\bwhen (?:was|were|did)\b|\bdate\b|\bcentury\b", re.IGNORECASE),
             re.compile(r"\b(?:1[5-9]|20)\d{2}s?\b|\bcentury\b", re.IGNORECASE)),
    "gene": (re.compile(r"\b(?:genes?|genetic|mutations?|inherit\w*|chromosomes?)\b", re.IGNORECASE),
             re.compile(r"\b(?:[A-Z][A-Z0-9]{2,}\d+[A-Z]?|gene|genes|mutation|mutations)\b")),
    "person": (re.compile(r"\bwho (?:first |originally )?(?:discovered|described|named|reported|wrote|coined|identified)\b"
                          r"|\bauthors?\b|\bnamed after\b", re.IGNORECASE),
               re.compile(r"\bet al\b|\b(?:described|discovered|named|reported) by [A-Z]")),
    "comparison": (re.compile(r"\b(?:better|worse|more effective|less effective|superior|inferior|"
                              r"compared (?:to|with)|versus|vs\.?|than)\b", re.IGNORECASE),
                   re.compile(r"\b(?:better|worse|more effective|less effective|superior|inferior|than)\b", re.IGNORECASE)),
    "outcome": (re.compile(r"\b(?:survival|mortality|cure rate|life expectancy|die|fatal|prognosis)\b", re.IGNORECASE),
                re.compile(r"\b(?:survival|mortality|fatal|die|dies|prognosis|life expectancy)\b", re.IGNORECASE)),
}


@dataclass(frozen=True)
class QuestionInfo:
    text: str  # the normalised question
    kinds: tuple[str, ...]  # specific kinds of answer it asks for
    instruction: bool  # it tries to instruct the system


# Terminal escape sequences (colour codes, OSC titles): pasted from a terminal, never meant.
_TERMINAL_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def normalise(question: object, max_chars: int) -> str:
    """Validate and normalise a question; raises InvalidQuestion with a reason.

    >>> normalise("  What\\x00 is it?\\n", 100)
    'What is it?'
    >>> normalise("What is \\x1b[31mit\\x1b[0m?", 100)
    'What is it ?'
    """
    if not isinstance(question, str):
        raise InvalidQuestion(f"question must be text, got {type(question).__name__}")
    if len(question) > max_chars * 4:
        raise InvalidQuestion(f"question is too long ({len(question)} characters; limit {max_chars})")
    question = _TERMINAL_ESCAPE.sub(" ", question)
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in question)
    text = unicodedata.normalize("NFKC", re.sub(r"\s+", " ", text)).strip()
    if not text:
        raise InvalidQuestion("question is empty")
    if len(text) > max_chars:
        raise InvalidQuestion(f"question is too long ({len(text)} characters; limit {max_chars})")
    if not re.search(r"\w", text):
        raise InvalidQuestion("question has no words")
    return text


def analyse(text: str) -> QuestionInfo:
    kinds = tuple(kind for kind, (asks, _) in ANSWER_KINDS.items() if asks.search(text))
    return QuestionInfo(text, kinds, bool(_INSTRUCTION.search(text)))


def satisfies(kinds: tuple[str, ...], text: str) -> bool:
    """Whether ``text`` contains an answer of every kind the question asks for.

    >>> satisfies(("dose",), "Diltiazem is given at 240 mg daily.")
    True
    >>> satisfies(("dose",), "Diltiazem is a calcium channel blocker.")
    False
    """
    return all(ANSWER_KINDS[kind][1].search(text) for kind in kinds)
