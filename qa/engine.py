"""The answering engine: retrieve, let the judge choose the evidence or decline,
generate, verify every sentence, and compose an answer that keeps each sentence's meaning.

Every decision to answer or decline is the judge's (:mod:`qa.judge`), at thresholds
calibrated for it (:mod:`qa.thresholds`); the cheap pre-ranking in :mod:`qa.evidence`
only chooses which sentences the judge reads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from collections.abc import Generator as PyGenerator
from dataclasses import dataclass, field, replace

from core.answer import Answer, Citation, DroppedSentence, Passage, VerifiedSentence
from core.embedding import Embedder
from core.index import Index
from core.settings import Settings
from core.text import tokenize

from . import prompts
from .evidence import score_sentences
from .followup import rewrite
from .judge import Judge, evidence_text, judge_query
from .llms import Generator, GeneratorError, lazy_stream, with_deadline
from .question import InvalidQuestion, analyse, normalise
from .retrieve import HybridRetriever
from .thresholds import Thresholds
from .verify import check

JUDGE_CANDIDATES = 16  # pre-ranked sentences the judge reads per question (latency vs recall)
CLAIM_SPANS = 4  # spans a generated sentence is checked against, those sharing most words first
MAX_ANSWER_SENTENCES = 3
MAX_CONTEXT_SENTENCES = 2  # how far back a pronoun's antecedent is looked for

_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_PARTICLE = re.compile(r"^(?:yes|no)\b[,.!]?\s*", re.IGNORECASE)
# A sentence that opens with a reference to something said before: shown alone, or after
# another sentence, it would say something else ("It works by ..." after colchicine).
_REFERRING = re.compile(r"^(?:it|its|this|these|that|those|they|their|them|such|he|she|his|her|"
                        r"both|the latter|the former|the same|here|there|however|thus|therefore|"
                        r"in (?:this|these|such) \w+|as a result)\b", re.IGNORECASE)

Span = tuple[str, int, int, str]  # source, start, end, section


@dataclass(frozen=True)
class Judged:
    """A candidate evidence sentence with the judge's probability that it answers."""

    row: int
    text: str
    section: str
    probability: float


@dataclass
class _StreamCheck:
    """What verifying a streamed reply has seen so far."""

    considered: int = 0  # generated sentences read (at most MAX_ANSWER_SENTENCES * 2)
    seconds: float = 0.0  # spent verifying
    seen: set[tuple] = field(default_factory=set)
    dropped: list[DroppedSentence] = field(default_factory=list)


@dataclass
class _Draft:
    shown: list[tuple[str, Span]] = field(default_factory=list)  # text, span
    dropped: list[DroppedSentence] = field(default_factory=list)


def split_answer(text: str) -> list[str]:
    """Split generated text into sentences, without citation markers or yes/no particles.

    >>> split_answer("Yes, it is rare [1]. It affects teens.[2]")
    ['It is rare.', 'It affects teens.']
    """
    text = _MARKER.sub("", text).strip()
    pieces = _SENTENCE_END.split(text)
    out = []
    for piece in pieces:
        piece = _PARTICLE.sub("", piece.strip()).strip()
        if piece:
            out.append(piece[0].upper() + piece[1:])
    return out


def complete_part(text: str) -> tuple[str, str]:
    """Split streamed text into the sentences already complete and the rest still coming.

    >>> complete_part("It is rare. It affects")
    ('It is rare.', 'It affects')
    >>> complete_part("It is rare")
    ('', 'It is rare')
    """
    ends = list(_SENTENCE_END.finditer(text))
    if not ends:
        return "", text
    return text[:ends[-1].start()], text[ends[-1].end():]


class _Composer:
    """Numbers citations and labels sentences in the order they are shown, so that a
    sentence streamed early reads exactly as it does in the final Answer."""

    def __init__(self, documents: dict[str, str],
                 page_of: Callable[[str, int], int | None] = lambda source, offset: None) -> None:
        self.documents = documents
        self.page_of = page_of
        self.citations: list[Citation] = []
        self.numbers: dict[tuple, int] = {}
        self.shown: list[tuple[str, int]] = []
        self.first_section: str | None = None

    def add(self, sentence: str, span: Span) -> VerifiedSentence:
        if span not in self.numbers:
            self.numbers[span] = len(self.citations) + 1
            source, start, end, section = span
            self.citations.append(Citation(self.numbers[span], self.documents[source][start:end],
                                           source, section, start, end, self.page_of(source, start)))
        # A sentence from another section than the first one shown, that does not name its
        # section, says which one it speaks of ("It" in a section on one condition is not
        # the condition of the sentence before).
        leaf = span[3].split(" > ")[-1]
        if self.first_section is None:
            self.first_section = span[3]
        elif span[3] != self.first_section and leaf.lower() not in sentence.lower():
            sentence = f"{leaf}: {sentence}"
        number = self.numbers[span]
        self.shown.append((sentence, number))
        return VerifiedSentence(sentence, self.citations[number - 1])

    @property
    def text(self) -> str:
        return " ".join(f"{sentence} [{number}]" for sentence, number in self.shown)


def refers_back(sentence: str) -> bool:
    """Whether a sentence opens with a word that points at an earlier sentence.

    >>> refers_back("It is thought to work by modifying calcium levels."), refers_back("Italy is far.")
    (True, False)
    """
    return bool(_REFERRING.match(sentence.strip()))


class Engine:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder, judge: Judge) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.judge = judge
        self.retriever = HybridRetriever(index, embedder)
        self.previous_row: dict[int, int] = {}  # sentence row -> the row before it in its chunk
        for row in range(1, len(index.sentences)):
            if index.sentences[row].chunk == index.sentences[row - 1].chunk:
                self.previous_row[row] = row - 1
        self.chunk_sentences: dict[int, list[int]] = {}
        for row, sentence in enumerate(index.sentences):
            self.chunk_sentences.setdefault(sentence.chunk, []).append(row)
        self.chunk_rows = {chunk.id: row for row, chunk in enumerate(index.chunks)}
        self.topics = index.topics
        self.version = index.version
        self._lowered = " ".join("\n".join(index.documents.values()).lower().split())

    @property
    def thresholds(self) -> Thresholds:
        return self.judge.thresholds

    def standalone(self, question: str, history: list[object] | None) -> str:
        """``question`` rewritten with the earlier questions (each validated like a question)."""
        earlier: list[str] = []
        for turn in (history or [])[-self.settings.history_turns:] if self.settings.history_turns else []:
            turn_text = normalise(turn, self.settings.max_question_chars)
            earlier.append(rewrite(turn_text, earlier, self.topics, self.mentions))
        return rewrite(question, earlier, self.topics, self.mentions)

    def mentions(self, phrase: str) -> bool:
        """Whether the source says ``phrase`` (whole words, any case)."""
        phrase = " ".join(phrase.lower().split())
        return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", self._lowered) is not None

    # -- the pipeline ------------------------------------------------------------------
    def run(self, question: object, generator: Generator | None, backend: str,
            top_k: int | None = None, history: list[object] | None = None
            ) -> PyGenerator[VerifiedSentence, None, Answer]:
        """Yield each answer sentence as soon as it is verified; return the final Answer.

        No unverified text leaves the engine: a generated sentence is checked when the
        model has finished it, and shown only if it holds up.

        ``history`` holds the earlier questions of the conversation, oldest first; a
        follow-up question is rewritten into a standalone one before retrieval.
        """
        began = time.perf_counter()
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 50):
            raise ValueError(f"top_k must be a whole number from 1 to 50, got {top_k!r}")
        asked = normalise(question, self.settings.max_question_chars)
        text = self.standalone(asked, history)
        answer = yield from self._answer(text, generator, backend, top_k, began)
        return replace(answer, question=asked, standalone=text, index_version=self.version)

    def judged(self, question: str, top_k: int | None = None,
               timings: dict[str, float] | None = None) -> tuple[list[Judged], list[Passage]]:
        """Retrieve, pre-rank, and let the judge score the best candidate sentences (best first);
        ``timings`` gets the seconds of retrieval and of the judge."""
        began = time.perf_counter()
        retrieval = self.retriever.retrieve(question, top_k or self.settings.top_k)
        rows = [r for p in retrieval.passages if p.chunk_id in self.chunk_rows
                for r in self.chunk_sentences.get(self.chunk_rows[p.chunk_id], [])]
        ranked = score_sentences(self.index, rows, question, retrieval.question_vector)
        # Source sentences shaped like instructions ("ignore previous instructions",
        # "system: ...") are never put in front of a model; they stay citable verbatim.
        candidates = [e for e in ranked if not analyse(e.text).instruction][:JUDGE_CANDIDATES]
        judging = time.perf_counter()
        scores = self.judge.score([(question, self._evidence(e.row)) for e in candidates])
        if timings is not None:
            timings["retrieval"] = judging - began
            timings["judge"] = time.perf_counter() - judging
        judged = [Judged(e.row, e.text, e.section, float(p)) for e, p in zip(candidates, scores)]
        return sorted(judged, key=lambda j: (-j.probability, j.row)), retrieval.passages

    def _answer(self, text: str, generator: Generator | None, backend: str, top_k: int | None,
                began: float) -> PyGenerator[VerifiedSentence, None, Answer]:
        timings = {"retrieval": 0.0, "judge": 0.0, "generation": 0.0, "verification": 0.0}
        if analyse(text).instruction:
            return self._abstain(text, [], backend, timings, began, prompts.INSTRUCTION_DECLINED)
        judged, passages = self.judged(text, top_k, timings)
        if not judged or judged[0].probability < self.thresholds.answer:
            return self._abstain(text, passages, backend, timings, began)
        supporting = [j for j in judged if j.probability >= self.thresholds.answer]
        note = ""
        composer = _Composer(self.index.documents, self.index.page_of)
        dropped: list[DroppedSentence] = []
        if generator is not None:
            started = time.perf_counter()
            check = _StreamCheck()
            try:
                messages = prompts.answer_messages(text, [self._quote(j.row) for j in
                                                          supporting[: self.settings.evidence_sentences]])
                pending = ""
                for piece in with_deadline(lazy_stream(generator, messages), self.settings.llm_timeout):
                    done, pending = complete_part(pending + piece)
                    yield from self._check_sentences(done, judged, text, check, composer)
                    if check.considered >= MAX_ANSWER_SENTENCES * 2:
                        pending = ""
                        break  # enough read: the generator is told to stop
                yield from self._check_sentences(pending, judged, text, check, composer)
            except GeneratorError as error:
                template = prompts.PARTIAL_NOTE if composer.shown else prompts.FAILED_NOTE
                note = template.format(backend=backend, error=error)
            dropped = check.dropped
            timings["verification"] = check.seconds
            timings["generation"] = time.perf_counter() - started - check.seconds
            if not composer.shown and not self.settings.unverified_fallback:
                return self._abstain(text, passages, backend, timings, began, dropped=dropped)
            if not composer.shown:
                # The judge found the answer in the source; the model's reply did not hold up
                # (or it declined): the source sentences are shown, and the note says why.
                note = note or prompts.FALLBACK_NOTE.format(backend=backend)
        if not composer.shown:
            for sentence, span in self._extractive(supporting).shown:
                yield composer.add(sentence, span)
        return self._compose(text, composer, dropped, passages, backend, timings, began, note)

    def _check_sentences(self, text: str, judged: list[Judged], question: str, check: _StreamCheck,
                         composer: _Composer) -> PyGenerator[VerifiedSentence, None, None]:
        """Verify the complete sentences of ``text`` one by one; yield each that holds up."""
        for sentence in split_answer(text):
            if check.considered >= MAX_ANSWER_SENTENCES * 2:
                return
            check.considered += 1
            began = time.perf_counter()
            span, reason = self.verify_sentence(sentence, judged, question)
            check.seconds += time.perf_counter() - began
            if span is None:
                check.dropped.append(DroppedSentence(sentence, reason))
            elif (sentence.lower(), span) not in check.seen:
                check.seen.add((sentence.lower(), span))
                yield composer.add(sentence, span)

    # -- spans that keep their meaning ---------------------------------------------------
    def _context_rows(self, row: int) -> list[int]:
        """The row, preceded by the sentences its opening pronoun needs, in source order."""
        rows = [row]
        while (len(rows) <= MAX_CONTEXT_SENTENCES and refers_back(self.index.sentence_text(
                self.index.sentences[rows[0]])) and rows[0] in self.previous_row):
            rows.insert(0, self.previous_row[rows[0]])
        return rows

    def _span(self, row: int) -> Span:
        rows = self._context_rows(row)
        first, last = self.index.sentences[rows[0]], self.index.sentences[rows[-1]]
        return first.source, first.start, last.end, self.index.chunks[last.chunk].section

    def _quote(self, row: int) -> str:
        source, start, end, _ = self._span(row)
        return self.index.documents[source][start:end]

    def _evidence(self, row: int) -> str:
        sentence = self.index.sentences[row]
        previous = self.previous_row.get(row)
        before = self.index.sentence_text(self.index.sentences[previous]) if previous is not None else ""
        return evidence_text(self.index.sentence_text(sentence),
                             self.index.chunks[sentence.chunk].section, before)

    def _extractive(self, supporting: list[Judged], extra: float | None = None) -> _Draft:
        """The best sentence, and up to two more the judge gives at least ``extra``
        (default: the calibrated threshold); a span another already shows is not repeated."""
        extra = self.thresholds.extra if extra is None else extra
        draft = _Draft()
        for judged in supporting:
            if len(draft.shown) == MAX_ANSWER_SENTENCES:
                break
            if draft.shown and judged.probability < extra:
                break
            span = self._span(judged.row)
            if any(s[0] == span[0] and s[1] <= span[1] and span[2] <= s[2] for _, s in draft.shown):
                continue
            draft.shown = [(t, s) for t, s in draft.shown
                           if not (s[0] == span[0] and span[1] <= s[1] and s[2] <= span[2])]
            draft.shown.append((self.index.documents[span[0]][span[1]:span[2]], span))
        return draft

    # -- verification of generated text -------------------------------------------------
    def verify(self, reply: str, judged: list[Judged], question: str) -> _Draft:
        """Keep a generated sentence only when it passes the vetoes against a span and the
        judge accepts it, read as the answer to ``question``, from that span."""
        draft = _Draft()
        seen: set[tuple] = set()
        for sentence in split_answer(reply)[: MAX_ANSWER_SENTENCES * 2]:
            span, reason = self.verify_sentence(sentence, judged, question)
            if span is None:
                draft.dropped.append(DroppedSentence(sentence, reason))
            elif (sentence.lower(), span) not in seen:
                seen.add((sentence.lower(), span))
                draft.shown.append((sentence, span))
        return draft

    def verify_sentence(self, sentence: str, judged: list[Judged], question: str) -> tuple[Span | None, str]:
        """The span that supports one generated sentence as an answer to ``question``, or
        None and why not: it must pass the vetoes against a span, then the judge."""
        if sentence.rstrip().endswith(":") or set(tokenize(sentence)) <= set(tokenize(question)):
            return None, "says nothing beyond the question"
        rows, reason = self._passing_rows(sentence, judged)
        if not rows:
            return None, reason
        scores = self.judge.score([(judge_query(question, sentence), self._evidence(r)) for r in rows])
        best = int(max(range(len(rows)), key=lambda i: float(scores[i])))
        if float(scores[best]) >= self.thresholds.claim:
            return self._span(rows[best]), ""
        return None, (f"the judge does not find it answers the question from the source "
                      f"(p={float(scores[best]):.2f})")

    def _passing_rows(self, sentence: str, judged: list[Judged]) -> tuple[list[int], str]:
        """Candidate rows whose span passes the vetoes for ``sentence`` (most shared words
        first), or none and the reason of the closest one."""
        tokens = set(tokenize(sentence))
        def shared(j: Judged) -> int:
            return len(tokens & set(tokenize(self._quote(j.row) + " " + j.section)))
        passing, reason, best_coverage = [], "no source passages", -1.0
        for candidate in sorted(judged, key=lambda j: (-shared(j), -j.probability))[:CLAIM_SPANS]:
            _, _, _, section = self._span(candidate.row)
            verdict = check(sentence, self._quote(candidate.row), section)
            if verdict.supported:
                passing.append(candidate.row)
            elif verdict.coverage > best_coverage:
                reason, best_coverage = verdict.reason, verdict.coverage
        return passing, reason

    # -- final answers -------------------------------------------------------------------
    def _compose(self, question: str, composer: _Composer, dropped: list[DroppedSentence],
                 passages: list[Passage], backend: str, timings: dict, began: float, note: str) -> Answer:
        timings["total"] = time.perf_counter() - began
        return Answer(question, composer.text, False, composer.citations, passages, backend, dict(timings),
                      dropped, composer.shown, note)

    def _abstain(self, question: str, passages: list[Passage], backend: str, timings: dict,
                 began: float, note: str = "", dropped: list[DroppedSentence] | None = None) -> Answer:
        sections = list(dict.fromkeys(p.section for p in passages if p.dense >= 0.25))[:3]
        text = prompts.ABSTAIN_TEXT
        if sections:
            text += " " + prompts.CLOSEST_SECTIONS.format(sections="; ".join(sections))
        timings["total"] = time.perf_counter() - began
        return Answer(question, text, True, [], passages, backend, dict(timings), dropped or [], [], note)


__all__ = ["Engine", "InvalidQuestion", "Judged", "refers_back", "split_answer"]
