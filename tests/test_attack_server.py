"""The attack run's server findings (issue 13), each as a test that failed before its fix.

The app runs in-process (Starlette's TestClient, through the real Guard, routes, API and
mounted Gradio chat) on the seed corpus indexed by the fake embedder, with the fake judge.
"""

from __future__ import annotations

import errno
import json
from typing import ClassVar

import pytest
from conftest import QUESTION, client_for

from app.guard import Guard
from app.routes import API_BODY_BYTES, RoutePolicy


@pytest.fixture
def client(app_settings):
    with client_for(app_settings) as test_client:
        yield test_client


def ask_body(**extra) -> dict:
    return {"question": QUESTION, **extra}


# -- 1. model loading ------------------------------------------------------------------------
@pytest.mark.parametrize("llm", [
    "gguf:/etc/passwd", "gguf:/no/such/model.gguf", "gguf:./SmolLM2-135M-Instruct.Q4_1.gguf",
    "gguf:/" + "a" * 5000, "st:/tmp",
])
def test_a_client_cannot_name_a_model_file(client, llm):
    response = client.post("/api/ask", json=ask_body(llm=llm))
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"].replace(llm[:60], "NAME")
    assert "exist" not in error and "GGUF" not in error and "/etc/" not in error


def test_missing_and_foreign_files_read_the_same_to_a_client(client):
    missing = client.post("/api/ask", json=ask_body(llm="gguf:/no/such/file")).json()["error"]
    present = client.post("/api/ask", json=ask_body(llm="gguf:/etc/hosts")).json()["error"]
    assert missing.replace("/no/such/file", "X") == present.replace("/etc/hosts", "X")


def test_the_operator_can_offer_a_gguf_path(app_settings, tmp_path):
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"not a model")
    with client_for(app_settings, api_llms=("extractive", f"gguf:{model}")) as offered:
        response = offered.post("/api/ask", json=ask_body(llm=f"gguf:{model}"))
    assert response.status_code == 400 and "no readable GGUF model file" in response.json()["error"]


def test_the_chat_refuses_a_backend_it_does_not_offer(app_settings):
    from app.web import ChatSession

    session = ChatSession(app_settings)
    *_, (_, chat, _, _, _) = session.respond(QUESTION, [], [], "gguf:/etc/passwd", 5)
    assert "not offered by this server" in chat[-1]["content"]


class CountingLlama:
    made: ClassVar[list[str]] = []

    def __init__(self, path, name, settings):
        self.path, self.name = path, name
        CountingLlama.made.append(str(path))

    def stream(self, messages):
        yield "x"


def test_models_are_cached_by_real_path_and_bounded(app_settings, tmp_path, monkeypatch):
    from qa import llms

    monkeypatch.setattr(llms, "LlamaCppGenerator", CountingLlama)
    monkeypatch.setattr(llms, "_cache", type(llms._cache)())
    CountingLlama.made = []
    (tmp_path / "sub").mkdir()
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    (tmp_path / "link.gguf").symlink_to(model)
    for spelling in (f"{tmp_path}/m.gguf", f"{tmp_path}/./m.gguf", f"{tmp_path}/sub/../m.gguf",
                     f"{tmp_path}//m.gguf", f"{tmp_path}/link.gguf"):
        llms.make_generator(f"gguf:{spelling}", app_settings)
    assert CountingLlama.made == [str(model)]
    for number in range(5):
        other = tmp_path / f"other{number}.gguf"
        other.write_bytes(b"GGUF")
        llms.make_generator(f"gguf:{other}", app_settings)
    assert len([key for key in llms._cache if key[0] == "llama"]) == app_settings.llm_models_kept


# -- 2. body limits ---------------------------------------------------------------------------
def test_a_chunked_body_over_the_limit_is_refused_and_nothing_stored(client, app_settings):
    def chunks():
        for _ in range(200):  # 3.2 MB, no Content-Length
            yield b"x" * 16_000

    response = client.post("/api/feedback", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "error" in response.json()
    assert not app_settings.feedback_path.exists()


async def _call_guard(policy_path: str, messages: list[dict], settings, method: str = "POST",
                      query: bytes = b"") -> tuple[list[dict], int, bool]:
    """Run the Guard alone; returns (messages sent, receive calls made, whether the app ran)."""
    ran = False
    calls = 0

    async def app(scope, receive, send):
        nonlocal ran
        ran = True

    async def receive():
        nonlocal calls
        calls += 1
        return messages[calls - 1]

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": policy_path, "raw_path": policy_path.encode(),
             "headers": [(b"host", b"localhost:7860")], "query_string": query}
    await Guard(app, settings, RoutePolicy())(scope, receive, send)
    return sent, calls, ran


def test_the_guard_stops_reading_at_the_limit(app_settings):
    import asyncio

    piece = {"type": "http.request", "body": b"x" * 65_536, "more_body": True}
    sent, calls, ran = asyncio.run(_call_guard("/api/ask", [piece] * 10_000, app_settings))
    assert sent[0]["status"] == 413 and not ran
    assert calls == API_BODY_BYTES // 65_536 + 1  # read up to the limit, not the 655 MB offered


def test_the_feedback_log_has_a_size_bound(app_settings):
    body = {"answer_id": "a1", "question": "q?", "answer": "a. [1]", "comment": "c" * 1000}
    with client_for(app_settings, feedback_max_mb=0.004) as small:
        statuses = [small.post("/api/feedback", json=body).status_code for _ in range(6)]
        full = small.post("/api/feedback", json=body)
    assert statuses[0] == 200 and full.status_code == 503 and "full" in full.json()["error"]
    assert app_settings.feedback_path.stat().st_size <= 4_000


def test_feedback_citations_are_bounded(client):
    body = {"answer_id": "a1", "question": "q?", "answer": "a.", "citations": [{"quote": "q" * 100_000}]}
    assert client.post("/api/feedback", json=body).status_code == 422


# -- 3. host names and CORS -------------------------------------------------------------------
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:7860", "127.0.0.1.nip.io", ""])
def test_foreign_host_names_are_refused_on_loopback(client, host):
    response = client.get("/healthz", headers={"host": host})
    assert response.status_code == 400 and "allowed_hosts" in response.json()["error"]
    assert client.post("/api/ask", json=ask_body(), headers={"host": host}).status_code == 400


@pytest.mark.parametrize("host", ["localhost:7860", "127.0.0.1:7860", "[::1]:7860", "LOCALHOST"])
def test_loopback_host_names_are_served(client, host):
    assert client.get("/healthz", headers={"host": host}).status_code == 200


def test_the_allowed_hosts_setting_extends_the_list(app_settings):
    with client_for(app_settings, allowed_hosts=("qa.example",)) as extended:
        assert extended.get("/healthz", headers={"host": "qa.example"}).status_code == 200
        assert extended.get("/healthz", headers={"host": "other.example"}).status_code == 400


@pytest.mark.parametrize("path", ["/", "/config", "/gradio_api/info", "/healthz", "/api/openapi.json"])
def test_no_route_answers_cors_to_another_origin(client, path):
    for origin in ("http://localhost:9999", "http://evil.example", "null"):
        response = client.get(path, headers={"origin": origin})
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], (path, origin)
        preflight = client.options(path, headers={"origin": origin, "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers


def test_cross_origin_posts_are_refused(client):
    response = client.post("/api/ask", json=ask_body(), headers={"origin": "http://localhost:9999"})
    assert response.status_code == 403
    same = client.post("/api/ask", json=ask_body(), headers={"origin": "http://localhost:7860"})
    assert same.status_code == 200


# -- 4. Gradio's file and proxy routes --------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/gradio_api/file/{canary}", "/gradio_api/file={canary}", "/file={canary}",
    "/gradio_api/file/https://example.com/x", "/gradio_api/file=https://example.com/x",
    "/gradio_api/proxy=https://example.com/x", "/proxy=https://example.com/x",
    "/gradio_api/upload", "/gradio_api/upload_progress", "/gradio_api/stream/abc/close",
    "/gradio_api/custom_component/1/dev/js/index.js", "/gradio_api/run-history/records",
    "/gradio_api/openapi.json", "/gradio_api/deep_link", "/gradio_api/dev/reload", "/gradio_api/vibe-code",
    "/monitoring", "/login", "/logout", "/gradio_api/user", "/gradio_api/token", "/gradio_api/reset",
])
def test_gradio_file_and_proxy_routes_are_not_served(client, tmp_path, monkeypatch, path):
    canary = tmp_path / ".gradio" / "cached_examples" / "canary.txt"
    canary.parent.mkdir(parents=True)
    canary.write_text("CANARY-1234")
    monkeypatch.chdir(tmp_path)
    for method in ("GET", "POST", "HEAD"):
        response = client.request(method, path.format(canary=canary))
        assert response.status_code == 404, (method, path, response.status_code)
        assert "CANARY" not in response.text


def test_the_chat_page_and_its_own_routes_still_work(client):
    assert client.get("/").status_code == 200
    config = client.get("/config")
    assert config.status_code == 200 and "components" in config.json()


# -- 6. /healthz on a damaged index ----------------------------------------------------------
def test_healthz_says_503_with_the_reason_for_a_damaged_index(client, app_settings):
    from ingest.storage.folders import current_version

    version = current_version(app_settings.index_path)
    (version / "manifest.json").write_text("{ not json")
    response = client.get("/healthz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "index unreadable" and "sourceqa ingest" in body["error"]
    assert str(app_settings.home) not in response.text
    answer = client.post("/api/ask", json=ask_body())
    assert answer.status_code == 503 and str(app_settings.home) not in answer.text


# -- 9. corpus-derived strings in the status line ----------------------------------------------
def test_file_names_are_escaped_in_the_status_line(app_settings, tmp_path, fake_embedder):
    from app.web import ChatSession
    from ingest import ingest

    corpus = tmp_path / "named"
    corpus.mkdir()
    (corpus / '<img src=x onerror=alert(1)><a href="x">.txt').write_text("Widgets weigh forty grams.\n")
    named = app_settings.model_copy(update={"corpus_dir": corpus, "home": tmp_path / "named-home"})
    ingest(named, embedder=fake_embedder)
    line = ChatSession(named).status()
    assert "<img" not in line and "<a " not in line and "&lt;img src=x" in line and "chunk" in line


# -- 10. malformed Gradio calls ----------------------------------------------------------------
@pytest.mark.parametrize("path, body", [
    ("/gradio_api/call/v2/respond", {}),
    ("/gradio_api/run/respond", {"data": [1, 2, 3]}),
    ("/gradio_api/api/respond", {"data": []}),
    ("/gradio_api/call/respond", {"data": []}),
    ("/gradio_api/queue/join", {"fn_index": 999, "data": [], "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": -1, "data": [], "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": "0", "data": [], "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": 0, "data": "x", "session_hash": "abc"}),
    ("/gradio_api/queue/join", {"fn_index": 0, "data": []}),
    ("/gradio_api/queue/join", [1, 2]),
])
def test_malformed_gradio_calls_get_a_4xx_json_error(client, path, body):
    response = client.post(path, json=body)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert "error" in response.json()


def test_malformed_queue_body_that_is_not_json(client):
    response = client.post("/gradio_api/queue/join", content=b"\xff{", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "error" in response.json()


# -- 11. smaller items -------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b'{"question": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000])
def test_undecodable_or_deeply_nested_json_gets_the_documented_error(client, content):
    response = client.post("/api/ask", content=content[:API_BODY_BYTES],
                           headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}


def test_a_full_disk_is_a_503_for_feedback_and_leaves_no_torn_line(client, app_settings, monkeypatch):
    from app import feedback

    body = {"answer_id": "a1", "question": "q?", "answer": "a. [1]"}
    assert client.post("/api/feedback", json=body).status_code == 200
    size = app_settings.feedback_path.stat().st_size

    def full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feedback.os, "fsync", full)
    response = client.post("/api/feedback", json=body)
    assert response.status_code == 503 and "No space left" in response.json()["error"]
    assert app_settings.feedback_path.stat().st_size == size


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example/", "//evil.example/config", "/"])
def test_a_token_login_never_redirects_off_the_site(app_settings, path):
    import asyncio

    guarded = app_settings.model_copy(update={"api_token": "s3cret"})
    done = {"type": "http.request", "body": b"", "more_body": False}
    sent, _, ran = asyncio.run(_call_guard(path, [done], guarded, method="GET", query=b"token=s3cret"))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] in (303, 404) and not ran
    if sent[0]["status"] == 303:
        location = headers[b"location"].decode()
        assert location.startswith("/") and not location.startswith("//") and "\\" not in location
        assert b"httponly" in headers[b"set-cookie"].lower()
    if path == "/":
        assert headers[b"location"] == b"/"
    sent, _, ran = asyncio.run(_call_guard(path, [done], guarded, method="GET", query=b"token=wrong"))
    assert sent[0]["status"] in (401, 404) and not ran


def test_the_api_docs_page_needs_no_internet(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and "http://" not in page.text and "https://" not in page.text
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css"):
        assert client.get(asset).status_code == 200
    assert client.get("/api/docs/assets/../../../pyproject.toml").status_code == 404
    assert json.loads(client.get("/api/openapi.json").text)["paths"]["/api/ask"]


# -- 5. an index built by another embedder --------------------------------------------------
def test_an_index_of_another_embedder_is_a_503_until_ingest_rebuilds_it(app_settings, monkeypatch):
    from conftest import FakeEmbedder

    from ingest import embedders, ingest

    class Other(FakeEmbedder):
        name = "other-model"
        dimension = 32

    monkeypatch.setitem(embedders._cache, Other.name, Other())
    changed = app_settings.model_copy(update={"embedder": Other.name})
    with client_for(changed) as other:
        response = other.post("/api/ask", json=ask_body())
        assert response.status_code == 503, response.text
        assert "built with embedder fake-hash" in response.json()["error"]
        assert "sourceqa ingest" in response.json()["error"]
        report = ingest(changed)
        assert not report.unchanged and report.embedded >= report.chunks  # nothing of fake-hash kept
        assert other.post("/api/ask", json=ask_body()).status_code == 200


@pytest.mark.parametrize("damage", ["dimension", "truncated chunks", "vectors unlisted"])
def test_damage_to_the_loaded_index_is_noticed_without_a_restart(client, app_settings, damage):
    """The server had the index in memory; the files under it were damaged. Questions and
    /healthz say 503 at once (a restart could not load it), and ingest repairs it."""
    import json as jsonlib

    from ingest import ingest
    from ingest.storage.folders import current_version

    assert client.post("/api/ask", json=ask_body()).status_code == 200
    version = current_version(app_settings.index_path)
    manifest = jsonlib.loads((version / "manifest.json").read_text())
    if damage == "dimension":
        manifest["embedder"]["dimension"] = manifest["embedder"]["dimension"] - 1
        (version / "manifest.json").write_text(jsonlib.dumps(manifest))
    elif damage == "truncated chunks":
        data = (version / "chunks.jsonl").read_bytes()
        (version / "chunks.jsonl").write_bytes(data[: len(data) // 2])
    else:
        del manifest["files"]["vectors.faiss"]
        (version / "manifest.json").write_text(jsonlib.dumps(manifest))
        (version / "vectors.faiss").write_bytes(b"0123456789")
    answer = client.post("/api/ask", json=ask_body())
    assert answer.status_code == 503 and "sourceqa ingest" in answer.json()["error"]
    assert client.get("/healthz").status_code == 503
    assert not ingest(app_settings).unchanged
    assert client.post("/api/ask", json=ask_body()).status_code == 200
    assert client.get("/healthz").status_code == 200
