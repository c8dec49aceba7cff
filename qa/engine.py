"""The answering engine, in four steps:

1. **gate**: refuse a question shaped like an instruction; retrieve, pre-rank
   (:mod:`qa.evidence`), and let the judge (:mod:`judge`) score the candidate sentences;
   go on only when one reaches the calibrated ``thresholds.answer`` (:mod:`qa.thresholds`);
2. **generate**: stream the model's reply, if there is a model, one finished sentence at a time;
3. **verify**: check each finished sentence at once (:mod:`qa.verify`) and yield it, with its
   citation, as soon as it holds up; nothing unverified leaves the engine;
4. **decide**: answer with the verified sentences; when none held up, with the source
   sentences themselves and a note saying why (:mod:`qa.compose`); or decline.

Every decision to answer or decline is the judge's; the cheap pre-ranking only chooses
which sentences the judge reads.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Generator as PyGenerator
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from itertools import islice

from core.answer import Answer, DroppedSentence, Passage, VerifiedSentence
from core.embedding import Embedder
from core.index import Index
from core.settings import Settings
from judge import Judge, Thresholds, decide

from . import prompts
from .compose import Composer, Draft, SourceSpans, extractive, ocr_note
from .evidence import Evidence, score_sentences
from .followup import rewrite
from .gate import Gate, Judged, Judgement, Reply, combine
from .llms import Generator, GeneratorError, lazy_stream, with_deadline
from .parts import split_parts
from .question import InvalidQuestion, Request, analyse
from .retrieve import HybridRetriever
from .select import select
from .short import short_answer
from .thresholds import (
    CLOSEST_SECTION_MIN_COSINE,
    CLOSEST_SECTIONS_SHOWN,
    JUDGE_CANDIDATES,
    MAX_GENERATED_SENTENCES,
)
from .verify import Verified, complete_part, split_answer, verify_sentence


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Add the seconds the block takes to ``timings[stage]``."""
    began = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - began


class Engine:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder, judge: Judge) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.judge = judge
        self.retriever = HybridRetriever(index, embedder)
        self.spans = SourceSpans(index)
        self.chunk_sentences: dict[int, list[int]] = {}
        for row, sentence in enumerate(index.sentences):
            self.chunk_sentences.setdefault(sentence.chunk, []).append(row)
        self.chunk_rows = {chunk.id: row for row, chunk in enumerate(index.chunks)}
        self.topics = index.topics
        self.version = index.version

    def within(self, sources: tuple[str, ...] | None) -> Engine:
        """This engine answering only from ``sources`` (None: every document): a copy whose
        retriever searches just their chunks."""
        if sources is None:
            return self
        view = copy.copy(self)
        view.retriever = HybridRetriever(self.index, self.embedder, sources)
        return view

    @property
    def thresholds(self) -> Thresholds:
        return self.judge.thresholds

    def standalone(self, question: str, history: Sequence[str]) -> str:
        """``question`` rewritten with the last ``history_turns`` earlier questions."""
        earlier: list[str] = []
        for turn in history[-self.settings.history_turns:] if self.settings.history_turns else []:
            earlier.append(rewrite(turn, earlier, self.topics, self.mentions))
        return rewrite(question, earlier, self.topics, self.mentions)

    def mentions(self, phrase: str) -> bool:
        """Whether the source says ``phrase`` (whole words, any case)."""
        return self.index.mentions(phrase)

    # -- the pipeline ------------------------------------------------------------------
    def run(self, request: Request, generator: Generator | None, backend: str
            ) -> PyGenerator[VerifiedSentence, None, Answer]:
        """Yield each answer sentence as soon as it is verified; return the final Answer.

        No unverified text leaves the engine: a generated sentence is checked when the
        model has finished it, and shown only if it holds up. ``request`` comes checked
        and normalised from :func:`qa.question.request`; a follow-up question is
        rewritten into a standalone one with its history before retrieval.
        """
        timings = {"retrieval": 0.0, "judge": 0.0, "generation": 0.0, "verification": 0.0}
        with timed(timings, "total"):
            asked, top_k = request.question, request.top_k
            text = self.standalone(asked, request.history)
            gate = self.gate_parts(text, top_k, timings)
            composer = Composer(self.index.documents, self.index.page_of)
            reply = None
            if gate.open and generator is not None:
                reply = yield from self._generate_and_verify(text, gate, generator, backend,
                                                             composer, timings)
            answer = yield from self.decide(text, gate, reply, composer, backend)
        return replace(answer, question=asked, standalone=text, index_version=self.version,
                       timings=dict(timings))

    def candidates(self, question: str, top_k: int | None = None,
                   timings: dict[str, float] | None = None) -> tuple[list[Evidence], list[Passage]]:
        """Retrieve and pre-rank: the ``JUDGE_CANDIDATES`` sentences the judge will read,
        best first, and the retrieved passages. The judge's training mines its candidates
        here too, so it learns from exactly what answering shows it."""
        timings = {} if timings is None else timings
        with timed(timings, "retrieval"):
            retrieval = self.retriever.retrieve(question, top_k or self.settings.top_k)
            rows = [r for p in retrieval.passages if p.chunk_id in self.chunk_rows
                    for r in self.chunk_sentences.get(self.chunk_rows[p.chunk_id], [])]
            ranked = score_sentences(self.index, rows, question, retrieval.question_vector)
            # Source sentences shaped like instructions ("ignore previous instructions",
            # "system: ...") are never put in front of a model; they stay citable verbatim.
            candidates = [e for e in ranked if not analyse(e.text).instruction][:JUDGE_CANDIDATES]
        return candidates, retrieval.passages

    def judged(self, question: str, top_k: int | None = None,
               timings: dict[str, float] | None = None) -> Judgement:
        """Retrieve, pre-rank, and let the judge decide over the best candidate sentences;
        ``timings`` gets the seconds of retrieval and of the judge."""
        timings = {} if timings is None else timings
        candidates, passages = self.candidates(question, top_k, timings)
        with timed(timings, "judge"):
            verdict = decide(self.judge, question, [self.spans.evidence(e.row) for e in candidates])
        shorts = verdict.shorts or (None,) * len(candidates)
        judged = [Judged(e.row, e.text, e.section, p, share, short) for e, p, share, short
                  in zip(candidates, verdict.probabilities, verdict.shares, shorts)]
        judged.sort(key=lambda j: (-j.share, -j.probability, j.row))
        return Judgement(judged, verdict.answer, passages)

    # -- 1. gate -----------------------------------------------------------------------
    def gate(self, question: str, top_k: int | None, timings: dict[str, float]) -> Gate:
        """Refuse an instruction-shaped question; let the judge decide over the candidates;
        open when its probability that they answer reaches ``thresholds.answer``."""
        if analyse(question).instruction:
            return Gate(passages=[], candidates=[], supporting=[], note=prompts.INSTRUCTION_DECLINED)
        judgement = self.judged(question, top_k, timings)
        judged = judgement.judged
        if not judged or judgement.answer < self.thresholds.answer:
            return Gate(passages=judgement.passages, candidates=[], supporting=[])
        selection = select(question, judged, self.spans, self.thresholds, topics=self.topics)
        if not selection.pieces:
            return Gate(passages=judgement.passages, candidates=[], supporting=[], note=selection.note)
        candidates = [self.spans.candidate(j.row, j.probability) for j in judged]
        return Gate(passages=judgement.passages, candidates=candidates, supporting=selection.candidates,
                    short=short_answer(question, judged[0], candidates[0]), pieces=selection.pieces)

    def gate_parts(self, question: str, top_k: int | None, timings: dict[str, float]) -> Gate:
        """The gate of a question, or of each of its parts (:mod:`qa.parts`) combined; the
        whole question is gated as asked when no part is answered."""
        parts = [] if analyse(question).instruction else split_parts(question, self.topics, self.mentions)
        if len(parts) < 2:
            return self.gate(question, top_k, timings)
        combined = combine(parts, [self.gate(part, top_k, timings) for part in parts])
        return combined if combined.open else self.gate(question, top_k, timings)

    # -- 2. generate -------------------------------------------------------------------
    def generate(self, question: str, gate: Gate, generator: Generator) -> PyGenerator[str, None, None]:
        """The model's reply to the question and the supporting quotes, one finished
        sentence at a time as it streams; closing this tells the model to stop. Raises
        GeneratorError when the backend fails or runs past ``llm_timeout``."""
        sources = gate.sources[: self.settings.evidence_sentences]
        pieces = with_deadline(lazy_stream(generator, prompts.answer_messages(question, sources)),
                               self.settings.llm_timeout)
        try:
            pending = ""
            for piece in pieces:
                done, pending = complete_part(pending + piece)
                yield from split_answer(done)
            yield from split_answer(pending)
        finally:
            pieces.close()

    # -- 3. verify ---------------------------------------------------------------------
    def verify(self, sentences: Iterable[str], gate: Gate, question: str, verified: Verified,
               composer: Composer, timings: dict[str, float]) -> PyGenerator[VerifiedSentence, None, None]:
        """Verify each sentence as it comes (the first ``MAX_GENERATED_SENTENCES``; no
        more is read) and yield each that holds up at once, numbered and labelled as the
        answer shows it; ``verified`` records what was kept and dropped."""
        for sentence in islice(sentences, MAX_GENERATED_SENTENCES):
            with timed(timings, "verification"):
                outcome = verify_sentence(sentence, gate.candidates, question, self.judge, self.thresholds)
            if verified.add(sentence, outcome):
                yield composer.add(sentence, outcome.span)

    def _generate_and_verify(self, question: str, gate: Gate, generator: Generator, backend: str,
                             composer: Composer, timings: dict[str, float]
                             ) -> PyGenerator[VerifiedSentence, None, Reply]:
        verified, note = Verified(), ""
        with timed(timings, "generation"):
            sentences = self.generate(question, gate, generator)
            try:
                yield from self.verify(sentences, gate, question, verified, composer, timings)
            except GeneratorError as error:
                template = prompts.PARTIAL_NOTE if composer.shown else prompts.FAILED_NOTE
                note = template.format(backend=backend, error=error)
            finally:
                sentences.close()
        timings["generation"] -= timings["verification"]  # verifying ran inside the stream
        return Reply(dropped=verified.dropped, note=note)

    # -- 4. decide ---------------------------------------------------------------------
    def decide(self, question: str, gate: Gate, reply: Reply | None, composer: Composer,
               backend: str) -> PyGenerator[VerifiedSentence, None, Answer]:
        """The answer: the verified sentences; when none held up (or there was no model),
        the supporting source sentences, yielded too, with a note when a model's reply
        was not shown; a decline when the gate is closed, or nothing held up and
        ``unverified_fallback`` is off."""
        if not gate.open:
            return self._abstain(question, gate.passages, backend, note=gate.note)
        dropped, note = (reply.dropped, reply.note) if reply is not None else ([], "")
        if reply is not None and not composer.shown:
            if not self.settings.unverified_fallback:
                return self._abstain(question, gate.passages, backend, dropped=dropped)
            # The judge found the answer in the source; the model's reply did not hold up
            # (or it declined): the source sentences are shown, and the note says why.
            note = note or prompts.FALLBACK_NOTE.format(backend=backend)
        note = " ".join(n for n in (gate.note, note) if n)  # and a part the source does not answer
        if not composer.shown:
            draft = extractive(gate.pieces)
            for sentence, span in draft.shown:
                yield composer.add(sentence, span, draft.also.get(span, ()))
        # The short answer is the judge's phrase from the best sentence: shown only when
        # the answer's first citation quotes that sentence.
        first = composer.citations[0].quote if composer.citations else ""
        short = gate.short if gate.short and gate.supporting[0].quote in first else ""
        note = " ".join(n for n in (note, ocr_note(self.index.manifest, composer.citations)) if n)  # scans
        return Answer(question=question, text=composer.text, abstained=False,
                      citations=composer.citations, passages=gate.passages, llm=backend,
                      dropped=dropped, sentences=composer.shown, note=note, short=short)

    def extractive(self, supporting: Sequence[Judged], extra: float | None = None, question: str = "") -> Draft:
        """The extractive draft of judged sentences (best first), chosen as an answer to
        ``question`` is (:func:`qa.select.select`), with ``extra`` for the calibrated
        threshold when given."""
        return extractive(select(question, supporting, self.spans, self.thresholds, extra, self.topics).pieces)

    def _abstain(self, question: str, passages: list[Passage], backend: str, note: str = "",
                 dropped: list[DroppedSentence] | None = None) -> Answer:
        close = [p.section for p in passages if p.dense >= CLOSEST_SECTION_MIN_COSINE]
        sections = list(dict.fromkeys(close))[:CLOSEST_SECTIONS_SHOWN]
        text = prompts.ABSTAIN_TEXT
        if sections:
            text += " " + prompts.CLOSEST_SECTIONS.format(sections="; ".join(sections))
        return Answer(question=question, text=text, abstained=True, citations=[], passages=passages,
                      llm=backend, dropped=dropped or [], sentences=[], note=note)


__all__ = ["Engine", "Gate", "InvalidQuestion", "Judged", "Judgement", "Reply", "timed"]
