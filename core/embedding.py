"""The embedder's interface: ingest embeds chunks and sentences with it, qa embeds the
question with the same one (``ingest.make_embedder`` builds one by name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...
