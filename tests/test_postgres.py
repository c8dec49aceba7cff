"""The postgres vector store against a real PostgreSQL with pgvector, started by the suite
(the `pgserver` package: a server in a temporary folder, no system service)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import GOLD, QUESTION, SEED, Server

from app.cli import main
from app.feedback import FeedbackEntry, PostgresFeedback, draft_cases, feedback_store
from core.settings import SettingsError, load_settings
from evals.cases import load_cases
from ingest import IndexProblem, ingest, storage_for
from qa import ask, get_engine

pytestmark = pytest.mark.real


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    pgserver = pytest.importorskip("pgserver")
    server = pgserver.get_server(str(tmp_path_factory.mktemp("pgdata")), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture
def database(postgres) -> str:
    """A new, empty database on the shared server, as a postgresql:// URL."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    postgres.psql(f"CREATE DATABASE {name};")
    return postgres.get_uri().replace("/postgres?", f"/{name}?")


def pg_settings(tmp_path, database, corpus=SEED.parent, **changes):
    """Postgres settings; the fake judge unless a test passes judge="bundled" (real models)."""
    return load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus, vector_store="postgres",
                         database_url=database, **{"judge": "fake", **changes})


def test_postgres_needs_a_database_url(tmp_path):
    with pytest.raises(SettingsError, match="database_url"):
        storage_for(load_settings(environ={}, home=tmp_path, vector_store="postgres"))


def test_an_unreachable_database_says_what_to_fix(tmp_path):
    settings = pg_settings(tmp_path, "postgresql://nobody:pw@127.0.0.1:9/none")
    with pytest.raises(IndexProblem, match=r"database_url.*pgvector") as caught:
        ingest(settings)
    assert "pw" not in str(caught.value)  # the password is not echoed


def test_answers_and_citations_equal_those_from_faiss(tmp_path, database, real_settings, real_embedder):
    """Every curated question: the same answer, citations and passage order as FAISS."""
    settings = pg_settings(tmp_path, database, judge="bundled")
    report = ingest(settings, embedder=real_embedder)
    assert report.chunks == 17 and "postgres:***@" in report.index  # no password in messages
    differences = []
    for case in load_cases():
        ours = ask(case.question, llm="extractive", settings=settings, embedder=real_embedder)
        files = ask(case.question, llm="extractive", settings=real_settings, embedder=real_embedder)
        same = (ours.text == files.text and ours.citations == files.citations
                and [p.chunk_id for p in ours.passages] == [p.chunk_id for p in files.passages])
        if not same:
            differences.append(case.id)
    assert differences == []


def test_ingest_is_incremental_and_keeps_the_previous_version(tmp_path, database, seed_corpus, fake_embedder):
    settings = pg_settings(tmp_path, database, corpus=seed_corpus)
    storage = storage_for(settings)
    first = ingest(settings, embedder=fake_embedder)
    version_one = storage.current()
    assert ingest(settings, embedder=fake_embedder).unchanged and storage.current() == version_one
    (seed_corpus / "widgets.txt").write_text("Widgets\n\nWidgets are small blue tools.\n")
    second = ingest(settings, embedder=fake_embedder)
    assert second.reused >= first.embedded and storage.current() != version_one
    (seed_corpus / "gadgets.txt").write_text("Gadgets\n\nGadgets are large red tools.\n")
    ingest(settings, embedder=fake_embedder)
    with storage.engine.connect() as connection:
        versions = connection.exec_driver_sql("SELECT count(*) FROM sourceqa_versions").scalar()
        tables = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'data_sq_v_%%'").scalar()
    assert versions == 2 and tables == 2  # the served one and the one before it


def test_a_failed_ingest_leaves_the_previous_version_served(tmp_path, database, seed_corpus, fake_embedder,
                                                            monkeypatch):
    from llama_index.vector_stores.postgres import PGVectorStore

    settings = pg_settings(tmp_path, database, corpus=seed_corpus)
    ingest(settings, embedder=fake_embedder)
    storage = storage_for(settings)
    before = storage.current()
    (seed_corpus / "widgets.txt").write_text("Widgets\n\nWidgets are small blue tools.\n")
    real_add = PGVectorStore.add
    calls = []

    def failing_add(self, nodes, **kwargs):
        calls.append(len(nodes))
        real_add(self, nodes[:5], **kwargs)  # part of the rows are written, then the connection drops
        raise ConnectionError("server closed the connection unexpectedly (simulated)")

    monkeypatch.setattr(PGVectorStore, "add", failing_add)
    with pytest.raises(ConnectionError, match="simulated"):
        ingest(settings, embedder=fake_embedder)
    monkeypatch.setattr(PGVectorStore, "add", real_add)
    assert calls and storage.current() == before
    assert GOLD in ask(QUESTION, llm="extractive", settings=settings, embedder=fake_embedder).text
    with storage.engine.connect() as connection:
        tables = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'data_sq_v_%%'").scalar()
    assert tables == 1  # the half-written table is gone


def test_a_damaged_version_is_rebuilt(tmp_path, database, fake_embedder):
    settings = pg_settings(tmp_path, database)
    ingest(settings, embedder=fake_embedder)
    storage = storage_for(settings)
    with storage.engine.begin() as connection:
        table = connection.exec_driver_sql("SELECT chunk_table FROM sourceqa_versions").scalar()
        connection.exec_driver_sql(f'DELETE FROM "data_{table}" WHERE (metadata_->>\'row\')::int < 3')
    assert not ingest(settings, embedder=fake_embedder).unchanged
    assert GOLD in ask(QUESTION, llm="extractive", settings=settings, embedder=fake_embedder).text


def test_pdf_pages_are_kept_and_a_version_without_them_still_loads(tmp_path, database, fake_embedder):
    from test_formats import PAGE_3, write_pdf

    from qa import api

    corpus = tmp_path / "pdfs"
    corpus.mkdir()
    write_pdf(corpus / "handbook.pdf")
    settings = pg_settings(tmp_path, database, corpus=corpus)
    ingest(settings, embedder=fake_embedder)
    question = "Where should copper widgets be stored away from sunlight?"
    (citation,) = [c for c in ask(question, llm="extractive", settings=settings, embedder=fake_embedder).citations
                   if PAGE_3 in c.quote]
    assert citation.page == 3
    with storage_for(settings).engine.begin() as connection:  # as written before pages existed
        connection.exec_driver_sql("UPDATE sourceqa_versions SET pages = NULL")
    api._engines.clear()
    (citation,) = [c for c in ask(question, llm="extractive", settings=settings, embedder=fake_embedder).citations
                   if PAGE_3 in c.quote]
    assert citation.page is None


def test_feedback_goes_to_the_database(tmp_path, database, fake_embedder, monkeypatch, capsys):
    settings = pg_settings(tmp_path, database)
    ingest(settings, embedder=fake_embedder)
    store = feedback_store(settings)
    assert isinstance(store, PostgresFeedback)
    answer = ask(QUESTION, llm="extractive", settings=settings, embedder=fake_embedder)
    store.add(FeedbackEntry.about(answer, "pg-1", "down", "too short"))
    assert [d["what_was_wrong"] for d in draft_cases(store.entries())] == ["too short"]
    assert not settings.feedback_path.exists()
    monkeypatch.setenv("SOURCEQA_VECTOR_STORE", "postgres")
    monkeypatch.setenv("SOURCEQA_DATABASE_URL", database)
    assert main(["feedback", "export", "--out", str(tmp_path / "drafts.jsonl")]) == 0
    assert json.loads((tmp_path / "drafts.jsonl").read_text())["id"] == "feedback-pg-1"


def test_evals_run_against_postgres(tmp_path, database, real_embedder):
    from evals.cli import evaluate

    settings = pg_settings(tmp_path, database, judge="bundled")
    ingest(settings, embedder=real_embedder)
    cases = tmp_path / "cases.jsonl"
    lines = (Path(__file__).parent.parent / "evals" / "data" / "cases.jsonl").read_text().splitlines()
    cases.write_text("\n".join(lines[:12]) + "\n")
    reports = evaluate(["extractive"], cases_path=cases, out_dir=tmp_path / "out", settings=settings,
                       embedder=real_embedder, progress=False)
    assert reports["extractive"]["summary"]["faithfulness"] == 1.0


# -- replicas ---------------------------------------------------------------------------------
@pytest.fixture
def replicas(tmp_path, database, real_embedder):
    settings = pg_settings(tmp_path, database, judge="bundled")
    ingest(settings, embedder=real_embedder)
    env = {"SOURCEQA_VECTOR_STORE": "postgres", "SOURCEQA_DATABASE_URL": database, "SOURCEQA_LLM": "extractive"}
    servers = [Server(tmp_path / f"replica-{i}", env, tmp_path / f"replica-{i}.log") for i in range(2)]
    for server in servers:
        server.wait_ready()
    yield settings, servers
    for server in servers:
        server.stop()


def test_two_app_processes_serve_the_same_index(replicas):
    settings, servers = replicas
    questions = [c.question for c in load_cases()[:10]]
    from concurrent.futures import ThreadPoolExecutor

    def ask_both(question):
        return [httpx.post(s.url + "/api/ask", json={"question": question}, timeout=60).json() for s in servers]

    with ThreadPoolExecutor(max_workers=6) as pool:
        pairs = list(pool.map(ask_both, questions * 2))
    for first, second in pairs:
        assert (first["text"], first["citations"], first["index_version"]) == \
               (second["text"], second["citations"], second["index_version"])
    health = [httpx.get(s.url + "/healthz", timeout=10).json() for s in servers]
    assert health[0]["index"]["version"] == health[1]["index"]["version"] == storage_for(settings).current()


def test_reingest_while_serving_never_shows_a_half_written_index(replicas, real_embedder, tmp_path):
    settings, servers = replicas
    storage = storage_for(settings)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    changing = settings.model_copy(update={"corpus_dir": corpus})
    documents: dict[str, dict] = {}
    problems: list[str] = []
    answers: list[dict] = []
    stop = threading.Event()

    def keep_asking(server):
        while not stop.is_set():
            response = httpx.post(server.url + "/api/ask", json={"question": QUESTION}, timeout=60)
            if response.status_code != 200:
                problems.append(f"{response.status_code}: {response.text[:200]}")
                continue
            answers.append(response.json())

    workers = [threading.Thread(target=keep_asking, args=(s,)) for s in servers]
    for worker in workers:
        worker.start()
    versions = []
    for round_ in range(3):
        (corpus / f"extra-{round_}.txt").write_text(f"Extra {round_}\n\nExtra document number {round_} about frobs.\n")
        ingest(changing, embedder=real_embedder)
        versions.append(storage.current())
        with storage.engine.connect() as connection:
            documents[versions[-1]] = connection.exec_driver_sql(
                "SELECT documents FROM sourceqa_versions WHERE version = %(v)s", {"v": versions[-1]}).scalar()
        time.sleep(2.0)  # each answer reads the judge too (about 0.25 s on 2 cores)
    stop.set()
    for worker in workers:
        worker.join(60)
    assert problems == [] and len(answers) > 10
    seen = {a["index_version"] for a in answers}
    assert seen & set(versions), "the replicas never picked up a new version"
    for answer in answers:
        assert GOLD in answer["text"]
        text = documents.get(answer["index_version"])
        if text is not None:  # a version from this test: citations match its own documents
            for citation in answer["citations"]:
                assert text[citation["source"]][citation["start"]:citation["end"]] == citation["quote"]


def test_get_engine_follows_the_served_version(tmp_path, database, seed_corpus, fake_embedder):
    settings = pg_settings(tmp_path, database, corpus=seed_corpus)
    ingest(settings, embedder=fake_embedder)
    first = get_engine(settings, fake_embedder)
    (seed_corpus / "widgets.txt").write_text("Widgets\n\nWidgets are small blue tools.\n")
    ingest(settings, embedder=fake_embedder)
    second = get_engine(settings, fake_embedder)
    assert second is not first and second.version == storage_for(settings).current()


def test_hnsw_index_from_the_row_threshold(tmp_path, database, fake_embedder):
    settings = pg_settings(tmp_path, database, pg_hnsw_min_rows=10)  # the seed has 17 chunks
    ingest(settings, embedder=fake_embedder)
    storage = storage_for(settings)
    with storage.engine.connect() as connection:
        definitions = connection.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'data_sq_v_%%'").scalars().all()
    assert any("hnsw" in d and "vector_cosine_ops" in d for d in definitions)
    assert any("gin" in d.lower() and "text_search_tsv" in d for d in definitions)
    assert storage.manifest()["vector_index"] == "pgvector-hnsw"
    assert GOLD in ask(QUESTION, llm="extractive", settings=settings, embedder=fake_embedder).text


def test_cli_ingest_and_ask_on_postgres(tmp_path, database, monkeypatch, capsys):
    monkeypatch.setenv("SOURCEQA_VECTOR_STORE", "postgres")
    monkeypatch.setenv("SOURCEQA_DATABASE_URL", database)
    assert main(["ingest"]) == 0
    assert "17 chunks" in capsys.readouterr().out
    assert main(["ask", "--llm", "extractive", "--json", QUESTION]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert GOLD in answer["text"] and answer["index_version"] == storage_for(
        load_settings(vector_store="postgres", database_url=database)).current()


def test_the_web_chat_on_postgres(replicas):
    from test_browser import CHROMIUM, FLAGS
    from test_browser import ask as ask_in_browser
    playwright_api = pytest.importorskip("playwright.sync_api")

    _, servers = replicas
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(servers[1].url + "/")
        page.wait_for_selector("#sq-question textarea")
        page.wait_for_function("(document.querySelector('#sq-status')?.innerText || '').includes('chunks')")
        assert "17 chunks" in page.inner_text("#sq-status")
        ask_in_browser(page, QUESTION)
        assert GOLD in page.locator("#sq-sources mark.sq-quote").all_inner_texts()
        browser.close()
