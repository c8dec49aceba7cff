"""Embedding an ingest's texts: what a vector is reused by (:func:`embedding_key`), and
:func:`embed_missing`, which embeds only the texts no earlier version or interrupted run
has, a group of chunks at a time, spilling each group (:mod:`.spill`) and counting
progress in chunks (a bar with chunks per second and the time left)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from .bounded import Cancelled
from .embedders import Embedder
from .spill import Spill

log = logging.getLogger(__name__)
# Chunks embedded (with their sentences) per call to the embedder, which batches them by
# length: a progress step, and a unit of the spill that lets a killed ingest resume.
EMBED_GROUP_CHUNKS = 64
# More texts to embed than this and the ingest warns first, with the time it will take
# (measured on the first batch: a 30 MB file is tens of thousands of texts).
EMBED_WARN_TEXTS = 5_000


def embedding_key(embedder_name: str, dimension: int, text: str) -> str:
    """What a vector is reused by: the same text embedded by the same model and size."""
    return hashlib.sha256(f"{embedder_name}\0{dimension}\0{text}".encode()).hexdigest()[:32]


def embed_missing(texts: list[str], keys: list[str], owners: list[int], cache: dict[str, np.ndarray],
                  embedder: Callable[[], Embedder], progress: bool, spill: Spill,
                  cancelled: threading.Event | None = None) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``, embedding once each key that is not cached yet; returns
    them and how many texts were embedded.

    ``owners[i]`` is the chunk row text ``i`` belongs to (a chunk, or one of its
    sentences): texts are embedded a group of chunks at a time (the embedder batches each
    group by length), each group spilled to disk, and progress is counted in chunks.
    ``cancelled``, once set, stops it before the next group (raising
    :class:`~ingest.bounded.Cancelled`); what was embedded stays spilled for the next run.
    """
    cache.update(spill.load(set(keys) - cache.keys()))
    first_of: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key not in cache:
            first_of.setdefault(key, i)
    groups: dict[int, list[int]] = {}
    for i in first_of.values():
        groups.setdefault(owners[i] // EMBED_GROUP_CHUNKS, []).append(i)
    chunks_to_do = len({owners[i] for i in first_of.values()})
    if first_of:
        model = embedder()
        bar = tqdm(total=chunks_to_do, desc="embedding", unit="chunk", disable=not progress)
        began = time.perf_counter()
        try:
            for number, (_, rows) in enumerate(sorted(groups.items())):
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled("embedding")
                vectors = model.embed([texts[i] for i in rows])
                for i, vector in zip(rows, vectors):
                    cache[keys[i]] = vector
                spill.add([keys[i] for i in rows], vectors)
                if number == 0 and len(first_of) > EMBED_WARN_TEXTS:
                    _announce(len(first_of), len(rows), time.perf_counter() - began)
                bar.update(len({owners[i] for i in rows}))
        finally:  # an error or Ctrl-C keeps what was embedded (a kill: all but one shard)
            bar.close()
            spill.flush()
    return np.stack([cache[k] for k in keys]).astype(np.float32), len(first_of)


def _announce(total: int, batch: int, seconds: float) -> None:
    """Warn that embedding will take long, estimated from the first batch's time."""
    minutes = seconds / batch * total / 60
    estimate = "less than a minute" if minutes < 1 else f"{minutes:.0f} minutes"
    log.warning("about %d texts to embed, roughly %s on this machine (timed on the first batch "
                "of %d); if that is more than the corpus should hold, stop and check its files "
                "(`sourceqa ingest --files`)", total, estimate, batch)


