"""Answers of a library's index against the seed-only index's: the same question must get
the same answer (same text, same abstention, same citations) among the distractors."""

from __future__ import annotations


def answer_key(answer: dict) -> tuple:
    """What makes two answers the same: text, abstention and cited (source, start, end)."""
    return (answer.get("text", ""), bool(answer.get("abstained")),
            tuple(tuple(citation) for citation in answer.get("citations", [])))


def _ident(answer: dict) -> str:
    return str(answer.get("id") or answer.get("question"))


WORDED_DIFFERENTLY = "declined, worded differently"
ANSWER_CHANGED = "answer changed"


def kind(reference: dict, other: dict | None) -> str:
    """How an answer compares with the reference's: ``identical``, ``missing``,
    ``abstention changed`` (one answered, the other declined), ``declined, worded
    differently`` (both declined; the wording names other nearest sections) or
    ``answer changed``."""
    if other is None:
        return "missing"
    if answer_key(other) == answer_key(reference):
        return "identical"
    if bool(other.get("abstained")) != bool(reference.get("abstained")):
        return "abstention changed"
    return WORDED_DIFFERENTLY if reference.get("abstained") else ANSWER_CHANGED


def compare(reference: list[dict], answers: list[dict]) -> dict:
    """How many of the reference's questions got an identical answer in ``answers``;
    ``differ`` lists the ids of the others (a question missing there differs too) and
    ``kinds`` counts them by how they differ."""
    found = {_ident(a): a for a in answers}
    kinds = {_ident(a): kind(a, found.get(_ident(a))) for a in reference}
    differ = [ident for ident, how in kinds.items() if how != "identical"]
    counts: dict[str, int] = {}
    for ident in differ:
        counts[kinds[ident]] = counts.get(kinds[ident], 0) + 1
    return {"identical": len(reference) - len(differ), "total": len(reference), "differ": differ,
            "kinds": counts}
