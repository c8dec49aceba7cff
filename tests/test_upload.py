"""``POST /api/upload``: a document added from the page is checked like the CLI checks it,
saved into the corpus folder and ingested; a refused one leaves no file and the same index
(the in-process app through the real Guard, on the fake-embedder index)."""

from __future__ import annotations

import pytest
from conftest import SEED, client_for

from ingest import load_index, read_manifest

NOTE = ("# Beekeeping\n\nA Langstroth hive holds ten frames in each box. Beekeepers inspect the "
        "hives every two weeks in spring.\n")


def upload(client, name: str, data: bytes, **headers):
    return client.post("/api/upload", params={"name": name}, content=data,
                       headers={"Content-Type": "application/octet-stream", **headers})


def served(settings) -> tuple[str, set[str]]:
    index = load_index(settings.index_path)
    return read_manifest(settings.index_path)["version"], set(index.documents)


def test_an_uploaded_document_is_ingested_and_answers(app_settings, fake_embedder):
    from qa import ask

    with client_for(app_settings) as client:
        response = upload(client, "bees.md", NOTE.encode())
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["source"] == "bees.md" and body["chunks"] >= 1 and not body["already_there"]
        assert (app_settings.corpus_dir / "bees.md").read_bytes() == NOTE.encode()
        assert served(app_settings)[1] == {SEED.name, "bees.md"}
        assert "bees.md" in client.get("/healthz").json()["index"]["corpus"]
        again = upload(client, "bees.md", NOTE.encode())  # the same file again: nothing to do
        assert again.status_code == 200 and again.json()["already_there"]
    answer = ask("How many frames does a Langstroth hive box hold?", settings=app_settings, llm="extractive",
                 embedder=fake_embedder)
    assert not answer.abstained and answer.citations[0].source == "bees.md"


@pytest.mark.parametrize(("name", "data", "status", "says"), [
    ("../bees.md", NOTE.encode(), 422, "without folders"),
    ("sub\\bees.md", NOTE.encode(), 422, "without folders"),
    (".bees.md", NOTE.encode(), 422, "hidden"),
    ("bees.exe", NOTE.encode(), 422, "only .txt"),
    ("bees.txt", b"", 422, "empty"),
    ("bees.txt", "caf\u00e9".encode("latin-1") * 10, 422, "UTF-8"),
    ("bees.txt", b"\x00\x01binary", 422, "binary"),
    ("bees.pdf", b"%PDF-1.4 not really a pdf", 422, "PDF"),
    ("bees.docx", b"PK\x03\x04 not a zip", 422, "Word"),
    ("bees.txt", b"12345 67890 ...", 422, "no text"),
    (SEED.name, NOTE.encode(), 409, "already in the corpus"),
])
def test_refused_files_leave_no_trace(app_settings, name, data, status, says):
    before = served(app_settings)
    files = sorted(p.name for p in app_settings.corpus_dir.iterdir())
    with client_for(app_settings) as client:
        response = upload(client, name, data)
    assert response.status_code == status, response.text
    assert says.lower() in response.json()["error"].lower()
    assert sorted(p.name for p in app_settings.corpus_dir.iterdir()) == files
    assert served(app_settings) == before


def test_a_file_over_the_size_limit_is_cut_off(app_settings):
    before = served(app_settings)
    with client_for(app_settings, max_document_mb=0.001) as client:
        response = upload(client, "big.txt", b"Bees make honey. " * 200)
    assert response.status_code == 413
    assert not (app_settings.corpus_dir / "big.txt").exists() and served(app_settings) == before


@pytest.mark.parametrize(("changes", "says"), [
    ({"read_only": True}, "read_only"),
    ({"host": "0.0.0.0", "allowed_hosts": ("localhost",)}, "without an api_token"),
])
def test_uploads_are_off_when_read_only_or_exposed_without_a_token(app_settings, changes, says):
    with client_for(app_settings, **changes) as client:
        response = upload(client, "bees.md", NOTE.encode())
    assert response.status_code == 403 and says in response.json()["error"]
    assert not (app_settings.corpus_dir / "bees.md").exists()


def test_exposed_with_a_token_uploads_need_the_token(app_settings):
    with client_for(app_settings, host="0.0.0.0", allowed_hosts=("localhost",), api_token="s3cret") as client:
        assert upload(client, "bees.md", NOTE.encode()).status_code == 401
        assert upload(client, "bees.md", NOTE.encode(), Authorization="Bearer s3cret").status_code == 200


def test_a_failed_ingest_removes_the_file_and_keeps_the_index(app_settings, monkeypatch):
    import app.upload

    def broken(settings, **options):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(app.upload, "ingest", broken)
    before = served(app_settings)
    with client_for(app_settings) as client:
        response = upload(client, "bees.md", NOTE.encode())
    assert response.status_code == 422 and "could not be added" in response.json()["error"]
    assert not (app_settings.corpus_dir / "bees.md").exists() and served(app_settings) == before


def test_the_page_sees_an_uploads_ingest_progress_while_it_runs(app_settings, fake_embedder, monkeypatch):
    """GET /api/upload/progress gives the running ingest's determinate numbers (the page
    polls it to fill its bar), and {} before and after."""
    import threading
    import time

    slow = fake_embedder.embed

    def embed(texts):  # slow enough for the poller to see the embedding stage
        time.sleep(0.2)
        return slow(texts)

    monkeypatch.setattr(fake_embedder, "embed", embed)
    text = "# Hives\n\n" + "\n\n".join(f"## Box {i}\n\nA box {i} of a hive holds ten frames of comb."
                                       for i in range(120))
    seen: list[dict] = []
    with client_for(app_settings) as client:
        assert client.get("/api/upload/progress", params={"name": "hives.md"}).json() == {}
        done = threading.Event()
        result: list = []
        worker = threading.Thread(target=lambda: (result.append(upload(client, "hives.md", text.encode())),
                                                  done.set()))
        worker.start()
        while not done.wait(0.05):
            step = client.get("/api/upload/progress", params={"name": "hives.md"}).json()
            if step:
                seen.append(step)
        worker.join()
        assert result[0].status_code == 200, result[0].text
        assert client.get("/api/upload/progress", params={"name": "hives.md"}).json() == {}
    embedding = [s for s in seen if s["stage"] == "embed" or "mbedding" in s["text"]]
    assert embedding, seen
    assert all(0 <= s["done"] <= s["total"] for s in embedding) and embedding[-1]["total"] >= 120
    assert "chunks" in embedding[-1]["text"]
