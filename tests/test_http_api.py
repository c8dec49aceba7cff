"""The HTTP API against a real server process on a free loopback port."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import GOLD, QUESTION

from ingest import load_index

pytestmark = pytest.mark.real



def post(server, body, path="/api/ask", **kwargs):
    return httpx.post(server.url + path, json=body, timeout=60, **kwargs)


def test_ask_returns_a_cited_answer(server, real_settings):
    response = post(server, {"question": QUESTION, "llm": "extractive", "top_k": 5})
    assert response.status_code == 200
    answer = response.json()
    assert not answer["abstained"] and GOLD in answer["text"] and "[1]" in answer["text"]
    citation = next(c for c in answer["citations"] if c["quote"] == GOLD)
    assert set(citation) >= {"quote", "section", "source", "start", "end", "number"}
    documents = load_index(real_settings.index_path).documents
    assert documents[citation["source"]][citation["start"]:citation["end"]] == citation["quote"] == GOLD
    assert citation["section"] == "Classification > Metastatic calcinosis cutis"
    assert len(answer["passages"]) == 5 and answer["timings"]["total"] > 0
    assert "dropped" not in answer and answer["dropped_count"] == 0
    assert answer["index_version"].startswith("v-")


def test_the_servers_backend_answers_when_the_client_names_none(server):
    answer = post(server, {"question": QUESTION}).json()
    assert answer["llm"] == "local" and not answer["abstained"]  # the server fixture's SOURCEQA_LLM
    assert any("renal failure" in c["quote"] for c in answer["citations"])


def test_the_default_backend_is_extractive():
    from core.settings import Settings

    assert Settings().llm == "extractive" and "local" in Settings().api_llms


def test_question_the_source_cannot_answer_is_declined(server):
    # The API's shape of a decline; how often the judge declines is the eval gates' business.
    answer = post(server, {"question": "What causes kidney stones?", "llm": "extractive"}).json()
    assert answer["abstained"] and answer["citations"] == []
    assert answer["text"].startswith("The source does not answer this question.")


def test_follow_up_uses_the_history(server):
    answer = post(server, {"question": "And what is its most frequent cause?", "llm": "extractive",
                           "history": ["What is metastatic calcinosis cutis?"]}).json()
    assert answer["standalone"] == "What is the most frequent cause of metastatic calcinosis cutis?"
    assert GOLD in answer["text"]


def test_stream_sends_verified_sentences_then_the_answer(server):
    with httpx.stream("POST", server.url + "/api/stream", json={"question": QUESTION, "llm": "local"},
                      timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    sentences = [line for line in lines[:-1] if "sentence" in line]
    assert sentences and len(sentences) == len(lines) - 1, "only verified sentences before the answer"
    final = lines[-1]["answer"]
    assert not final["abstained"]
    assert [s["sentence"] for s in sentences] == [text for text, _ in final["sentences"]]
    for line in sentences:
        assert line["citation"] in final["citations"]


@pytest.mark.parametrize("body, status, says", [
    ({}, 422, "question"),
    ({"question": ""}, 400, "empty"),
    ({"question": "   \n\t "}, 400, "empty"),
    ({"question": "?!?"}, 400, "no words"),
    ({"question": 5}, 422, "question"),
    ({"question": None}, 422, "question"),
    ({"question": ["a list"]}, 422, "question"),
    ({"question": QUESTION, "top_k": "3"}, 422, "top_k"),
    ({"question": QUESTION, "top_k": 0}, 422, "top_k"),
    ({"question": QUESTION, "top_k": 1000}, 422, "top_k"),
    ({"question": QUESTION, "history": "not a list"}, 422, "history"),
    ({"question": QUESTION, "llm": "no-such-backend"}, 400, "backend"),
    ({"question": QUESTION, "surprise": 1}, 422, "surprise"),
    ({"question": "x" * 5000}, 400, "too long"),
    ({"question": "x" * 100_000}, 400, "too long"),
    (["not", "an", "object"], 422, "invalid request"),
])
def test_bad_requests_get_a_4xx_json_error(server, body, status, says):
    response = post(server, body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]


def test_invalid_json_and_oversized_bodies_are_refused(server):
    response = httpx.post(server.url + "/api/ask", content=b'{"question": ', timeout=10,
                          headers={"content-type": "application/json"})
    assert response.status_code == 422 and "JSON" in response.json()["error"]
    response = httpx.post(server.url + "/api/ask", content=b"x" * 300_000, timeout=10,
                          headers={"content-type": "application/json"})
    assert response.status_code == 413 and "error" in response.json()
    stream_error = post(server, {"question": ""}, path="/api/stream")
    assert stream_error.status_code == 400 and "empty" in stream_error.json()["error"]


def test_healthz_reports_the_loaded_index(server, real_settings):
    health = httpx.get(server.url + "/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["index_loaded"] is True
    assert health["index"]["chunk_count"] == 17 and health["index"]["corpus"] == ["calcinosis_cutis.txt"]


def test_feedback_endpoint_appends_to_the_log(server, real_settings):
    body = {"answer_id": "api-test-1", "question": "q?", "answer": "a. [1]", "rating": "down",
            "comment": "wrong section", "citations": [{"quote": "a."}], "backend": "extractive"}
    assert post(server, body, path="/api/feedback").json() == {"stored": True}
    lines = [json.loads(line) for line in real_settings.feedback_path.read_text().splitlines()]
    assert any(line["answer_id"] == "api-test-1" and line["comment"] == "wrong section" for line in lines)
    assert post(server, {**body, "rating": "meh"}, path="/api/feedback").status_code == 422


def test_without_a_token_setting_no_token_is_needed(server):
    assert httpx.get(server.url + "/", timeout=10).status_code == 200


def test_token_is_required_when_set(token_server):
    url = token_server.url
    assert post(token_server, {"question": QUESTION}).status_code == 401
    wrong = post(token_server, {"question": QUESTION}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "token" in wrong.json()["error"]
    right = post(token_server, {"question": QUESTION}, headers={"Authorization": "Bearer s3cret-token"})
    assert right.status_code == 200 and GOLD in right.json()["text"]
    assert httpx.get(url + "/", timeout=10).status_code == 401  # the web chat too
    assert httpx.get(url + "/healthz", timeout=10).status_code == 200  # load balancers need no token
    login = httpx.get(url + "/?token=s3cret-token", timeout=10)
    assert login.status_code == 303 and "sourceqa_token" in login.headers["set-cookie"]
    assert "httponly" in login.headers["set-cookie"].lower()
    assert httpx.get(url + "/", cookies={"sourceqa_token": "s3cret-token"}, timeout=10).status_code == 200
    assert httpx.get(url + "/?token=wrong", timeout=10).status_code == 401


def test_a_chunked_body_is_cut_off_at_the_limit_on_the_real_server(server, real_settings):
    import http.client

    before = real_settings.feedback_path.stat().st_size if real_settings.feedback_path.exists() else 0
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/api/feedback")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    sent = 0
    try:
        for _ in range(3_000):  # up to 48 MB; the server answers long before
            piece = b'{"comment": "' + b"x" * 16_000
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = connection.getresponse()
    assert response.status == 413 and "error" in json.loads(response.read())
    after = real_settings.feedback_path.stat().st_size if real_settings.feedback_path.exists() else 0
    assert after == before


def test_the_real_server_refuses_foreign_host_names(server):
    refused = httpx.get(server.url + "/", headers={"host": "attacker.example"}, timeout=10)
    assert refused.status_code == 400
    assert httpx.get(server.url + "/healthz", headers={"host": f"localhost:{server.port}"}, timeout=10).status_code == 200
