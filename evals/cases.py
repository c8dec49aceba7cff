"""Evaluation cases: one JSON object per line of a ``.jsonl`` file.

Each line holds ``id``, ``question``, ``category``, ``answerable``, ``gold_answer``,
``key_facts`` (a list of facts, each a list of acceptable lowercase phrasings),
``evidence`` (a list of ``{"section", "quote"}`` with ``quote`` an exact substring of
the cleaned document text) and an optional ``note``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CASES = Path(__file__).parent / "data" / "cases.jsonl"

_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "id": str, "question": str, "category": str, "answerable": bool,
    "gold_answer": str, "key_facts": list, "evidence": list,
}


class CaseFileError(ValueError):
    """A cases file cannot be read; the message names every malformed line."""


@dataclass(frozen=True)
class Evidence:
    """A gold passage: an exact quote of the cleaned text and its section heading path."""

    section: str  # heading path as "A > B"
    quote: str


@dataclass(frozen=True)
class EvalCase:
    """One question with what a correct answer must contain and where the proof lies."""

    id: str
    question: str
    category: str
    answerable: bool
    gold_answer: str
    key_facts: tuple[tuple[str, ...], ...]
    evidence: tuple[Evidence, ...]
    note: str = ""


def draft_case(case_id: str, question: str, *, standalone: str, note: str, what_was_wrong: str,
               answer_given: str, abstained: bool, citations_given: list[str]) -> dict[str, Any]:
    """A draft case for a question a reader marked wrong: the fields a curator must fill
    (``answerable`` None, ``gold_answer``, ``key_facts``, ``evidence`` empty) and what went
    wrong. It fails :func:`parse_cases` until a curator completes it.

    >>> draft = draft_case("feedback-1", "why?", standalone="", note="", what_was_wrong="wrong",
    ...                    answer_given="It is X.", abstained=False, citations_given=[])
    >>> draft["answerable"], draft["category"], _line_problems(draft)
    (None, 'feedback', ["field 'answerable' should be bool, got NoneType"])
    """
    return {"id": case_id, "question": question, "standalone": standalone, "category": "feedback",
            "answerable": None, "gold_answer": "", "key_facts": [], "evidence": [], "note": note,
            "what_was_wrong": what_was_wrong, "answer_given": answer_given, "abstained": abstained,
            "citations_given": citations_given}


def _line_problems(data: Any) -> list[str]:
    """What is wrong with one decoded line (empty when it can become an EvalCase).

    >>> _line_problems({"id": "q1"})[0]
    "missing field 'question'"
    """
    if not isinstance(data, dict):
        return [f"expected a JSON object, got {type(data).__name__}"]
    problems = []
    for name, kind in _REQUIRED.items():
        if name not in data:
            problems.append(f"missing field {name!r}")
        elif not isinstance(data[name], kind):
            problems.append(f"field {name!r} should be {kind.__name__}, "
                            f"got {type(data[name]).__name__}")
    if isinstance(data.get("key_facts"), list):
        for index, fact in enumerate(data["key_facts"], start=1):
            if not isinstance(fact, list) or not all(isinstance(p, str) for p in fact):
                problems.append(f"key_facts[{index}] should be a list of strings")
    if isinstance(data.get("evidence"), list):
        for index, item in enumerate(data["evidence"], start=1):
            if not (isinstance(item, dict) and isinstance(item.get("section"), str)
                    and isinstance(item.get("quote"), str)):
                problems.append(f"evidence[{index}] should be an object with string "
                                "'section' and 'quote'")
    if "note" in data and not isinstance(data["note"], str):
        problems.append("field 'note' should be str")
    return problems


def case_from_dict(data: dict[str, Any]) -> EvalCase:
    """Build an :class:`EvalCase` from an already-checked JSON object.

    >>> case_from_dict({"id": "q1", "question": "Q?", "category": "fact", "answerable": True,
    ...     "gold_answer": "A.", "key_facts": [["a"]],
    ...     "evidence": [{"section": "S", "quote": "A"}]}).evidence
    (Evidence(section='S', quote='A'),)
    """
    return EvalCase(
        id=data["id"], question=data["question"], category=data["category"],
        answerable=data["answerable"], gold_answer=data["gold_answer"],
        key_facts=tuple(tuple(fact) for fact in data["key_facts"]),
        evidence=tuple(Evidence(e["section"], e["quote"]) for e in data["evidence"]),
        note=data.get("note", ""),
    )


def parse_cases(text: str, name: str = "<cases>") -> list[EvalCase]:
    """Parse JSONL text; blank lines are skipped.

    Raises :class:`CaseFileError` listing every malformed line as ``name:LINE: problem``.
    """
    cases: list[EvalCase] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            errors.append(f"{name}:{number}: not valid JSON ({error.msg}, column {error.colno})")
            continue
        problems = _line_problems(data)
        if problems:
            errors.extend(f"{name}:{number}: {problem}" for problem in problems)
        else:
            cases.append(case_from_dict(data))
    if errors:
        raise CaseFileError("malformed cases file:\n" + "\n".join(errors))
    return cases


def load_cases(path: Path | str = DEFAULT_CASES) -> list[EvalCase]:
    """Read a cases file; raises :class:`CaseFileError` naming each malformed line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CaseFileError(f"cannot read cases file {path}: {error}") from error
    return parse_cases(text, str(path))
