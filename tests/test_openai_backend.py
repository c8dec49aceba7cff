"""The `openai` backend against a real OpenAI-compatible server: llama-cpp-python's
server serving the packaged model on 127.0.0.1 (no mock)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ingest import load_index
from qa import ask
from qa.llms import packaged_smollm2

pytestmark = pytest.mark.real


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_smollm2()),
         "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 90
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url + "/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("OpenAI-compatible server did not start in 90 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_openai_backend_answers_with_verified_exact_citations(server, real_settings, real_embedder):
    settings = real_settings.model_copy(update={"openai_base_url": server, "openai_model": "smollm2"})
    answer = ask("What is the most frequent cause of metastatic calcinosis cutis?", llm="openai",
                 settings=settings, embedder=real_embedder)
    assert not answer.abstained and answer.llm == "openai"
    assert answer.timings["generation"] > 0
    assert "failed" not in answer.note  # the server answered; nothing fell back for a failure
    documents = load_index(settings.index_path).documents
    assert any("Chronic renal failure" in c.quote for c in answer.citations)
    for citation in answer.citations:
        assert documents[citation.source][citation.start:citation.end] == citation.quote


def test_openai_backend_declines_what_the_source_does_not_say(server, real_settings, real_embedder):
    settings = real_settings.model_copy(update={"openai_base_url": server, "openai_model": "smollm2"})
    # (The judge v1 answers "What dose of diltiazem is used ...?" with the mainstay sentence:
    # a known miss, counted by the eval gates and tests/test_real_models.py.)
    answer = ask("Which gene mutation causes tumoral calcinosis?", llm="openai",
                 settings=settings, embedder=real_embedder)
    assert answer.abstained and not answer.citations


def test_unreachable_endpoint_falls_back_and_says_so(real_settings, real_embedder):
    settings = real_settings.model_copy(update={"openai_base_url": f"http://127.0.0.1:{free_port()}/v1",
                                                "llm_timeout": 5.0})
    answer = ask("What is the most frequent cause of metastatic calcinosis cutis?", llm="openai",
                 settings=settings, embedder=real_embedder)
    assert not answer.abstained and "failed" in answer.note
    assert "Chronic renal failure is the most frequent underlying cause." in answer.text
