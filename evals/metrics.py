"""Score one :class:`core.answer.Answer` against one :class:`EvalCase`.

Definitions (``None`` where a metric does not apply to the case):

* retrieval, answerable cases: ``recall_at_k`` is the share of gold evidence quotes whose
  span overlaps one of the k retrieved passages (k = all of them); ``reciprocal_rank``
  is 1/rank of the first passage overlapping any gold quote (0 when none does);
* correctness: ``all_key_facts``/``fact_recall`` by :func:`fact_present`, ``token_f1``
  by :func:`token_f1` (answerable cases); an answerable case is ``correct`` when it is
  answered with every key fact, an unanswerable one when the system abstains;
* citations, judged independently of the system's verifier: ``citation_recall`` is the
  share of answer sentences whose cited quotes pass :func:`support_test` (read with
  their section heading path, so "It grows ..." under "Frost fern" supports
  "Frost fern grows ..."; see :func:`evidence_text`),
  ``citation_precision`` the share of citations that alone support, or are needed to
  support, a sentence citing them (ALCE); ``citation_gold_recall``/``_precision`` are
  the same shares by overlap with the gold evidence spans instead (answerable cases);
* ``faithfulness``: share of answer sentences that one of their cited quotes supports
  by itself (equal to citation recall when each sentence cites one passage).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from core.answer import Answer, Citation
from core.types import Section

from .cases import EvalCase
from .text import (  # noqa: F401
    MARKER,
    MARKER_GROUP,
    SUPPORT_THRESHOLD,
    content_words,
    fact_present,
    marker_free,
    support_test,
    token_f1,
)
from .validate import Span, gold_spans, overlaps

STAGES = ("retrieval", "judge", "generation", "verification", "total")
def answer_sentences(answer: Answer) -> list[tuple[str, tuple[int, ...]]]:
    """(sentence, cited numbers) pairs: ``answer.sentences``, else parsed from the markers.

    Text after the last marker, if it has words, is an uncited sentence.
    """
    if answer.sentences:
        return [(marker_free(text), () if number is None else (int(number),))
                for text, number in answer.sentences]
    pairs, last = [], 0
    for group in MARKER_GROUP.finditer(answer.text):
        piece = answer.text[last:group.start()].lstrip(" .!?;,\n")
        pairs.append((" ".join(piece.split()), tuple(int(n) for n in MARKER.findall(group.group()))))
        last = group.end()
    rest = answer.text[last:].lstrip(" .!?;,\n")
    if re.search(r"[A-Za-z0-9]", rest):
        pairs.append((" ".join(rest.split()), ()))
    return pairs


@dataclass(frozen=True)
class SentenceCheck:
    """How one shown answer sentence fares against the quotes it cites."""

    text: str
    cited: tuple[int, ...]
    supported: bool  # the cited quotes together pass the support test (ALCE recall)
    single_supported: bool  # one cited quote alone passes it (faithfulness)
    coverage: float
    missing_numbers: tuple[str, ...]
    gold_overlap: bool | None  # a cited span overlaps gold evidence (answerable only)


@dataclass(frozen=True)
class CitationCheck:
    number: int
    relevant: bool  # supports a sentence alone, or is needed for one (ALCE precision)
    gold_overlap: bool | None
    offsets_ok: bool | None  # quote == document[start:end]; None when the source is unknown


@dataclass
class CaseScore:
    """Every per-case metric; ``None`` marks a metric that does not apply to the case."""

    answerable: bool
    abstained: bool
    correct: bool
    k: int
    recall_at_k: float | None = None
    reciprocal_rank: float | None = None
    facts_present: list[bool] = field(default_factory=list)
    all_key_facts: bool | None = None
    fact_recall: float | None = None
    token_f1: float | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    citation_gold_recall: float | None = None
    citation_gold_precision: float | None = None
    faithfulness: float | None = None
    latency: dict[str, float | None] = field(default_factory=dict)
    sentences: list[SentenceCheck] = field(default_factory=list)
    citations: list[CitationCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def retrieval_scores(passage_spans: Sequence[Span],
                     gold: Sequence[Sequence[Span]]) -> tuple[float | None, float | None]:
    """(recall@k, reciprocal rank) with k = number of passages; ``None`` without gold.

    >>> retrieval_scores([("d", 0, 10), ("d", 50, 60)], [[("d", 52, 55)], [("d", 90, 95)]])
    (0.5, 0.5)
    """
    if not gold:
        return None, None
    hit = sum(any(overlaps(p, g) for p in passage_spans for g in spans) for spans in gold)
    flat = [g for spans in gold for g in spans]
    rank = next((i for i, p in enumerate(passage_spans, 1) if any(overlaps(p, g) for g in flat)),
                None)
    return hit / len(gold), (1.0 / rank if rank else 0.0)


def _mean(values: Sequence[bool | float]) -> float | None:
    return sum(values) / len(values) if values else None


def evidence_text(citation: Citation) -> str:
    """What the support test reads for a citation: its section heading path and quote.

    >>> evidence_text(Citation(1, "It is rare.", "d.txt", "Calcinosis cutis", 0, 11))
    'Calcinosis cutis: It is rare.'
    """
    return f"{citation.section}: {citation.quote}"


def check_sentences(pairs: Sequence[tuple[str, tuple[int, ...]]], by_number: Mapping[int, Citation],
                    gold: Sequence[Span] | None) -> list[SentenceCheck]:
    """Run the support test (and gold overlap when ``gold`` is given) for each sentence."""
    checks = []
    for text, cited in pairs:
        quotes = [evidence_text(by_number[n]) for n in cited if n in by_number]
        together = support_test(text, " ".join(quotes))
        single = any(support_test(text, q).supported for q in quotes)
        overlap = None
        if gold is not None:
            spans = [(by_number[n].source, by_number[n].start, by_number[n].end)
                     for n in cited if n in by_number]
            overlap = any(overlaps(s, g) for s in spans for g in gold)
        checks.append(SentenceCheck(text, cited, together.supported, single, together.coverage,
                                    together.missing_numbers, overlap))
    return checks


def _relevant(citation: Citation, pairs: Sequence[tuple[str, tuple[int, ...]]],
              by_number: Mapping[int, Citation]) -> bool:
    """ALCE: a citation counts if it alone supports a sentence citing it, or is needed."""
    for text, cited in pairs:
        if citation.number not in cited:
            continue
        if support_test(text, evidence_text(citation)).supported:
            return True
        others = " ".join(evidence_text(by_number[n]) for n in cited
                          if n in by_number and n != citation.number)
        together = " ".join(evidence_text(by_number[n]) for n in cited if n in by_number)
        if support_test(text, together).supported and not support_test(text, others).supported:
            return True
    return False


def check_citations(answer: Answer, pairs: Sequence[tuple[str, tuple[int, ...]]],
                    gold: Sequence[Span] | None,
                    documents: Mapping[str, str]) -> list[CitationCheck]:
    """Relevance, gold overlap and offset integrity of every citation of the answer."""
    by_number = {c.number: c for c in answer.citations}
    checks = []
    for c in answer.citations:
        span = (c.source, c.start, c.end)
        overlap = None if gold is None else any(overlaps(span, g) for g in gold)
        text = documents.get(c.source)
        offsets_ok = None if text is None else text[c.start:c.end] == c.quote
        checks.append(CitationCheck(c.number, _relevant(c, pairs, by_number), overlap, offsets_ok))
    return checks


def score_case(case: EvalCase, answer: Answer, documents: Mapping[str, str],
               sections: Mapping[str, Sequence[Section]] | None = None) -> CaseScore:
    """Every metric of one answer, as defined in the module docstring."""
    gold = gold_spans(case, documents, sections) if case.answerable else []
    flat_gold = [s for spans in gold for s in spans] if case.answerable else None
    text = marker_free(answer.text)
    score = CaseScore(case.answerable, answer.abstained, False, len(answer.passages))
    score.latency = {stage: answer.timings.get(stage) for stage in STAGES}
    if case.answerable:
        spans = [(p.source, p.start, p.end) for p in answer.passages]
        score.recall_at_k, score.reciprocal_rank = retrieval_scores(spans, gold)
        score.facts_present = [fact_present(fact, text) for fact in case.key_facts]
        score.all_key_facts = bool(score.facts_present) and all(score.facts_present)
        score.fact_recall = _mean(score.facts_present)
        score.token_f1 = token_f1(text, case.gold_answer)
        score.correct = not answer.abstained and score.all_key_facts
    else:
        score.correct = answer.abstained
    pairs = [] if answer.abstained else answer_sentences(answer)
    by_number = {c.number: c for c in answer.citations}
    score.sentences = check_sentences(pairs, by_number, flat_gold)
    score.citations = check_citations(answer, pairs, flat_gold, documents)
    if score.sentences:
        score.citation_recall = _mean([s.supported for s in score.sentences])
        score.faithfulness = _mean([s.single_supported for s in score.sentences])
        score.citation_precision = _mean([c.relevant for c in score.citations])
        if case.answerable:
            score.citation_gold_recall = _mean([bool(s.gold_overlap) for s in score.sentences])
            score.citation_gold_precision = _mean([bool(c.gold_overlap)
                                                   for c in score.citations])
    return score
