"""Shared fixtures: an isolated data directory, deterministic fakes, the real models."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus" / "calcinosis_cutis.txt"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Point the data directory at tmp_path and keep the network and user files out."""
    for key in list(os.environ):
        if key.startswith("SOURCEQA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SOURCEQA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "home"


class FakeEmbedder:
    """Deterministic bag-of-words embedder: each stemmed word hashes to a dimension."""

    name = "fake-hash"
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def embed(self, texts):
        from ingest.keyword import tokenize

        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text) or ["empty"]:
                out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dimension] += 1
            out[row] /= np.linalg.norm(out[row])
        return out


class FakeLLM:
    """A Generator that replays scripted replies and records the messages it saw."""

    def __init__(self, *replies: str, name: str = "fake") -> None:
        self.replies = list(replies)
        self.name = name
        self.seen: list[list[dict]] = []

    def enqueue(self, reply: str) -> None:
        self.replies.append(reply)

    def stream(self, messages):
        self.seen.append(messages)
        reply = self.replies.pop(0)
        for piece in re.findall(r"\S+\s*", reply):
            yield piece


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def seed_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    return corpus


@pytest.fixture(scope="session")
def real_embedder():
    from ingest.embedders import make_embedder

    return make_embedder("minilm")


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory, real_embedder):
    """Settings with an index of the seed corpus built by the real embedder (once per run)."""
    from ingest import ingest, load_settings

    home = tmp_path_factory.mktemp("real-home")
    settings = load_settings(environ={}, home=home, corpus_dir=SEED.parent)
    ingest(settings, embedder=real_embedder)
    return settings
