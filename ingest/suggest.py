"""Candidate questions for the chat's example buttons, derived from titles and headings.

Pure functions: the ingest stores the candidates in the manifest (``suggestions``); the
qa stage shows only those the source answers (see ``qa/suggest.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.types import CleanDocument

SUGGESTIONS_VERSION = "2"  # 2: each candidate records the section it comes from
MAX_SUGGESTIONS = 12

# A section heading (lower case) -> the question it suggests about its subject.
SECTION_QUESTIONS = {
    "treatment": "How is {} treated?",
    "treatments": "How is {} treated?",
    "management": "How is {} treated?",
    "therapy": "How is {} treated?",
    "causes": "What causes {}?",
    "cause": "What causes {}?",
    "etiology": "What causes {}?",
    "aetiology": "What causes {}?",
    "signs and symptoms": "What are the symptoms of {}?",
    "symptoms": "What are the symptoms of {}?",
    "signs": "What are the symptoms of {}?",
    "symptoms and signs": "What are the symptoms of {}?",
    "clinical features": "What are the symptoms of {}?",
    "presentation": "What are the symptoms of {}?",
    "diagnosis": "How is {} diagnosed?",
    "prevention": "How can {} be prevented?",
    "prognosis": "What is the prognosis of {}?",
    "complications": "What are the complications of {}?",
    "risk factors": "What are the risk factors for {}?",
    "classification": "What are the types of {}?",
    "types": "What are the types of {}?",
}
# Headings that list kinds of their subject: each subsection names one kind.
KIND_SECTIONS = {"classification", "types", "subtypes", "forms", "kinds", "variants"}
# Headings that hold no subject of their own (apparatus, lists of links).
NOT_SUBJECTS = {
    "gallery", "see also", "notes", "references", "sources", "bibliography", "further reading",
    "external links", "overview", "description", "history", "etymology", "terminology",
    "research", "other animals", "society and culture", "epidemiology", "mechanism",
    "pathophysiology", "pathogenesis", "genetics", "differential diagnosis", "screening",
    "outcomes", "uses", "medical uses", "adverse effects", "side effects",
    "contraindications", "pharmacology", "introduction", "summary", "contents",
} | set(SECTION_QUESTIONS) | KIND_SECTIONS
_PHRASE = re.compile(r"[^\W\d_][^\W\d_'’ -]*(?:['’ -][^\W\d_]+)*")


def subject(phrase: str, text: str = "") -> str:
    """A heading or title as the subject of a question: a word is lower-cased unless it is
    an acronym or mixed case, or ``text`` writes it capitalised after a lower-case word and
    never in lower case (a name).

    >>> subject("Calcinosis Cutis"), subject("HIV infection"), subject("McArdle Disease")
    ('calcinosis cutis', 'HIV infection', 'McArdle disease')
    >>> subject("Parkinson's Disease", "Tremor in Parkinson's disease; the disease ...")
    "Parkinson's disease"
    """
    words = []
    for word in phrase.split():
        lower = word.lower()
        name = (text and word != lower and re.search(rf"(?<!\w)[a-z]+[,;]? {re.escape(word)}(?!\w)", text)
                and not re.search(rf"(?<!\w){re.escape(lower)}(?!\w)", text))
        words.append(word if word[1:] != word[1:].lower() or name else lower)
    return " ".join(words)


def _wordy(phrase: str) -> bool:
    """Whether a title or heading reads as a subject: one to eight words, letters only.

    >>> _wordy("Metastatic calcinosis cutis"), _wordy("notes_2021"), _wordy("Gallery 3")
    (True, False, False)
    """
    return bool(_PHRASE.fullmatch(phrase.strip())) and 1 <= len(phrase.split()) <= 8


def question_for(path: tuple[str, ...], title: str, text: str = "") -> str | None:
    """The question a section's heading path suggests, or None.

    ``path`` is a heading path from the top (``Section.path``); a heading such as
    "Treatment" asks about the nearest heading above it that names a subject, else the
    title; a subsection of "Classification" or one that shares a word with its subject
    names a kind; a heading written as a question is asked as it is.

    >>> title = "Calcinosis Cutis"
    >>> [question_for(p, title) for p in [(title,), ("Treatment",), ("Calcinosis cutis", "Causes"),
    ...     ("Classification", "Metastatic calcinosis cutis"), ("Diagnosis",), ("See also",)]]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['What is calcinosis cutis?', 'How is calcinosis cutis treated?', 'What causes calcinosis cutis?',
     'What is metastatic calcinosis cutis?', 'How is calcinosis cutis diagnosed?', None]
    >>> question_for(("Why do deposits form?",), title)
    'Why do deposits form?'
    """
    heading = path[-1].strip() if path else title
    if heading.endswith("?") and 2 <= len(heading.split()) <= 15:
        return heading
    names = [title, *path[:-1]] if path and path != (title,) else []
    above = next((n for n in reversed(names) if n.strip().lower() not in NOT_SUBJECTS and _wordy(n)), None)
    key = heading.lower()
    if path == (title,) or not path:
        return f"What is {subject(title, text)}?" if _wordy(title) else None
    if key in SECTION_QUESTIONS:
        return SECTION_QUESTIONS[key].format(subject(above, text)) if above else None
    if key in NOT_SUBJECTS or not _wordy(heading):
        return None
    parent = path[-2].strip().lower() if len(path) > 1 else ""
    shared = above and {w.lower() for w in heading.split() if len(w) > 3} & {
        w.lower() for w in above.split() if len(w) > 3}
    if parent in KIND_SECTIONS or shared:
        return f"What is {subject(heading, text)}?"
    return None


def document_questions(document: CleanDocument) -> list[str]:
    """A document's candidates: what its title is, then what its sections ask (in order),
    then the kinds its subsections name."""
    return [question for question, _ in document_suggestions(document)]


def document_suggestions(document: CleanDocument) -> list[tuple[str, str]]:
    """:func:`document_questions`, each with the heading path of the section it was
    derived from (an answer to it must come from there)."""
    found = [(question_for(s.path, document.title, document.text), s.heading) for s in document.sections]
    about_title = f"What is {subject(document.title, document.text)}?"
    kinds = [(q, h) for q, h in found if q and q.startswith("What is ") and q != about_title]
    rest = [(q, h) for q, h in found if q and (q, h) not in kinds]
    first: dict[str, tuple[str, str]] = {}
    for question, heading in [*rest, *kinds]:
        first.setdefault(question, (question, heading))
    return list(first.values())


def suggest_questions(documents: Iterable[CleanDocument], limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``limit`` candidate questions, taken in turn from each document so that
    several documents are represented.

    >>> interleave([["a1", "a2", "a3"], ["b1"]], 3)
    ['a1', 'b1', 'a2']
    """
    return interleave([document_questions(d) for d in documents], limit)


def suggestion_fields(documents: Iterable[CleanDocument], limit: int = MAX_SUGGESTIONS) -> dict:
    """The manifest's ``suggestions`` (:func:`suggest_questions`) and ``suggestion_origins``:
    for each, the document and the section it was derived from, ``[source, heading path]``."""
    documents = list(documents)
    questions = suggest_questions(documents, limit)
    origins: dict[str, list[str]] = {}
    for document in documents:
        for question, heading in document_suggestions(document):
            origins.setdefault(question, [document.source, heading])
    return {"suggestions": questions, "suggestion_origins": [origins[q] for q in questions]}


def interleave(lists: list[list[str]], limit: int) -> list[str]:
    out: list[str] = []
    for row in range(max((len(x) for x in lists), default=0)):
        for items in lists:
            if row < len(items) and items[row] not in out:
                out.append(items[row])
    return out[:limit]
