"""Choosing documents and removing them: ``sources`` in ``ask``/``stream`` and the HTTP API,
retrieval filtered before ranking (files and postgres), ``GET /api/documents``,
``DELETE /api/documents/{source}`` and the chat's Documents panel (deterministic fakes)."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
from conftest import SEED, client_for

from core.settings import load_settings
from ingest import ingest, load_index
from qa import UnknownSources, ask, get_engine, suggestions

SCURVY = "scurvy.md"
SCURVY_TEXT = ("# Scurvy\n\nScurvy is a disease caused by a lack of vitamin C in the diet.\n\n"
               "## Treatment\n\nScurvy is treated with vitamin C supplements taken by mouth.\n")
SCURVY_QUESTION = "What is scurvy caused by?"


@pytest.fixture
def two(app_settings, seed_corpus, fake_embedder):
    """The seed article and a short scurvy note, indexed by the fake embedder."""
    (seed_corpus / SCURVY).write_text(SCURVY_TEXT, encoding="utf-8")
    ingest(app_settings, embedder=fake_embedder)
    return app_settings


def _ask(client, **body):
    return client.post("/api/ask", json={"llm": "extractive", **body})


# -- the Python API and retrieval ----------------------------------------------------------------
def test_ask_with_sources_cites_only_those(two, fake_embedder):
    everything = ask(SCURVY_QUESTION, settings=two, embedder=fake_embedder)
    assert {p.source for p in everything.passages} == {SEED.name, SCURVY}  # both compete unfiltered
    only = ask(SCURVY_QUESTION, settings=two, embedder=fake_embedder, sources=[SCURVY])
    assert not only.abstained and {c.source for c in only.citations} == {SCURVY}
    assert {p.source for p in only.passages} == {SCURVY}
    seed_only = ask(SCURVY_QUESTION, settings=two, embedder=fake_embedder, sources=[SEED.name])
    assert {p.source for p in seed_only.passages} == {SEED.name}
    assert all(c.source == SEED.name for c in seed_only.citations)


def test_stream_takes_sources_too(two, fake_embedder):
    from qa import stream

    response = stream(SCURVY_QUESTION, settings=two, embedder=fake_embedder, sources=[SCURVY])
    assert [s.citation.source for s in response] and {c.source for c in response.answer.citations} == {SCURVY}


@pytest.mark.parametrize("sources, error", [(["nope.txt"], UnknownSources), ([], ValueError),
                                            ("scurvy.md", ValueError), ([3], ValueError)])
def test_bad_sources_are_a_value_error(two, fake_embedder, sources, error):
    with pytest.raises(error, match="sources"):
        ask(SCURVY_QUESTION, settings=two, embedder=fake_embedder, sources=sources)


def test_top_k_all_come_from_the_chosen_document_before_ranking(two, fake_embedder):
    """Filtering after a top-k would leave fewer passages: the seed article has plenty."""
    engine = get_engine(two, fake_embedder)
    for top_k in (5, 12):
        passages = engine.within((SEED.name,)).retriever.retrieve(SCURVY_QUESTION, top_k).passages
        assert len(passages) == top_k and {p.source for p in passages} == {SEED.name}
    scurvy_rows = sum(1 for c in engine.index.chunks if c.source == SCURVY)
    passages = engine.within((SCURVY,)).retriever.retrieve("What is calcinosis cutis?", 10).passages
    assert len(passages) == scurvy_rows and {p.source for p in passages} == {SCURVY}


def test_both_searches_of_the_file_index_skip_other_documents(two, fake_embedder):
    index = load_index(two.index_path)
    vector = fake_embedder.embed([SCURVY_QUESTION])[0]
    rows = {r for r, c in enumerate(index.chunks) if c.source == SEED.name}
    dense = index.search_dense(vector, 8, sources=[SEED.name])
    keyword = index.search_keywords("scurvy vitamin calcinosis", 8, sources=[SEED.name])
    assert len(dense) == 8 and {r for r, _ in dense} <= rows
    assert keyword and {r for r, _ in keyword} <= rows
    assert [r for r, _ in dense] == [r for r, _ in index.search_dense(vector, len(index.chunks)) if r in rows][:8]
    assert index.search_dense(vector, 8, sources=["nope.txt"]) == []


def test_an_approximate_faiss_index_fills_top_k_from_the_chosen_rows():
    from ingest.dense import FaissDense, Within

    vectors = np.random.default_rng(1).normal(size=(2000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = FaissDense(16, ann_min_vectors=100, ann_nprobe=1)
    dense.add(vectors)
    assert dense.kind.startswith("ivf")
    chosen = np.arange(1990, 2000, dtype=np.int64)
    found = dense.search(vectors[0], 5, within=Within(("x",), chosen))
    exact = sorted(chosen, key=lambda r: -float(vectors[r] @ vectors[0]))[:5]
    assert [r for r, _ in found] == [int(r) for r in exact]


# -- the HTTP API ------------------------------------------------------------------------------
def test_http_ask_and_stream_with_sources(two):
    with client_for(two) as client:
        answer = _ask(client, question=SCURVY_QUESTION, sources=[SCURVY]).json()
        assert answer["citations"] and {c["source"] for c in answer["citations"]} == {SCURVY}
        lines = [json.loads(line) for line in client.post(
            "/api/stream", json={"question": SCURVY_QUESTION, "sources": [SCURVY]}).text.splitlines()]
        assert {line["citation"]["source"] for line in lines if "sentence" in line} == {SCURVY}
        unknown = _ask(client, question=SCURVY_QUESTION, sources=["nope.txt"])
        assert unknown.status_code == 422 and "nope.txt" in unknown.json()["error"]
        assert _ask(client, question=SCURVY_QUESTION, sources=[]).status_code == 422
        assert _ask(client, question=SCURVY_QUESTION, sources="scurvy.md").status_code == 422


def test_documents_are_listed_with_their_facts(two):
    with client_for(two) as client:
        body = client.get("/api/documents").json()
    rows = {row["source"]: row for row in body["documents"]}
    assert list(rows) == sorted([SEED.name, SCURVY]) and body["removable"] is True
    assert rows[SEED.name]["title"] == "Calcinosis Cutis" and rows[SCURVY]["title"] == "Scurvy"
    assert rows[SEED.name]["chunks"] == 17 and rows[SCURVY]["chunks"] >= 1 and rows[SCURVY]["pages"] is None
    assert rows[SCURVY]["sections"] >= 1 and rows[SCURVY]["added"].endswith("Z")


def test_a_removed_document_is_gone_from_the_list_answers_and_suggestions(two, seed_corpus, fake_embedder):
    assert any("scurvy" in q.lower() for q in suggestions(two))
    with client_for(two) as client:
        removed = client.delete(f"/api/documents/{SCURVY}")
        assert removed.status_code == 200 and removed.json()["removed"] == SCURVY
        assert [r["source"] for r in client.get("/api/documents").json()["documents"]] == [SEED.name]
        answer = _ask(client, question=SCURVY_QUESTION).json()
        assert all(c["source"] == SEED.name for c in answer["citations"])
        assert all(p["source"] == SEED.name for p in answer["passages"])
        assert _ask(client, question=SCURVY_QUESTION, sources=[SCURVY]).status_code == 422
        assert client.delete(f"/api/documents/{SCURVY}").status_code == 404
    assert not (seed_corpus / SCURVY).exists() and not list(seed_corpus.glob(".removing-*"))
    assert SCURVY not in load_index(two.index_path).documents
    assert suggestions(two) and not any("scurvy" in q.lower() for q in suggestions(two))


def test_removing_is_refused_when_read_only_unknown_or_the_only_document(two, app_settings, seed_corpus):
    with client_for(two, read_only=True) as client:
        refused = client.delete(f"/api/documents/{SCURVY}")
        assert refused.status_code == 403 and "read_only" in refused.json()["error"]
        assert client.get("/api/documents").json()["removable"] is False
    assert (seed_corpus / SCURVY).exists()
    with client_for(two) as client:
        assert client.delete("/api/documents/nope.txt").json() == {"error": "no document of that name in the index"}
        assert client.delete("/api/documents/..%2F..%2Fetc%2Fpasswd").status_code == 404
        assert client.delete(f"/api/documents/{SCURVY}").status_code == 200
        only = client.delete(f"/api/documents/{SEED.name}")
        assert only.status_code == 409 and (seed_corpus / SEED.name).exists()


def test_the_token_guards_the_library_routes(two):
    with client_for(two, api_token="s3cret") as client:
        assert client.get("/api/documents").status_code == 401
        assert client.delete(f"/api/documents/{SCURVY}").status_code == 401
        good = client.delete(f"/api/documents/{SCURVY}", headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200
        cross = client.delete(f"/api/documents/{SEED.name}", headers={
            "Authorization": "Bearer s3cret", "Origin": "http://evil.example"})
        assert cross.status_code == 403


def test_a_failed_re_index_puts_the_file_back_and_keeps_the_index(two, seed_corpus, monkeypatch):
    import app.library

    version = load_index(two.index_path).version

    def broken(settings):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(app.library, "ingest", broken)
    with client_for(two) as client:
        failed = client.delete(f"/api/documents/{SCURVY}")
        assert failed.status_code == 503 and "unchanged" in failed.json()["error"]
        assert SCURVY in [r["source"] for r in client.get("/api/documents").json()["documents"]]
    assert (seed_corpus / SCURVY).read_text(encoding="utf-8") == SCURVY_TEXT
    assert not list(seed_corpus.glob(".removing-*")) and load_index(two.index_path).version == version


def test_no_index_is_a_503(tmp_path):
    settings = load_settings(environ={}, home=tmp_path / "empty", corpus_dir=tmp_path)
    with client_for(settings) as client:
        assert client.get("/api/documents").status_code == 503
        assert client.delete(f"/api/documents/{SEED.name}").status_code == 503


# -- the chat's Documents panel ------------------------------------------------------------------
def test_the_panel_lists_ticks_and_groups_suggestions(two):
    from app.web import ChatSession

    html = ChatSession(two).library("")
    assert html.count('class="sq-lib-tick"') == 2 and html.count(" checked>") == 2
    assert html.count('class="sq-remove"') == 2 and "Scurvy" in html and "17 chunks" in html
    scurvy_row = html[html.index(f'<li class="sq-lib-doc" data-source="{SCURVY}"'):]
    scurvy_row = scurvy_row[:scurvy_row.index("</li>")]
    asked = [q for q in scurvy_row.split('class="sq-example sq-suggest">')[1:]]
    assert asked and all("scurvy" in q.split("<")[0].lower() for q in asked)
    unticked = ChatSession(two).library(json.dumps([SEED.name]))
    assert unticked.count(" checked>") == 1 and "1 of 2 documents" in unticked
    assert 'sq-suggest" disabled>What is calcinosis' in unticked  # the unticked one's questions are off
    off = ChatSession(two.model_copy(update={"read_only": True})).library("")
    assert "sq-remove" not in off and "read_only" in off


def test_the_chat_asks_only_the_ticked_documents(two):
    from app.web import ChatSession

    session = ChatSession(two)
    *_, (_, chat, turns, _, _) = session.respond(SCURVY_QUESTION, [], [], "extractive", 5, json.dumps([SEED.name]))
    assert {c["source"] for c in turns[-1]["answer"]["citations"]} == {SCURVY}
    *_, (_, chat, _, _, _) = session.respond(SCURVY_QUESTION, [], [], "extractive", 5,
                                             json.dumps([SEED.name, SCURVY]))
    assert "no document is ticked" in chat[-1]["content"]


# -- postgres: the filter is in the SQL ---------------------------------------------------------
@pytest.fixture
def pg_two(tmp_path_factory, seed_corpus, fake_embedder):
    pgserver = pytest.importorskip("pgserver")
    server = pgserver.get_server(str(tmp_path_factory.mktemp("pgdata")), cleanup_mode="stop")
    name = f"t_{uuid.uuid4().hex[:10]}"
    server.psql(f"CREATE DATABASE {name};")
    (seed_corpus / SCURVY).write_text(SCURVY_TEXT, encoding="utf-8")
    settings = load_settings(environ={}, home=seed_corpus.parent / "pg-home", corpus_dir=seed_corpus,
                             vector_store="postgres", judge="fake",
                             database_url=server.get_uri().replace("/postgres?", f"/{name}?"))
    ingest(settings, embedder=fake_embedder)
    yield settings
    server.cleanup()


@pytest.mark.real
def test_postgres_filters_before_ranking(pg_two, fake_embedder):
    from ingest import storage_for

    index = storage_for(pg_two).load()
    vector = fake_embedder.embed([SCURVY_QUESTION])[0]
    rows = {r for r, c in enumerate(index.chunks) if c.source == SEED.name}
    dense = index.search_dense(vector, 8, sources=[SEED.name])
    assert len(dense) == 8 and {r for r, _ in dense} <= rows
    everything = [r for r, _ in index.search_dense(vector, len(index.chunks))]
    assert [r for r, _ in dense] == [r for r in everything if r in rows][:8]
    keyword = index.search_keywords("scurvy vitamin calcinosis", 8, sources=[SEED.name])
    assert keyword and {r for r, _ in keyword} <= rows
    only = ask(SCURVY_QUESTION, llm="extractive", settings=pg_two, embedder=fake_embedder, sources=[SCURVY])
    assert not only.abstained and {c.source for c in only.citations} == {SCURVY}
    assert {p.source for p in only.passages} == {SCURVY}
