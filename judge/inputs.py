"""What the judge reads: two texts per pair, in one format for training and answering.

>>> judge_query("Who killed Harold II?", "King Harold II of England.")
'Who killed Harold II? Answer: King Harold II of England.'
>>> evidence_text("It works by modifying calcium levels.", "Treatment", "Diltiazem is used.")
'It works by modifying calcium levels. || Treatment || Diltiazem is used.'
>>> sentence_part(evidence_text("It works.", "Treatment", "Diltiazem is used."))
'It works.'
"""

from __future__ import annotations

CLAIM_MARKER = " Answer: "
SEPARATOR = " || "
# Word pieces of one (query, evidence) pair the judge reads; longer pairs lose the
# evidence's tail first (the sentence before, then the heading path), never the question.
# 128 covers the question and its sentence in 99% of the training pairs (judge/model/README.md);
# set with the judge v2, which was trained at this length.
MAX_TOKENS = 128


def judge_query(question: str, claim: str | None = None) -> str:
    """The first text the judge reads: the question, and the claim when checking one."""
    if not claim:
        return question
    return f"{question}{CLAIM_MARKER}{claim}" if question else CLAIM_MARKER.strip() + " " + claim


def evidence_text(sentence: str, heading: str, previous: str) -> str:
    """The second text: the sentence first (so truncation cuts context, never the
    sentence), then its heading path and the sentence before it, which say what a
    pronoun like "It" refers to."""
    return f"{sentence}{SEPARATOR}{heading}{SEPARATOR}{previous}"


def sentence_part(evidence: str) -> str:
    """The sentence an evidence text is about (what a short answer is taken from)."""
    return evidence.split(SEPARATOR, 1)[0]
