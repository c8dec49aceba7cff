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
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from core.answer import Answer, Citation
from core.types import Section

from .cases import EvalCase
from .validate import Span, gold_spans, overlaps

STAGES = ("retrieval", "judge", "generation", "verification", "total")
SUPPORT_THRESHOLD = 0.7
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
may me might more most must my myself of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up upon us very was we were what when where which
while who whom whose why will with would you your yours yourself yourselves often usually
typically called known one ones
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_MARKER = re.compile(r"\s*\[(\d+)\]")
_MARKER_GROUP = re.compile(r"(?:\s*\[\d+\])+")


def marker_free(text: str) -> str:
    """The answer text without citation markers, white space collapsed.

    >>> marker_free("It is rare [1].  It heals [2][3].")
    'It is rare. It heals.'
    """
    return " ".join(_MARKER.sub("", text).split())


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize_answer("The  Calcium-channel blocker!")
    'calciumchannel blocker'
    """
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 after :func:`normalize_answer`.

    >>> round(token_f1("diltiazem was used", "diltiazem is used"), 3)
    0.667
    """
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def fact_present(phrasings: Sequence[str], text: str) -> bool:
    """A key fact is present if any phrasing is a case-insensitive substring of the text.

    >>> fact_present(["calcium channel blocker", "diltiazem"], "Diltiazem helps.")
    True
    """
    haystack = " ".join(text.lower().split())
    return any(p.strip() and " ".join(p.lower().split()) in haystack for p in phrasings)


def content_words(text: str) -> list[str]:
    """Lower-cased alphanumeric words minus stopwords, plural 's' stripped.

    >>> content_words("The lesions are on the hands, in 12 cases.")
    ['lesion', 'hand', '12', 'case']
    """
    words = []
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word.isalpha():
            word = word[:-1]
        words.append(word)
    return words


@dataclass(frozen=True)
class Support:
    supported: bool
    coverage: float  # share of the sentence's distinct content words found in the quote
    missing_numbers: tuple[str, ...]


def support_test(sentence: str, quote: str, threshold: float = SUPPORT_THRESHOLD) -> Support:
    """Lexical support: >= ``threshold`` of content words in the quote, every number too.

    >>> support_test("Lesions appear in 12 patients.", "lesions appeared in 12 patients")
    Support(supported=True, coverage=0.75, missing_numbers=())
    >>> support_test("Lesions appear in 21 patients.", "lesions appear in 12 patients").supported
    False
    """
    words = list(dict.fromkeys(content_words(marker_free(sentence))))
    found = set(content_words(quote))
    if not words:
        return Support(True, 1.0, ())
    coverage = sum(w in found for w in words) / len(words)
    missing = tuple(w for w in words if any(ch.isdigit() for ch in w) and w not in found)
    return Support(coverage >= threshold and not missing, coverage, missing)


def answer_sentences(answer: Answer) -> list[tuple[str, tuple[int, ...]]]:
    """(sentence, cited numbers) pairs: ``answer.sentences``, else parsed from the markers.

    Text after the last marker, if it has words, is an uncited sentence.
    """
    if answer.sentences:
        return [(marker_free(text), () if number is None else (int(number),))
                for text, number in answer.sentences]
    pairs, last = [], 0
    for group in _MARKER_GROUP.finditer(answer.text):
        piece = answer.text[last:group.start()].lstrip(" .!?;,\n")
        pairs.append((" ".join(piece.split()), tuple(int(n) for n in _MARKER.findall(group.group()))))
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
