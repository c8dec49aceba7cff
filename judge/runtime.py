"""Loading and running a judge, chosen by name (:func:`make_judge`).

* ``bundled``: the judge v2 in ``judge/model`` (:mod:`judge.network`): an answer logit
  per pair against "no answer" at 0, and a short-answer span;
* ``ce:/path``: a judge v2 folder, or any one-output cross-encoder folder (what a
  sentence-transformers CrossEncoder saves), which decides pair by pair.

Each runs on ONNX Runtime (``model_runtime = "onnx"``, the default: no torch while
answering) or torch; both give the same numbers to about 1e-5 (tests/test_onnx.py).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .calibration import load_thresholds
from .folder import is_v2
from .inputs import MAX_TOKENS, SEPARATOR
from .interface import Judge, JudgeMissing, Verdict, pairwise_verdict
from .spans import best_span, chars

BUNDLED_JUDGE = Path(__file__).resolve().parent / "model"
# Pairs per forward pass: ONNX Runtime pads each batch to its longest pair, so small
# batches of pairs sorted by length pad less; a speed setting, not an answer threshold.
BATCH_SIZE = 8
SHORT_CANDIDATES = 3  # short answers are read for the best few candidates only


def torch_network():
    """The judge v2 torch module class (imports torch; training and export use it)."""
    from .network import JudgeNetwork

    return JudgeNetwork


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def _is_v2(folder: Path) -> bool:
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise JudgeMissing(f"judge model folder {folder} has no readable config.json; rebuild it with "
                           "`make train-judge` or set `judge` to 'ce:/path/to/cross-encoder'") from error
    if is_v2(config):
        return True
    labels = config.get("num_labels") or len(config.get("id2label") or {"0": ""})
    if labels != 1:
        raise JudgeMissing(f"judge model in {folder} has {labels} outputs; a judge needs one (a relevance "
                           "score) or the sourceqa judge v2 heads")
    return False


def verdict(logits: np.ndarray, shorts: Sequence[tuple[int, int] | None]) -> Verdict:
    """One question's Verdict from its candidates' answer logits ("no answer" is 0).

    >>> v = verdict(np.array([0.0, 0.0]), [None, None])
    >>> round(v.answer, 3), v.shares
    (0.667, (0.5, 0.5))
    """
    if not len(logits):
        return Verdict(0.0, (), (), ())
    values = logits.astype(np.float64)
    top = max(0.0, float(values.max()))
    mass = np.exp(values - top)
    null = np.exp(-top)
    shares = mass / mass.sum()
    return Verdict(float(mass.sum() / (mass.sum() + null)), tuple(float(p) for p in _sigmoid(values)),
                   tuple(float(s) for s in shares), tuple(shorts))


def _short(start: np.ndarray, end: np.ndarray, encoding, evidence: str) -> tuple[int, int] | None:
    """The span head's best phrase inside the evidence's sentence, as its characters."""
    limit = evidence.find(SEPARATOR)
    limit = len(evidence) if limit < 0 else limit
    offsets = list(encoding.offsets)
    allowed = [s == 1 and b > a and b <= limit for s, (a, b) in zip(encoding.sequence_ids, offsets)]
    span = best_span(start[:len(offsets)], end[:len(offsets)], allowed)
    return None if span is None else chars(span, offsets)


class OnnxJudge:
    """A judge folder run by ONNX Runtime (:mod:`core.onnx`); v2 or a one-output cross-encoder."""

    def __init__(self, path: Path, name: str, max_tokens: int = MAX_TOKENS) -> None:
        from core.onnx import OnnxModel

        path = Path(path)
        self.v2 = _is_v2(path)
        export = None
        if self.v2:
            def export(folder, out, opset):
                from .network import export_onnx
                export_onnx(folder, out, opset)
        try:
            self._model = OnnxModel(path, "judge-v2" if self.v2 else "classifier", max_tokens, export=export)
        except (OSError, ValueError, RuntimeError) as error:
            raise JudgeMissing(f"cannot load the judge model from {path}: {error}") from error
        self.name, self.folder, self.max_tokens = name, path, max_tokens
        self.thresholds = load_thresholds(path)

    def _run(self, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, list]:
        """Answer logits, and per pair (start, end, encoding) for v2 (None otherwise)."""
        logits = np.zeros(len(pairs), dtype=np.float32)
        rest: list = [None] * len(pairs)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for begin in range(0, len(order), BATCH_SIZE):
            rows = order[begin:begin + BATCH_SIZE]
            outputs, encodings = self._model.run_all([pairs[i] for i in rows])
            logits[rows] = outputs[0] if self.v2 else outputs[0][:, 0]
            if self.v2:
                for k, i in enumerate(rows):
                    rest[i] = (outputs[1][k], outputs[2][k], encodings[k])
        return logits, rest

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return _sigmoid(self._run(pairs)[0]).astype(np.float32)

    def decide(self, question: str, evidences: Sequence[str]) -> Verdict:
        logits, rest = self._run([(question, e) for e in evidences])
        if not self.v2:
            return pairwise_verdict(_sigmoid(logits))
        best = set(np.argsort(-logits)[:SHORT_CANDIDATES].tolist())
        shorts = [_short(*rest[i], evidences[i]) if i in best else None for i in range(len(evidences))]
        return verdict(logits, shorts)


class TorchJudge:
    """The same folders run by torch (slower to start; for checks and training)."""

    def __init__(self, path: Path, name: str, max_tokens: int = MAX_TOKENS) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = Path(path)
        self.v2 = _is_v2(path)
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(path))
            self._model = (torch_network().load(path) if self.v2 else
                           AutoModelForSequenceClassification.from_pretrained(str(path), dtype=torch.float32).eval())
        except (OSError, ValueError, RuntimeError) as error:
            raise JudgeMissing(f"cannot load the judge model from {path}: {error}") from error
        self.name, self.folder, self.max_tokens = name, path, max_tokens
        self.thresholds = load_thresholds(path)
        self._torch = torch
        self._lock = threading.Lock()

    def _run(self, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, list]:
        logits = np.zeros(len(pairs), dtype=np.float32)
        rest: list = [None] * len(pairs)
        with self._lock, self._torch.inference_mode():
            for begin in range(0, len(pairs), 32):
                rows = list(range(begin, min(begin + 32, len(pairs))))
                batch = self._tokenizer([pairs[i][0] for i in rows], [pairs[i][1] for i in rows], padding=True,
                                        truncation="longest_first", max_length=self.max_tokens, return_tensors="pt")
                if not self.v2:
                    logits[rows] = self._model(**batch).logits[:, 0].numpy()
                    continue
                answer, start, end = self._model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
                logits[rows] = answer.numpy()
                for k, i in enumerate(rows):
                    rest[i] = (start[k].numpy(), end[k].numpy(), _TorchEncoding(batch, k))
        return logits, rest

    score = OnnxJudge.score
    decide = OnnxJudge.decide


class _TorchEncoding:
    """The two fields of a tokenizers Encoding that :func:`_short` reads."""

    def __init__(self, batch, row: int) -> None:
        self.sequence_ids = batch.sequence_ids(row)
        self.offsets = [tuple(o) for o in batch.encodings[row].offsets]


RUNTIMES = {"onnx": OnnxJudge, "torch": TorchJudge}
_cache: dict[str, Judge] = {}
_cache_lock = threading.Lock()


def register_judge(name: str, judge: Judge) -> None:
    """Make ``judge`` available under ``name`` (tests register deterministic fakes here)."""
    with _cache_lock:
        _cache[name] = judge


def make_judge(name: str, runtime: str = "onnx") -> Judge:
    """'bundled' (the judge v2 trained by judge_training, shipped in judge/model/) or
    'ce:/path' (a judge v2 folder or any one-output cross-encoder folder), run by
    ``runtime`` ('onnx' or 'torch'). Loaded once per process."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown model runtime {runtime!r}; use 'onnx' or 'torch'")
    with _cache_lock:
        if name in _cache:  # registered by register_judge
            return _cache[name]
        key = f"{runtime}:{name}"
        if key not in _cache:
            if name == "bundled":
                _cache[key] = RUNTIMES[runtime](BUNDLED_JUDGE, "sourceqa-judge-v2")
            elif name.startswith("ce:"):
                _cache[key] = RUNTIMES[runtime](Path(name[3:]), name)
            else:
                raise ValueError(f"unknown judge {name!r}; use 'bundled' or 'ce:/path/to/cross-encoder'")
        return _cache[key]
