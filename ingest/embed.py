"""Embedding an ingest's texts: what a vector is reused by (:func:`embedding_key`,
:func:`pooled_key`), :func:`plan`, which says for every chunk and sentence what to embed,
and :func:`embed_missing`, which embeds only what no earlier version or interrupted run
has, a group of chunks at a time, spilling each group (:mod:`.spill`) and counting
progress in chunks (:mod:`.progress`).

With an embedder that can (:class:`core.embedding.SpanEmbedder`, the ONNX MiniLM), a
chunk takes one forward pass: its sentences' vectors are pooled from the chunk's own
token states (each sentence's tokens with the chunk's heading, as the sentence embedded
alone reads it), so a chunk costs one embedding instead of one plus one per sentence.
Such a vector is kept under its own key (the chunk's text and the sentence's place in it),
never mixed with a sentence embedded alone. A sentence past the tokens the chunk's pass
kept is embedded alone (under the same key: it is what that key makes).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.embedding import Span, span_pooling, text_lengths
from core.types import Chunk, SentenceRow

from .bounded import Cancelled
from .embedders import Embedder
from .progress import Reporter
from .spill import Spill

log = logging.getLogger(__name__)
# Chunks embedded (with their sentences) per call to the embedder, which batches them by
# length: a progress step (a few seconds on 2 cores), and a unit of the spill that lets a
# killed ingest resume. The ONNX embedder runs a call's batches side by side and waits at
# the call's end: 800 chunks of the 1k library took 17.3 s in calls of 128 (best of three)
# against 20.6 s in calls of 64, and 18.2 s in calls of 256.
EMBED_GROUP_CHUNKS = 128
# More texts to embed than this and the ingest warns first, with the time it will take
# (measured on the first batch: a 30 MB file is tens of thousands of texts).
EMBED_WARN_TEXTS = 5_000


def embedding_key(embedder_name: str, dimension: int, text: str) -> str:
    """What a vector is reused by: the same text embedded by the same model and size."""
    return hashlib.sha256(f"{embedder_name}\0{dimension}\0{text}".encode()).hexdigest()[:32]


def pooled_key(embedder_name: str, dimension: int, pooling: str, context: str, span: Span) -> str:
    """What a span's vector pooled from ``context``'s pass is reused by: the model, the
    pooling, the whole text of the pass and the span's place in it."""
    where = ",".join(f"{a}-{b}" for a, b in span)
    return embedding_key(f"{embedder_name}\0pooled:{pooling}", dimension, f"{context}\0{where}")


def identity(embedder: Embedder) -> dict:
    """The embedder as a manifest records it; ``sentence_vectors`` says how its sentence
    vectors are made ('alone', or the one-pass pooling)."""
    return {"name": embedder.name, "dimension": int(embedder.dimension),
            "sentence_vectors": span_pooling(embedder) or "alone"}


@dataclass(frozen=True)
class Plan:
    """Every vector row of an ingest: the chunks (rows 0 to ``chunks - 1``), then their sentences."""

    texts: list[str]  # each row's text as embedded alone
    keys: list[str]
    owners: list[int]  # the chunk row a row belongs to
    context: list[int | None]  # a sentence pooled from its chunk's pass: that chunk's row
    spans: list[Span | None]  # and its place in the chunk's text
    chunks: int
    pooled: bool  # chunks take one pass each, giving their sentences' vectors too


def plan(chunks: list[Chunk], sentences: list[SentenceRow], texts: dict[str, str], who: dict) -> Plan:
    """Keys and texts of every chunk and sentence for the embedder ``who`` (an
    :func:`identity`): sentences pooled from their chunk's pass when it says so."""
    name, dimension = who["name"], who["dimension"]
    pooling = who.get("sentence_vectors", "alone")
    alone = [c.embed_text for c in chunks] + [
        f"{chunks[s.chunk].section}: {texts[s.source][s.start:s.end]}" for s in sentences]
    keys = [embedding_key(name, dimension, t) for t in alone[:len(chunks)]]
    context: list[int | None] = [None] * len(alone)
    spans: list[Span | None] = [None] * len(alone)
    for row, s in enumerate(sentences, start=len(chunks)):
        if pooling == "alone":
            keys.append(embedding_key(name, dimension, alone[row]))
            continue
        chunk = chunks[s.chunk]
        at = len(chunk.section) + 2 - chunk.start  # embed_text is f"{section}: {text}"
        span = ((0, len(chunk.section) + 1), (s.start + at, s.end + at))  # "section:" and the sentence
        keys.append(pooled_key(name, dimension, pooling, chunk.embed_text, span))
        context[row], spans[row] = s.chunk, span
    return Plan(alone, keys, list(range(len(chunks))) + [s.chunk for s in sentences], context, spans,
                len(chunks), pooling != "alone")


class _Other(Exception):
    """The embedder loaded is not the one the plan was made for (see :func:`embed_rows`)."""

    def __init__(self, who: dict) -> None:
        super().__init__(who)
        self.who = who


def embed_rows(chunks: list[Chunk], sentences: list[SentenceRow], texts: dict[str, str], who: dict,
               cache: dict[str, np.ndarray], embedder: Callable[[], Embedder], progress: Reporter,
               spill: Spill, cancelled: threading.Event | None = None) -> tuple[dict, Plan, np.ndarray, int, int]:
    """:func:`plan` and :func:`embed_missing` for an ingest whose embedder is ``who``
    (taken from the served manifest, so that an ingest with nothing to embed loads no
    model); planned again when the model loaded turns out to be another (an index of an
    earlier version, another runtime). Returns the embedder's identity, the plan, the
    vectors, the texts embedded and the keys made."""
    def checked() -> Embedder:
        model = embedder()
        if identity(model) != who:
            raise _Other(identity(model))
        return model

    try:
        work = plan(chunks, sentences, texts, who)
        return (who, work, *embed_missing(work, cache, checked, progress, spill, cancelled))
    except _Other as other:
        who = other.who
    work = plan(chunks, sentences, texts, who)
    return (who, work, *embed_missing(work, cache, embedder, progress, spill, cancelled))


def embed_missing(work: Plan, cache: dict[str, np.ndarray], embedder: Callable[[], Embedder],
                  progress: Reporter, spill: Spill,
                  cancelled: threading.Event | None = None) -> tuple[np.ndarray, int, int]:
    """Vectors for every row of ``work``, making each key that is not cached yet once;
    returns them, how many texts went to the embedder and how many keys were made.

    Rows are made a group of chunks at a time, each group spilled to disk, and progress
    is counted in chunks. A group holds chunks of about one length (the embedder's token
    counts, :func:`_groups_by_length`), so the embedder's batches hardly pad; groups go
    longest and shortest in turn (:func:`_interleaved`), so the rate is an average's.
    ``cancelled``, once set, stops it before the next group (raising
    :class:`~ingest.bounded.Cancelled`); what was embedded stays spilled for the next run.
    """
    keys = work.keys
    cache.update(spill.load(set(keys) - cache.keys()))
    first_of: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key not in cache:
            first_of.setdefault(key, i)
    passes: dict[int, list[int]] = {}  # chunk row -> the sentence rows pooled from its pass
    alone: list[int] = []
    for i in first_of.values():
        if work.context[i] is not None:
            passes.setdefault(work.context[i], []).append(i)
        elif work.pooled and i < work.chunks:
            passes.setdefault(i, [])
        else:
            alone.append(i)
    planned = len(passes) + len(alone)
    chunks_to_do = sorted(set(passes) | {work.owners[i] for i in alone})
    embedded = 0
    if first_of:
        model = embedder()
        group_of = _groups_by_length(chunks_to_do, text_lengths(model, [work.texts[c] for c in chunks_to_do]))
        groups: dict[int, tuple[list[int], list[int]]] = {}
        for chunk in passes:
            groups.setdefault(group_of[chunk], ([], []))[0].append(chunk)
        for i in alone:
            groups.setdefault(group_of[work.owners[i]], ([], []))[1].append(i)
        stage = progress.stage("embedding", len(chunks_to_do), "chunks")
        began = time.perf_counter()
        try:
            for number, key in enumerate(_interleaved(sorted(groups))):
                chunk_rows, rows = groups[key]
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled("embedding")
                made, sent = _embed_group(work, model, sorted(chunk_rows), sorted(rows), passes, cache)
                if made:
                    spill.add(list(made), np.stack(list(made.values())))
                embedded += sent
                if number == min(1, len(groups) - 1) and planned > EMBED_WARN_TEXTS:
                    _announce(planned, embedded, time.perf_counter() - began)
                stage.advance(len(set(chunk_rows) | {work.owners[i] for i in rows}))
        finally:  # an error or Ctrl-C keeps what was embedded (a kill: all but one shard)
            stage.close()
            spill.flush()
    return np.stack([cache[k] for k in keys]).astype(np.float32), embedded, len(first_of)


def _groups_by_length(chunks: list[int], lengths: list[int]) -> dict[int, int]:
    """Each chunk's group: groups of EMBED_GROUP_CHUNKS chunks of about one length (the
    embedder's token counts), numbered longest first, so that a call's batches hardly pad.

    >>> _groups_by_length([0, 1, 2, 3], [5, 900, 7, 800])  # with groups of 64: all in one
    {1: 0, 3: 0, 2: 0, 0: 0}
    """
    order = sorted(range(len(chunks)), key=lambda k: (-lengths[k], chunks[k]))
    return {chunks[k]: place // EMBED_GROUP_CHUNKS for place, k in enumerate(order)}


def _interleaved(groups: list[int]) -> list[int]:
    """Groups numbered longest first, taken longest, shortest, next longest, next
    shortest...: the rate, the time left and the first estimate are an average's from the
    start, not the longest texts' alone.

    >>> _interleaved([0, 1, 2, 3, 4])
    [0, 4, 1, 3, 2]
    """
    out, low, high = [], 0, len(groups) - 1
    while low <= high:
        out.append(groups[low])
        if low != high:
            out.append(groups[high])
        low, high = low + 1, high - 1
    return out


def _embed_group(work: Plan, model: Embedder, chunk_rows: list[int], rows: list[int],
                 passes: dict[int, list[int]], cache: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    """Make one group's vectors (into ``cache``): a pass per chunk in ``chunk_rows`` with
    its pooled sentences, then ``rows`` and the sentences no pass could give, alone.
    Returns the vectors made by key and how many texts went to the embedder."""
    made: dict[str, np.ndarray] = {}
    if chunk_rows:
        vectors, pooled = model.embed_spans([work.texts[c] for c in chunk_rows],  # type: ignore[attr-defined]
                                            [[work.spans[i] for i in passes[c]] for c in chunk_rows])
        for c, vector, sentence_vectors in zip(chunk_rows, vectors, pooled):
            made[work.keys[c]] = vector
            for i, pooled_vector in zip(passes[c], sentence_vectors):
                if pooled_vector is None:
                    rows.append(i)  # past the tokens the pass kept: embedded alone
                else:
                    made[work.keys[i]] = pooled_vector
    if rows:
        for i, vector in zip(rows, model.embed([work.texts[i] for i in rows])):
            made[work.keys[i]] = vector
    made = {k: v for k, v in made.items() if k not in cache}  # a pass re-makes a cached chunk
    cache.update(made)
    return made, len(chunk_rows) + len(rows)


def _announce(total: int, batch: int, seconds: float) -> None:
    """Warn that embedding will take long, estimated from the time of the first ``batch``
    texts (the longest group's and the shortest's)."""
    minutes = seconds / batch * total / 60
    estimate = "less than a minute" if minutes < 1 else f"{minutes:.0f} minutes"
    log.warning("about %d texts to embed, roughly %s on this machine (timed on the first "
                "%d); if that is more than the corpus should hold, stop and check its files "
                "(`sourceqa ingest --files`)", total, estimate, batch)
