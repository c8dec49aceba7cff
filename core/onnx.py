"""ONNX Runtime for the two small transformers the product runs on every question: the
embedder (all-MiniLM-L6-v2, mean-pooled) and the judge (a one-output cross-encoder).

Answering needs neither torch nor transformers: a model is exported once, with torch's
own exporter (``torch.onnx.export``), into a cache folder keyed by the model's files, and
from then on read by ``onnxruntime`` with the model's own ``tokenizer.json`` (the Rust
``tokenizers`` library). The export is exact (fp32, the same graph): vectors and judge
scores agree with torch to about 1e-6 (``tests/test_onnx.py`` checks it), so rankings,
calibrated thresholds and answers are unchanged; a process starts in a fraction of the
time and embeds 1.5 times faster on 2 cores (bench/RESULTS.md). ``make install`` exports
both models; a missing export is made on first use (a few seconds, logged).

A kind ending in '-int8' is another kind's export with int8 weights (:func:`quantize_int8`,
ONNX Runtime's dynamic quantization, made from the fp32 export on first use): not exact
(cosine to the fp32 vectors 0.988 or more, rankings move a little; bench/RESULTS.md), so
only the opt-in ``minilm-int8`` embedder runs it, under a name of its own.

The cache folder is ``$SOURCEQA_MODEL_CACHE``, else ``$XDG_CACHE_HOME/sourceqa/onnx``,
else ``~/.cache/sourceqa/onnx``. Each export records the folder it came from; exporting
removes the exports whose folder is gone or has changed, so the cache does not grow with
every fresh checkout.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
Exporter = Callable[[Path, Path, int], None]  # (model folder, ONNX file to write, opset)
EXPORT_VERSION = 1  # bump when the export itself changes: every cached export is remade
OPSET = 17
INT8 = "-int8"  # the kind of a model's int8 copy: its kind and this (quantize_int8)
# Batches run side by side by OnnxModel.run_many (each lane on its own cores) instead of
# one batch at a time on every core: on 2 cores, 600 chunks of 12 papers in batches of four
# took 17.2 s in two single-threaded lanes against 22.2 s on one two-threaded session
# (three rounds each, the best); small batches do not split well across cores.
MAX_LANES = 4


def cache_dir() -> Path:
    configured = os.environ.get("SOURCEQA_MODEL_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sourceqa" / "onnx"


def _fingerprint(model_dir: Path, kind: str) -> str:
    """What an export is reused by: the model folder, its files' sizes and times, the kind."""
    parts = [str(model_dir.resolve()), kind, str(EXPORT_VERSION)]
    for path in sorted(model_dir.iterdir()):
        if path.is_file():
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def exported(model_dir: Path, kind: str, export: Exporter | None = None) -> Path:
    """The ONNX file of ``model_dir`` ('embedding': last hidden state; 'classifier':
    logits; another kind: written by ``export(model_dir, out, opset)``, which a model
    with its own graph passes; a kind ending in '-int8': that kind's export with its
    weights quantized, :func:`quantize_int8`), exported now when the cache has none.
    Concurrent processes export once."""
    model_dir = Path(model_dir)
    if kind.endswith(INT8):
        full = exported(model_dir, kind[:-len(INT8)], export)  # before the lock: it takes it too
        export = lambda _folder, out, _opset: quantize_int8(full, out)
    folder = cache_dir()
    target = folder / f"{model_dir.name}-{kind}-{_fingerprint(model_dir, kind)}.onnx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".export.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            log.warning("exporting %s to ONNX (once; cached in %s)", model_dir, folder)
            partial = target.with_suffix(f".partial-{os.getpid()}")
            try:
                if export is not None:
                    export(model_dir, partial, OPSET)
                else:
                    _export(model_dir, kind, partial)
                target.with_suffix(".source").write_text(str(model_dir.resolve()), "utf-8")
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            _prune(folder, target, f"{model_dir.name}-{kind}-")
    return target


def _prune(folder: Path, kept: Path, prefix: str) -> None:
    """Remove exports that no model folder will ask for again: those of a folder that is
    gone (a deleted checkout or virtualenv), or this kind's of this folder's earlier files
    (another kind of the same folder, its int8 copy, stays)."""
    source = kept.with_suffix(".source").read_text("utf-8")
    for other in folder.glob("*.onnx"):
        if other == kept:
            continue
        origin = origin_of(other)
        same_kind = other.name.startswith(prefix) and re.fullmatch(r"[0-9a-f]{20}\.onnx", other.name[len(prefix):])
        if not origin or not Path(origin).is_dir() or (origin == source and same_kind):
            other.unlink(missing_ok=True)
            other.with_suffix(".source").unlink(missing_ok=True)


def origin_of(export: Path) -> str:
    """The model folder an export was made from ('' when it does not say)."""
    try:
        return export.with_suffix(".source").read_text("utf-8")
    except OSError:
        return ""


def quantize_int8(model: Path, out: Path) -> None:
    """Write ``model`` with the weights of its matrix products as int8, one scale per
    output channel, and activations quantized per batch as it runs (ONNX Runtime's
    dynamic quantization: nothing to calibrate); the rest stays fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)  # it logs a hint to pre-process (shape inference) on the root logger
    try:
        quantize_dynamic(str(model), str(out), per_channel=True, weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


def _export(model_dir: Path, kind: str, out: Path) -> None:
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    loader = AutoModel if kind == "embedding" else AutoModelForSequenceClassification
    model = loader.from_pretrained(str(model_dir), dtype=torch.float32).eval()

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            output = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids)
            return output.last_hidden_state if kind == "embedding" else output.logits

    sample = torch.ones((2, 8), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "output"]}
    with torch.inference_mode():
        torch.onnx.export(Graph(), (sample, sample, torch.zeros_like(sample)), str(out),
                          input_names=names, output_names=["output"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)


class OnnxModel:
    """One exported transformer and its tokenizer; ``run`` pads each batch to its own
    longest text. Callers that embed many texts :meth:`encode` them first and batch them
    by token count (:meth:`run_encoded`): characters say little of a text's tokens (a
    PDF's formulas take several times the tokens per character of prose), and a batch
    padded to its longest text computes every padded position."""

    def __init__(self, model_dir: Path, kind: str, max_tokens: int, threads: int = 0,
                 export: Exporter | None = None) -> None:
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self._file = exported(model_dir, kind, export)
        self._session = self._open(threads)  # 0: onnxruntime's default, one thread per core
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens, strategy="longest_first")
        self._tokenizer.no_padding()  # a tokenizer.json may pad to a fixed length; batches pad here
        self._pad_id = self._pad_id_of(model_dir)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        self._lanes: tuple[int, object] | None = None  # run_many's: how many, and their session

    def _open(self, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        return onnxruntime.InferenceSession(str(self._file), options, providers=["CPUExecutionProvider"])

    @staticmethod
    def _pad_id_of(model_dir: Path) -> int:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        return int(config.get("pad_token_id") or 0)

    def encode(self, texts: Sequence[str] | Sequence[tuple[str, str]]) -> list:
        """Each text's encoding, truncated and unpadded: ``len(encoding.ids)`` is its
        token count."""
        return self._tokenizer.encode_batch(list(texts))

    def run(self, texts: Sequence[str] | Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """The model's (first) output for one batch, and the batch's attention mask."""
        outputs, mask = self.run_encoded(self.encode(texts))
        return outputs[0], mask

    def run_all(self, texts: Sequence[str] | Sequence[tuple[str, str]]) -> tuple[list[np.ndarray], list]:
        """Every output of the model for one batch, and the batch's encodings, padded to
        its longest (their ``offsets`` and ``sequence_ids`` place a word piece in its text)."""
        encodings = self.encode(texts)
        outputs, _ = self.run_encoded(encodings)
        longest = max((len(e.ids) for e in encodings), default=0)
        for encoding in encodings:
            encoding.pad(longest, pad_id=self._pad_id)
        return outputs, encodings

    def run_encoded(self, encodings: Sequence) -> tuple[list[np.ndarray], np.ndarray]:
        """Every output of the model for one batch of :meth:`encode`'s encodings, padded
        to the batch's longest, and the padded batch's attention mask."""
        feed, mask = self._feed(encodings)
        with self._lock:
            return self._session.run(None, feed), mask

    def run_many(self, batches: Sequence[Sequence]) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
        """:meth:`run_encoded` of each batch, in order. Several batches run side by side
        in lanes (up to :data:`MAX_LANES`, one per core or group of cores) on a session
        whose runs each keep to their lane's threads; a few batches ahead at most are held."""
        lanes, session = self._lane_session() if len(batches) > 1 else (1, None)
        if session is None:
            yield from (self.run_encoded(batch) for batch in batches)
            return

        def run(batch: Sequence) -> tuple[list[np.ndarray], np.ndarray]:
            feed, mask = self._feed(batch)
            return session.run(None, feed), mask  # onnxruntime's runs of one session may overlap

        with ThreadPoolExecutor(lanes, thread_name_prefix="onnx-lane") as pool:
            pending: deque = deque()
            for batch in batches:
                pending.append(pool.submit(run, batch))
                if len(pending) >= 2 * lanes:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _lane_session(self) -> tuple[int, object | None]:
        """How many lanes this machine gets, and their session (made on first use; None
        with a single core, where lanes gain nothing)."""
        with self._lock:
            if self._lanes is None:
                cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
                lanes = min(cores, MAX_LANES)
                self._lanes = (lanes, self._open(cores // lanes) if lanes > 1 else None)
            return self._lanes

    def _feed(self, encodings: Sequence) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The model's inputs for one batch, padded to its longest, and its attention mask."""
        longest = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), longest), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), longest), dtype=np.int64)
        types = np.zeros((len(encodings), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = encoding.ids, encoding.attention_mask, encoding.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {k: v for k, v in feed.items() if k in self._inputs}, mask
