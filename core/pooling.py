"""Sentence vectors from a transformer's token states: the mean of a whole text's tokens
(the embedder's pooling), or of the tokens of spans of a text from the text's own pass
(sentences embedded in their chunk's pass, one forward pass per chunk)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit vectors: the mean of each text's token states (padding left out), normalised."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def span_pooled(hidden: np.ndarray, offsets: Sequence[tuple[int, int]], special: Sequence[int],
                spans: Sequence[Sequence[tuple[int, int]]], kept_to: int | None = None) -> list[np.ndarray | None]:
    """Unit vectors for spans of one text from its pass: the mean of the states of the
    tokens whose characters (``offsets``) overlap any of a span's ranges, with the pass's
    special tokens ([CLS], [SEP]: ``special`` 1) as the text embedded alone would have
    them, normalised. ``hidden`` holds the pass's tokens without padding; ``kept_to`` is
    where the kept tokens end when the text was truncated: a span reaching past it, or
    one without a token, is None."""
    starts = np.array([s for s, _ in offsets], dtype=np.int64)
    ends = np.array([e for _, e in offsets], dtype=np.int64)
    text = np.asarray(special, dtype=bool) == 0
    out: list[np.ndarray | None] = []
    for ranges in spans:
        if kept_to is not None and max(end for _, end in ranges) > kept_to:
            out.append(None)
            continue
        inside = np.zeros(len(offsets), dtype=bool)
        for begin, end in ranges:
            inside |= text & (ends > begin) & (starts < end)
        if not inside.any():
            out.append(None)
            continue
        pooled = hidden[inside | ~text].mean(axis=0)
        out.append((pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32))
    return out
