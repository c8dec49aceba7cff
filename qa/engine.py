"""The answering engine: retrieve, choose evidence, generate, verify, or abstain."""

from __future__ import annotations

import re
import time
from collections.abc import Generator as PyGenerator
from dataclasses import dataclass, field, replace

import numpy as np

from ingest.embedders import Embedder
from ingest.index import LoadedIndex
from ingest.keyword import tokenize
from ingest.settings import Settings

from . import prompts
from .evidence import Evidence, coverage_of, score_sentences
from .followup import rewrite, topic_names
from .llms import Generator, GeneratorError, with_deadline
from .question import InvalidQuestion, analyse, normalise, satisfies
from .retrieve import HybridRetriever
from .types import Answer, Citation, DroppedSentence, Passage
from .verify import Verdict, check, cosine

# Calibrated on the curated eval set (evals/data/cases.jsonl) by a grid search that
# maximises answered-answerable minus 3 x answered-unanswerable: a fluent answer to a
# question the source does not answer is the worst failure. See evals/README.md.
MIN_DENSE = 0.34  # embedder cosine of the best evidence sentence (read with its heading)
MIN_LEXICAL = 0.32  # share of the question's topic words the best sentence covers
MIN_COVERAGE = 0.6  # share of the question's topic words the top 3 sentences cover together
OFF_TARGET_RATIO = 0.6  # generated answers must cover the question this close to the best sentence
EXTRA_SENTENCE_MARGIN = 0.06  # extractive answers add sentences scoring this close to the best
MAX_ANSWER_SENTENCES = 3

_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_PARTICLE = re.compile(r"^(?:yes|no)\b[,.!]?\s*", re.IGNORECASE)


@dataclass
class _Draft:
    shown: list[tuple[str, tuple[str, int, int, str]]] = field(default_factory=list)  # text, span
    dropped: list[DroppedSentence] = field(default_factory=list)


def split_answer(text: str) -> list[str]:
    """Split generated text into sentences, without citation markers or yes/no particles.

    >>> split_answer("Yes, it is rare [1]. It affects teens.[2]")
    ['It is rare.', 'It affects teens.']
    """
    text = _MARKER.sub("", text).strip()
    pieces = re.split(r"(?<=[.!?])\s+|\n+", text)
    out = []
    for piece in pieces:
        piece = _PARTICLE.sub("", piece.strip()).strip()
        if piece:
            out.append(piece[0].upper() + piece[1:])
    return out


class Engine:
    def __init__(self, settings: Settings, index: LoadedIndex, embedder: Embedder) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.retriever = HybridRetriever(index, embedder)
        self.chunk_sentences: dict[int, list[int]] = {}
        for row, sentence in enumerate(index.sentences):
            self.chunk_sentences.setdefault(sentence.chunk, []).append(row)
        self.chunk_rows = {chunk.id: row for row, chunk in enumerate(index.chunks)}
        titles = [text.split("\n", 1)[0] for text in index.documents.values()]  # line 1 is the title
        self.topics = topic_names(titles, [chunk.section for chunk in index.chunks])
        self.version = str(index.manifest.get("version", ""))

    def standalone(self, question: str, history: list[object] | None) -> str:
        """``question`` rewritten with the earlier questions (each validated like a question)."""
        earlier: list[str] = []
        for turn in (history or [])[-self.settings.history_turns:] if self.settings.history_turns else []:
            turn_text = normalise(turn, self.settings.max_question_chars)
            earlier.append(rewrite(turn_text, earlier, self.topics))
        return rewrite(question, earlier, self.topics)

    # -- the pipeline ------------------------------------------------------------------
    def run(self, question: object, generator: Generator | None, backend: str,
            top_k: int | None = None, history: list[object] | None = None) -> PyGenerator[str, None, Answer]:
        """Yield generated text pieces; return the verified Answer.

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

    def _answer(self, text: str, generator: Generator | None, backend: str, top_k: int | None,
                began: float) -> PyGenerator[str, None, Answer]:
        info = analyse(text)
        timings = {"retrieval": 0.0, "generation": 0.0, "verification": 0.0}
        if info.instruction:
            return self._abstain(text, [], backend, timings, began, prompts.INSTRUCTION_DECLINED)
        retrieval = self.retriever.retrieve(text, top_k or self.settings.top_k)
        rows = [r for p in retrieval.passages if p.chunk_id in self.chunk_rows
                for r in self.chunk_sentences.get(self.chunk_rows[p.chunk_id], [])]
        ranked = score_sentences(self.index, rows, text, retrieval.question_vector)
        timings["retrieval"] = time.perf_counter() - began
        # Source sentences shaped like instructions ("ignore previous instructions",
        # "system: ...") are never put in front of the model; they stay citable verbatim.
        evidence = [e for e in ranked if not analyse(e.text).instruction][: self.settings.evidence_sentences]
        if not self._confident(text, evidence, info.kinds):
            return self._abstain(text, retrieval.passages, backend, timings, began)

        note = ""
        if generator is None:
            draft = self._extractive(ranked)
        else:
            started = time.perf_counter()
            pieces: list[str] = []
            try:
                messages = prompts.answer_messages(text, [e.text for e in evidence])
                for piece in with_deadline(generator.stream(messages), self.settings.llm_timeout):
                    pieces.append(piece)
                    yield piece
            except GeneratorError as error:
                note = prompts.FAILED_NOTE.format(backend=backend, error=error)
            timings["generation"] = time.perf_counter() - started
            started = time.perf_counter()
            reply = "".join(pieces)
            if not note and prompts.MODEL_ABSTAIN.lower() in reply.lower():
                timings["verification"] = time.perf_counter() - started
                return self._abstain(text, retrieval.passages, backend, timings, began)
            draft = _Draft() if note else self.verify(reply, rows, text)
            if draft.shown and self._off_target(text, draft, ranked[0]):
                note = prompts.OFF_TARGET_NOTE.format(backend=backend)
                draft = _Draft(dropped=draft.dropped + [DroppedSentence(s, "true, but not what was asked")
                                                        for s, _ in draft.shown])
            if not draft.shown and not self.settings.unverified_fallback:
                timings["verification"] = time.perf_counter() - started
                return self._abstain(text, retrieval.passages, backend, timings, began,
                                     dropped=draft.dropped)
            if not draft.shown:
                note = note or prompts.FALLBACK_NOTE.format(backend=backend)
                dropped = draft.dropped
                draft = self._extractive(ranked)
                draft.dropped = dropped
            timings["verification"] = time.perf_counter() - started
        if not satisfies(info.kinds, " ".join(s for s, _ in draft.shown)):
            return self._abstain(text, retrieval.passages, backend, timings, began)
        return self._compose(text, draft, retrieval.passages, backend, timings, began, note)

    def _off_target(self, question: str, draft: _Draft, best: Evidence) -> bool:
        """Whether the verified sentences cover the question's words far less than the best
        source sentence does: true statements that answer something else."""
        shown = [Evidence(-1, sentence, span[3], 0.0, 0.0, 0.0) for sentence, span in draft.shown]
        return coverage_of(self.index, question, shown) < OFF_TARGET_RATIO * best.lexical

    def _confident(self, question: str, evidence: list[Evidence], kinds: tuple[str, ...]) -> bool:
        if not evidence:
            return False
        best = evidence[0]
        if best.dense < MIN_DENSE or best.lexical < MIN_LEXICAL:
            return False
        if coverage_of(self.index, question, evidence[:3]) < MIN_COVERAGE:
            return False
        return satisfies(kinds, " ".join(e.text for e in evidence))

    # -- answers from source sentences -------------------------------------------------
    def _span(self, row: int) -> tuple[str, int, int, str]:
        sentence = self.index.sentences[row]
        return (sentence.source, sentence.start, sentence.end,
                self.index.chunks[sentence.chunk].section)

    def _extractive(self, ranked: list[Evidence]) -> _Draft:
        draft = _Draft()
        best = ranked[0].score
        for evidence in ranked[:MAX_ANSWER_SENTENCES]:
            if evidence.score < best - EXTRA_SENTENCE_MARGIN:
                break
            draft.shown.append((evidence.text, self._span(evidence.row)))
        return draft

    # -- verification of generated text -------------------------------------------------
    def verify(self, reply: str, rows: list[int], question: str) -> _Draft:
        draft = _Draft()
        sentences = split_answer(reply)[: MAX_ANSWER_SENTENCES * 2]
        if not sentences or not rows:
            draft.dropped = [DroppedSentence(s, "no source passages") for s in sentences]
            return draft
        vectors = self.embedder.embed(sentences)
        seen: set[tuple] = set()
        question_tokens = set(tokenize(question))
        for sentence, vector in zip(sentences, vectors):
            if sentence.rstrip().endswith(":") or set(tokenize(sentence)) <= question_tokens:
                draft.dropped.append(DroppedSentence(sentence, "says nothing beyond the question"))
                continue
            span, verdict = self._support(sentence, vector, rows)
            if span is None:
                draft.dropped.append(DroppedSentence(sentence, verdict.reason))
            elif (sentence.lower(), span) not in seen:
                seen.add((sentence.lower(), span))
                draft.shown.append((sentence, span))
        return draft

    def _candidates(self, rows: list[int]) -> list[tuple[tuple[str, int, int, str], np.ndarray]]:
        """Single sentences and adjacent pairs within one chunk, as (span, vector)."""
        spans = []
        for position, row in enumerate(rows):
            spans.append((self._span(row), self.index.sentence_vectors[row]))
            following = rows[position + 1] if position + 1 < len(rows) else None
            if following is not None and self.index.sentences[following].chunk == self.index.sentences[row].chunk:
                source, start, _, section = self._span(row)
                end = self.index.sentences[following].end
                vector = self.index.sentence_vectors[row] + self.index.sentence_vectors[following]
                spans.append(((source, start, end, section), vector / np.linalg.norm(vector)))
        return spans

    def _support(self, sentence: str, vector: np.ndarray, rows: list[int]):
        best: tuple[float, tuple, Verdict] | None = None
        tokens = set(tokenize(sentence))
        candidates = self._candidates(rows)
        # Check the most promising spans first: most shared words, then closest meaning.
        def promise(item):
            (source, start, end, section), span_vector = item
            shared = len(tokens & set(tokenize(self.index.documents[source][start:end] + " " + section)))
            return (-shared, -cosine(vector, span_vector), end - start)
        for span, span_vector in sorted(candidates, key=promise)[:6]:
            source, start, end, section = span
            verdict = check(sentence, self.index.documents[source][start:end], section,
                            cosine(vector, span_vector))
            if verdict.supported:
                return span, verdict
            if best is None or verdict.coverage > best[0]:
                best = (verdict.coverage, span, verdict)
        return None, (best[2] if best else Verdict(False, "no candidate span"))

    # -- final answers -------------------------------------------------------------------
    def _compose(self, question: str, draft: _Draft, passages: list[Passage], backend: str,
                 timings: dict, began: float, note: str) -> Answer:
        citations: list[Citation] = []
        numbers: dict[tuple, int] = {}
        parts, shown = [], []
        for sentence, span in draft.shown:
            if span not in numbers:
                numbers[span] = len(citations) + 1
                source, start, end, section = span
                citations.append(Citation(numbers[span], self.index.documents[source][start:end],
                                          source, section, start, end))
            parts.append(f"{sentence} [{numbers[span]}]")
            shown.append((sentence, numbers[span]))
        timings["total"] = time.perf_counter() - began
        return Answer(question, " ".join(parts), False, citations, passages, backend, dict(timings),
                      draft.dropped, shown, note)

    def _abstain(self, question: str, passages: list[Passage], backend: str, timings: dict,
                 began: float, note: str = "", dropped: list[DroppedSentence] | None = None) -> Answer:
        sections = list(dict.fromkeys(p.section for p in passages if p.dense >= 0.25))[:3]
        text = prompts.ABSTAIN_TEXT
        if sections:
            text += " " + prompts.CLOSEST_SECTIONS.format(sections="; ".join(sections))
        timings["total"] = time.perf_counter() - began
        return Answer(question, text, True, [], passages, backend, dict(timings), dropped or [], [], note)


__all__ = ["Engine", "InvalidQuestion", "split_answer"]
