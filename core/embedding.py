"""The embedder's interface: ingest embeds chunks and sentences with it, qa embeds the
question with the same one (``ingest.make_embedder`` builds one by name).

An embedder may also be a :class:`SpanEmbedder`: one forward pass per text gives the
text's vector and, from the same pass's token states, a vector for each span of it (a
sentence of a chunk), so ingest need not embed every sentence again. One that is not
(a remote model, the tests' fake) has its sentences embedded separately.

An embedder may also say how many tokens each text costs it (``token_counts``): ingest
then hands it texts of one length at a time, so its batches hardly pad
(:func:`text_lengths`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

# A span of a text: the character ranges whose tokens its vector pools.
Span = tuple[tuple[int, int], ...]


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


@runtime_checkable
class SpanEmbedder(Protocol):
    name: str
    dimension: int
    span_pooling: str  # names how span vectors are made; part of their reuse key

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_spans(self, texts: Sequence[str],
                    spans: Sequence[Sequence[Span]]) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Each text's unit vector (as :meth:`embed` gives it) and, from the same pass,
        one unit vector per span of it; None for a span the pass cannot give (past the
        tokens it kept), which the caller embeds on its own."""
        ...


def span_pooling(embedder: object) -> str | None:
    """How ``embedder`` makes span vectors in one pass, or None when it cannot."""
    pooling = getattr(embedder, "span_pooling", None)
    return pooling if isinstance(pooling, str) and callable(getattr(embedder, "embed_spans", None)) else None


def text_lengths(embedder: object, texts: Sequence[str]) -> list[int]:
    """How long each text is for ``embedder``: the token counts it gives when it can
    (``token_counts(texts)``), else the characters.

    >>> text_lengths(object(), ["calcium", "salts"])
    [7, 5]
    """
    counts = getattr(embedder, "token_counts", None)
    return list(counts(texts)) if callable(counts) else [len(t) for t in texts]
