"""The `openai` backend against a local OpenAI-compatible server that fails on purpose:
retries with backoff on 429 and 5xx, no retry on 4xx, and a per-process concurrency limit."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import uvicorn
from conftest import GOLD, QUESTION
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from core.settings import load_settings
from ingest import ingest
from qa import ask
from qa.llms import GeneratorError
from qa.openai_backend import OpenAIGenerator

MESSAGES = [{"role": "user", "content": "hi"}]


class Script:
    """What the fake server does next: a queue of failures, then streamed success."""

    def __init__(self) -> None:
        self.failures: list[tuple[int, dict]] = []
        self.always: tuple[int, dict] | None = None
        self.reply = GOLD + " [1]"
        self.hold = 0.0
        self.times: list[float] = []
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()


def fake_openai(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        await request.json()
        with script.lock:
            script.times.append(time.monotonic())
            failure = script.failures.pop(0) if script.failures else script.always
        if failure:
            status, headers = failure
            return JSONResponse({"error": {"message": f"failing on purpose ({status})", "type": "x"}},
                                status_code=status, headers=headers)

        async def events():
            with script.lock:
                script.in_flight += 1
                script.most_in_flight = max(script.most_in_flight, script.in_flight)
            try:
                await asyncio.sleep(script.hold)
                for word in script.reply.split(" "):
                    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                             "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                    yield f"data: {json.dumps(chunk)}\n\n"
                yield "data: [DONE]\n\n"
            finally:
                with script.lock:
                    script.in_flight -= 1

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def endpoint():
    script = Script()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake_openai(script), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield script, f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def script(endpoint):
    script, _ = endpoint
    script.failures, script.always, script.times, script.hold = [], None, [], 0.0
    script.most_in_flight = 0
    return script


def settings_for(endpoint, tmp_path, **changes):
    values = {"openai_base_url": endpoint[1], "openai_model": "fake", "openai_backoff": 0.05,
              "llm_timeout": 20, **changes}
    return load_settings(environ={}, home=tmp_path / "home", judge="fake", **values)


def test_rate_limits_and_server_errors_are_retried(endpoint, script, tmp_path, seed_corpus, fake_embedder):
    script.failures = [(429, {"retry-after": "0"}), (503, {}), (502, {})]
    settings = settings_for(endpoint, tmp_path, corpus_dir=seed_corpus, openai_retries=3)
    ingest(settings, embedder=fake_embedder)
    answer = ask(QUESTION, llm="openai", settings=settings, embedder=fake_embedder)
    assert len(script.times) == 4 and not answer.note
    assert answer.text == GOLD + " [1]"


def test_backoff_grows_and_gives_up_after_the_retries(endpoint, script, tmp_path):
    script.always = (503, {})
    generator = OpenAIGenerator(settings_for(endpoint, tmp_path, openai_retries=3, openai_backoff=0.1))
    with pytest.raises(GeneratorError, match="503") as caught:
        list(generator.stream(MESSAGES))
    assert "openai_base_url" in str(caught.value)
    gaps = [b - a for a, b in zip(script.times, script.times[1:])]
    assert len(script.times) == 4  # one try and three retries
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4 and gaps[2] > gaps[0]


def test_client_errors_are_not_retried(endpoint, script, tmp_path):
    script.always = (400, {})
    generator = OpenAIGenerator(settings_for(endpoint, tmp_path, openai_retries=3))
    with pytest.raises(GeneratorError, match="400"):
        list(generator.stream(MESSAGES))
    assert len(script.times) == 1


def test_retries_stop_at_the_deadline(endpoint, script, tmp_path):
    script.always = (429, {"retry-after": "5"})
    generator = OpenAIGenerator(settings_for(endpoint, tmp_path, openai_retries=5, llm_timeout=2))
    began = time.monotonic()
    with pytest.raises(GeneratorError, match="429"):
        list(generator.stream(MESSAGES))
    assert time.monotonic() - began < 2 and len(script.times) == 1


def test_concurrency_is_limited_per_process(endpoint, script, tmp_path):
    script.hold = 0.3
    generator = OpenAIGenerator(settings_for(endpoint, tmp_path, llm_concurrency=2))
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda _: "".join(generator.stream(MESSAGES)), range(6)))
    assert all(GOLD in reply for reply in replies)
    assert script.most_in_flight == 2


def test_no_concurrency_limit_when_set_to_zero(endpoint, script, tmp_path):
    script.hold = 0.3
    generator = OpenAIGenerator(settings_for(endpoint, tmp_path, llm_concurrency=0))
    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(lambda _: "".join(generator.stream(MESSAGES)), range(5)))
    assert script.most_in_flight == 5
