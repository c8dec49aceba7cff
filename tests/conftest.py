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
# The seed question most tests ask, and the one source sentence that answers it.
QUESTION = "What is the most frequent cause of metastatic calcinosis cutis?"
GOLD = "Chronic renal failure is the most frequent underlying cause."


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
        from core.text import tokenize

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
        yield from re.findall(r"\S+\s*", reply)


class FakeJudge:
    """Deterministic judge: the share of the question's words that the evidence (sentence,
    heading, sentence before) holds; checking a claim, the lower of that and the share of
    the claim's words it holds."""

    name = "fake-judge"

    def __init__(self) -> None:
        from judge import Thresholds

        self.thresholds = Thresholds(answer=0.7, extra=0.95, claim=0.8)
        self.calls = 0
        self.scale = 1.0  # multiplies every probability

    def score(self, pairs):
        from core.text import tokenize
        from judge import CLAIM_MARKER

        self.calls += 1
        out = []
        for query, evidence in pairs:
            question, _, claim = query.partition(CLAIM_MARKER)
            held = set(tokenize(evidence))
            shares = [len(words & held) / len(words) if words else 0.0
                      for words in ({*tokenize(question)}, {*tokenize(claim)} if claim else None) if words is not None]
            out.append(self.scale * min(shares))
        return np.array(out, dtype=np.float32)


@pytest.fixture(autouse=True)
def fake_judge():
    """Registered as the judge named 'fake'; the `settings` fixture selects it."""
    from judge import register_judge

    judge = FakeJudge()
    register_judge("fake", judge)
    return judge


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def seed_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    return corpus


@pytest.fixture
def settings(seed_corpus, tmp_path, fake_embedder):
    """Settings with a copy of the seed corpus indexed by the fake embedder."""
    from core.settings import load_settings
    from ingest import ingest

    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=seed_corpus, judge="fake")
    ingest(settings, embedder=fake_embedder)
    return settings


@pytest.fixture
def app_settings(settings, fake_embedder, monkeypatch):
    """The `settings` fixture's index, served with the fake embedder by name."""
    from ingest import embedders

    monkeypatch.setitem(embedders._cache, fake_embedder.name, fake_embedder)
    return settings.model_copy(update={"embedder": fake_embedder.name, "llm": "extractive"})


def client_for(settings, **changes):
    """The whole app (Guard, API, chat) in process, with ``changes`` to the settings."""
    from starlette.testclient import TestClient

    from app.serve import create_app

    return TestClient(create_app(settings.model_copy(update=changes)), base_url="http://localhost:7860",
                      raise_server_exceptions=False)


@pytest.fixture(scope="session")
def real_embedder():
    from ingest.embedders import make_embedder

    return make_embedder("minilm")


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory, real_embedder):
    """Settings with an index of the seed corpus built by the real embedder (once per run)."""
    from core.settings import load_settings
    from ingest import ingest

    home = tmp_path_factory.mktemp("real-home")
    settings = load_settings(environ={}, home=home, corpus_dir=SEED.parent)
    ingest(settings, embedder=real_embedder)
    return settings


class Server:
    """A real ``sourceqa serve`` process on a free loopback port."""

    def __init__(self, home: Path, env: dict[str, str], log: Path) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        self.log = log
        environ = {**{k: v for k, v in os.environ.items() if not k.startswith("SOURCEQA_")},
                   "SOURCEQA_HOME": str(home), "SOURCEQA_CORPUS_DIR": str(SEED.parent),
                   "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **env}
        with open(log, "wb") as output:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)], cwd=REPO, env=environ,
                stdout=output, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120.0) -> Server:
        """Until /healthz says the index is loaded in memory (models warmed up)."""
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).json().get("index_loaded"):
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server not ready in {timeout} s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except Exception:  # noqa: BLE001
            self.process.kill()


@pytest.fixture(scope="session")
def server(real_settings, tmp_path_factory):
    """The web chat + HTTP API with the local model as its backend (the default is
    extractive; the model's streaming path is the one worth driving end to end) and no token."""
    server = Server(Path(real_settings.home), {"SOURCEQA_LLM": "local"},
                    tmp_path_factory.mktemp("logs") / "server.log")
    yield server.wait_ready()
    server.stop()


@pytest.fixture(scope="session")
def token_server(real_settings, tmp_path_factory):
    """The same app with a bearer token set."""
    server = Server(Path(real_settings.home), {"SOURCEQA_API_TOKEN": "s3cret-token", "SOURCEQA_LLM": "extractive"},
                    tmp_path_factory.mktemp("logs") / "token-server.log")
    yield server.wait_ready()
    server.stop()


HOSTILE = REPO / "tests" / "data" / "hostile"


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory):
    """The app over a corpus with injected instructions and HTML, and a dead LLM endpoint."""
    home = tmp_path_factory.mktemp("hostile-home")
    server = Server(home, {"SOURCEQA_CORPUS_DIR": str(HOSTILE), "SOURCEQA_LLM": "extractive",
                           "SOURCEQA_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "SOURCEQA_LLM_TIMEOUT": "5"},
                    tmp_path_factory.mktemp("logs") / "hostile-server.log")
    yield server.wait_ready()
    server.stop()
