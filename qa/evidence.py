"""Pre-rank the sentences of the retrieved passages, cheaply, for the judge.

Every sentence is scored by the question's meaning (embedder cosine against the
sentence read with its heading path) and by how much of the question's wording it
covers (IDF-weighted, heading path included). The judge (:mod:`judge`) then reads
the best few and decides; these scores never decide whether to answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.index import Index
from core.text import stem, tokenize

from .thresholds import DENSE_WEIGHT

# Everyday words of questions that carry no topic ("what actually happens to people
# who get ..."): a source need not contain them to answer.
QUESTION_FILLER = {stem(w) for w in ["actually", "really", "exactly", "something", "someone", "somebody", "anyone", "anything", "everything", "lot", "lots", "many", "much", "people", "person", "persons", "get", "gets", "getting", "got", "go", "goes", "going", "tend", "tends", "turn", "turns", "show", "shows", "come", "comes", "came", "make", "makes", "thing", "things", "way", "ways", "sort", "sorts", "usually", "typically", "generally", "mainly", "mostly", "commonly", "normally", "often", "body", "part", "parts", "example", "examples", "give", "gives", "given", "list", "listed", "mention", "mentioned", "article", "text", "source", "say", "says", "tell", "know", "known", "happen", "happens", "look", "looks", "like", "able", "possible", "likely", "kind", "kinds", "type", "types", "called", "call", "mean", "means", "would", "could", "can", "will", "does", "did", "doing"]}


def question_terms(question: str) -> list[str]:
    """The question's topic words, in order, without everyday filler.

    >>> question_terms("Who usually gets tumoral calcinosis?")
    ['tumoral', 'calcinosi']
    """
    return [t for t in dict.fromkeys(tokenize(question)) if t not in QUESTION_FILLER]


@dataclass(frozen=True)
class Evidence:
    row: int  # sentence row in the index
    text: str
    section: str
    score: float
    dense: float
    lexical: float


def lexical_coverage(question_tokens: list[str], text_tokens: set[str],
                     idf: Callable[[str], float]) -> float:
    """IDF-weighted share of question words present in the text.

    >>> lexical_coverage(["renal", "failure"], {"renal"}, {"renal": 1.0, "failure": 3.0}.get)
    0.25
    """
    if not question_tokens:
        return 0.0
    total = sum(idf(t) for t in question_tokens)
    hit = sum(idf(t) for t in question_tokens if t in text_tokens)
    return hit / total if total else 0.0


def score_sentences(index: Index, rows: list[int], question: str,
                    question_vector: np.ndarray) -> list[Evidence]:
    """Score candidate sentence rows, best first."""
    if not rows:
        return []
    tokens = question_terms(question)
    dense = index.sentence_vectors[rows] @ question_vector
    scored = []
    for row, cosine in zip(rows, dense):
        sentence = index.sentences[row]
        section = index.chunks[sentence.chunk].section
        text = index.sentence_text(sentence)
        lexical = lexical_coverage(tokens, set(tokenize(text)) | set(tokenize(section)),
                                   index.idf)
        score = DENSE_WEIGHT * float(cosine) + (1 - DENSE_WEIGHT) * lexical
        scored.append(Evidence(row, text, section, score, float(cosine), lexical))
    return sorted(scored, key=lambda e: (-e.score, e.row))
