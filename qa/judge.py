"""The judge: a trained cross-encoder that reads (question, evidence) and says how likely
the evidence answers the question; read with a claim, how likely the claim, as an answer
to that question, is supported by the evidence.

One model serves both uses, because both ask the same thing: does this source sentence,
read with its heading path and the sentence before it, answer this question (with this
answer)? ``qa/train.py`` trains it from the packaged all-MiniLM-L6-v2 weights; the
weights ship in ``qa/judge_model/`` (see its README for data, recipe and metrics).

>>> judge_query("Who killed Harold II?", "King Harold II of England.")
'Who killed Harold II? Answer: King Harold II of England.'
>>> evidence_text("It works by modifying calcium levels.", "Treatment", "Diltiazem is used.")
'It works by modifying calcium levels. || Treatment || Diltiazem is used.'
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .thresholds import JUDGE_MAX_TOKENS, Thresholds, load_thresholds

BUNDLED_JUDGE = Path(__file__).resolve().parent / "judge_model"
CLAIM_MARKER = " Answer: "
# Question + claim + sentence + context; longer pairs lose the context's tail (qa/thresholds.py).
BATCH_SIZE = 32  # pairs per forward pass: a speed and memory setting, not an answer threshold
# ONNX Runtime pads each batch to its longest pair only: smaller batches of pairs sorted by
# length pad less (16 candidates: 2 batches, about a quarter less work than one of 16).
ONNX_BATCH_SIZE = 8


def judge_query(question: str, claim: str | None = None) -> str:
    """The first text the judge reads: the question, and the claim when checking one."""
    if not claim:
        return question
    return f"{question}{CLAIM_MARKER}{claim}" if question else CLAIM_MARKER.strip() + " " + claim


def evidence_text(sentence: str, heading: str, previous: str) -> str:
    """The second text: the sentence first (so truncation cuts context, never the
    sentence), then its heading path and the sentence before it, which say what a
    pronoun like "It" refers to."""
    return f"{sentence} || {heading} || {previous}"


class Judge(Protocol):
    name: str
    thresholds: Thresholds  # calibrated for this model (qa/thresholds.py)

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Probabilities in [0, 1], one per (query, evidence) pair."""
        ...


class JudgeMissing(RuntimeError):
    """The judge's model folder is missing or unreadable."""


class CrossEncoderJudge:
    """Any Hugging Face sequence-classification folder with one output (a
    sentence-transformers CrossEncoder saves exactly this); loaded offline on the CPU."""

    def __init__(self, path: Path, name: str, max_tokens: int = JUDGE_MAX_TOKENS) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = Path(path)
        if not (path / "config.json").is_file():
            raise JudgeMissing(f"judge model folder {path} has no config.json; rebuild it with "
                               "`make train-judge` or set `judge` to 'ce:/path/to/cross-encoder'")
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(path))
            self._model = AutoModelForSequenceClassification.from_pretrained(
                str(path), dtype=torch.float32).eval()
        except (OSError, ValueError) as error:
            raise JudgeMissing(f"cannot load the judge model from {path}: {error}") from error
        if self._model.config.num_labels != 1:
            raise JudgeMissing(f"judge model in {path} has {self._model.config.num_labels} outputs; "
                               "a judge needs one (a relevance score)")
        self.name = name
        self.folder = path
        self.thresholds = load_thresholds(path)
        self.max_tokens = max_tokens
        self._torch = torch
        self._lock = threading.Lock()

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        # Short pairs first, so each batch pads to a similar length.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = np.zeros(len(pairs), dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            for begin in range(0, len(order), BATCH_SIZE):
                rows = order[begin:begin + BATCH_SIZE]
                batch = self._tokenizer([pairs[i][0] for i in rows], [pairs[i][1] for i in rows],
                                        padding=True, truncation="longest_first",
                                        max_length=self.max_tokens, return_tensors="pt")
                logits = self._model(**batch).logits[:, 0]
                out[rows] = self._torch.sigmoid(logits).numpy()
        return out


class OnnxJudge:
    """The same cross-encoder folder run by ONNX Runtime (:mod:`core.onnx`): the same
    scores as :class:`CrossEncoderJudge` to about 1e-6, without importing torch."""

    def __init__(self, path: Path, name: str, max_tokens: int = JUDGE_MAX_TOKENS) -> None:
        import json

        from core.onnx import OnnxModel

        path = Path(path)
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise JudgeMissing(f"judge model folder {path} has no readable config.json; rebuild it with "
                               "`make train-judge` or set `judge` to 'ce:/path/to/cross-encoder'") from error
        labels = config.get("num_labels") or len(config.get("id2label") or {"0": ""})
        if labels != 1:
            raise JudgeMissing(f"judge model in {path} has {labels} outputs; "
                               "a judge needs one (a relevance score)")
        try:
            self._model = OnnxModel(path, "classifier", max_tokens)
        except (OSError, ValueError, RuntimeError) as error:
            raise JudgeMissing(f"cannot load the judge model from {path}: {error}") from error
        self.name = name
        self.folder = path
        self.thresholds = load_thresholds(path)
        self.max_tokens = max_tokens

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        out = np.zeros(len(pairs), dtype=np.float32)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for begin in range(0, len(order), ONNX_BATCH_SIZE):
            rows = order[begin:begin + ONNX_BATCH_SIZE]
            logits, _ = self._model.run([pairs[i] for i in rows])
            out[rows] = 1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float64)))
        return out


RUNTIMES = {"onnx": OnnxJudge, "torch": CrossEncoderJudge}
_cache: dict[str, Judge] = {}
_cache_lock = threading.Lock()


def register_judge(name: str, judge: Judge) -> None:
    """Make ``judge`` available under ``name`` (tests register deterministic fakes here)."""
    with _cache_lock:
        _cache[name] = judge


def make_judge(name: str, runtime: str = "onnx") -> Judge:
    """'bundled' (the judge trained by qa/train.py, shipped in qa/judge_model/) or
    'ce:/path' (any local cross-encoder folder with one output), run by ``runtime``
    ('onnx' or 'torch'). Loaded once per process."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown model runtime {runtime!r}; use 'onnx' or 'torch'")
    with _cache_lock:
        if name in _cache:  # registered by register_judge
            return _cache[name]
        key = f"{runtime}:{name}"
        if key not in _cache:
            if name == "bundled":
                _cache[key] = RUNTIMES[runtime](BUNDLED_JUDGE, "sourceqa-judge-minilm")
            elif name.startswith("ce:"):
                _cache[key] = RUNTIMES[runtime](Path(name[3:]), name)
            else:
                raise ValueError(f"unknown judge {name!r}; use 'bundled' or 'ce:/path/to/cross-encoder'")
        return _cache[key]
