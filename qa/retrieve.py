"""Hybrid retrieval: FAISS dense search and BM25 keyword search, fused by reciprocal rank.

Both sides read the chunk's heading path with its text, so a question about
"tumoral calcinosis" finds that section even when the text only says "It ...".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.answer import Passage
from core.embedding import Embedder
from core.index import Index

from .thresholds import MIN_SEARCH_DEPTH, RRF_K, SEARCH_DEPTH_FACTOR


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    question_vector: np.ndarray


def fuse(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion of several best-first rankings of row ids.

    >>> fuse([[7, 3], [3]])
    {7: 0.01639344262295082, 3: 0.03252247488101534}
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank + 1)
    return scores


class HybridRetriever:
    """``sources``: retrieve only chunks of these documents (None: all). Both searches are
    limited to them before they rank (:meth:`core.index.Index.search_dense`), so the top
    ``top_k`` all come from them while they hold that many chunks."""

    def __init__(self, index: Index, embedder: Embedder, sources: tuple[str, ...] | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.sources = sources

    def retrieve(self, question: str, top_k: int) -> Retrieval:
        vector = self.embedder.embed([question])[0]
        depth = max(top_k * SEARCH_DEPTH_FACTOR, MIN_SEARCH_DEPTH)
        only = {} if self.sources is None else {"sources": self.sources}
        dense = dict(self.index.search_dense(vector, depth, **only))
        keyword = [row for row, _ in self.index.search_keywords(question, depth, **only)]
        fused = fuse([list(dense), keyword])
        best = sorted(fused, key=lambda row: (-fused[row], row))[:top_k]
        passages = []
        for row in best:
            chunk = self.index.chunks[row]
            cosine = dense.get(row)
            if cosine is None:  # ranked by keywords only: score it densely for abstention
                cosine = self.index.chunk_cosine(row, vector)
            passages.append(Passage(chunk_id=chunk.id, source=chunk.source, section=chunk.section,
                                    start=chunk.start, end=chunk.end, text=chunk.text,
                                    score=fused[row], dense=float(cosine)))
        return Retrieval(passages, vector)
