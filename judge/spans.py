"""Short answers from the span head: the best (start, end) word pieces of the evidence
sentence, as characters of that sentence.

>>> import numpy as np
>>> best_span(np.array([0., 5, 1, 0]), np.array([0., 1, 4, 0]), [False, True, True, True], 30)
(1, 2)
>>> chars((1, 2), [(0, 0), (0, 3), (4, 9), (10, 12)])
(0, 9)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_SPAN_TOKENS = 30  # the longest short answer, in word pieces (SQuAD answers are shorter)


def best_span(start: np.ndarray, end: np.ndarray, allowed: Sequence[bool],
              max_tokens: int = MAX_SPAN_TOKENS) -> tuple[int, int] | None:
    """The (start, end) positions, both ``allowed``, end within ``max_tokens`` of start,
    of the highest start + end logit; None when no position is allowed."""
    positions = [i for i, ok in enumerate(allowed) if ok]
    if not positions:
        return None
    best, where = -np.inf, None
    for i in positions:
        for j in positions:
            if i <= j < i + max_tokens and start[i] + end[j] > best:
                best, where = start[i] + end[j], (i, j)
    return where


def chars(span: tuple[int, int], offsets: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Character (start, end) of a word-piece span, from the tokenizer's offsets."""
    return offsets[span[0]][0], offsets[span[1]][1]
