"""Issue 26: hostile and odd files. Each test here failed before its fix; the ones marked
"real CLI" run ``sourceqa`` as a user does (a child process, the packaged MiniLM)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SEED, client_for

from ingest.storage.folders import current_version


def _cli(home: Path, corpus: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith("SOURCEQA_")},
               "SOURCEQA_HOME": str(home), "SOURCEQA_CORPUS_DIR": str(corpus), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], check=False, cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    return corpus


# -- 7. the fast "unchanged" path checks the manifest it serves (real CLI) ---------------------
def test_real_cli_ingest_repairs_a_manifest_whose_dimension_was_flipped(tmp_path, seed_copy):
    home = tmp_path / "home"
    built = _cli(home, seed_copy, "ingest")
    assert built.returncode == 0, built.stderr
    version = current_version(home / "index")
    manifest = json.loads((version / "manifest.json").read_text("utf-8"))
    assert manifest["embedder"]["dimension"] == 384
    manifest["embedder"]["dimension"] = 284
    (version / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")

    repaired = _cli(home, seed_copy, "ingest")
    assert repaired.returncode == 0, repaired.stderr
    assert "corpus unchanged" not in repaired.stdout, repaired.stdout
    assert current_version(home / "index") != version
    answered = _cli(home, seed_copy, "ask", "--json", "What is the most frequent cause of metastatic calcinosis cutis?")
    assert answered.returncode == 0, answered.stderr
    assert "Chronic renal failure" in answered.stdout
    again = _cli(home, seed_copy, "ingest")
    assert again.returncode == 0 and "corpus unchanged" in again.stdout, again.stdout + again.stderr


# -- 1. a tiny file cannot take unbounded CPU or memory ----------------------------------------
def _limited(settings, **limits):
    return settings.model_copy(update=limits)


def test_a_pdf_whose_pages_share_one_huge_stream_is_stopped_at_the_cpu_limit(settings, fake_embedder):
    from bench.attack.bombs import pdf_bomb
    from ingest import ingest

    corpus = Path(settings.corpus_dir)
    bomb = pdf_bomb(pages=12, operators=300_000)
    assert len(bomb) < 12_000  # about 8 s of pypdf a page unbounded: 100 s for this file
    (corpus / "bomb.pdf").write_bytes(bomb)
    report = ingest(_limited(settings, parse_cpu_seconds=2), embedder=fake_embedder)
    lines = report.file_lines()
    assert any(line.startswith("bomb.pdf: skipped") and "parse_cpu_seconds" in line for line in lines), lines
    assert report.documents == 1 and not report.unchanged  # the seed article is still indexed


def test_a_docx_that_unpacks_past_the_memory_limit_is_skipped_naming_it():
    from bench.attack.bombs import docx_bomb
    from ingest.bounded import Limits, read_bounded
    from ingest.formats import Unreadable

    data = docx_bomb(megabytes=8)  # under the zip-bomb ratio check's 10 MB: python-docx reads it
    with pytest.raises(Unreadable, match="parse_memory_mb"):
        read_bounded(".docx", data, "bomb.docx", Limits(cpu_seconds=60, memory_mb=64))
    assert "calcium deposits" in read_bounded(".docx", data, "bomb.docx", Limits(cpu_seconds=60, memory_mb=2048)).text


def test_a_docx_zip_bomb_is_refused_before_it_is_parsed():
    from bench.attack.bombs import docx_bomb
    from ingest.formats import Unreadable
    from ingest.word import read_docx

    data = docx_bomb(megabytes=30)
    assert len(data) < 200_000
    with pytest.raises(Unreadable, match="zip bomb"):
        read_docx(data, "bomb.docx")


def test_a_pdf_over_the_page_limit_is_skipped_before_its_pages_are_read(tmp_path):
    from test_formats import write_pdf

    from ingest.bounded import Limits, read_bounded
    from ingest.formats import Unreadable

    data = write_pdf(tmp_path / "three.pdf").read_bytes()
    with pytest.raises(Unreadable, match=r"3 pages, over the max_document_pages setting \(2\)"):
        read_bounded(".pdf", data, "three.pdf", Limits(cpu_seconds=30, max_pages=2))
    assert "Wash the copper widgets" in read_bounded(".pdf", data, "three.pdf", Limits(cpu_seconds=30)).text


def test_text_over_the_character_limit_is_skipped(settings, fake_embedder):
    from ingest import ingest

    (Path(settings.corpus_dir) / "long.txt").write_text("Gout is caused by uric acid crystals. " * 500)
    report = ingest(_limited(settings, max_document_chars=14_500), embedder=fake_embedder)
    assert any(line.startswith("long.txt: skipped") and "max_document_chars" in line for line in report.file_lines())


# -- 2. one parse per file: a changed corpus parses only what changed --------------------------
def test_a_changed_corpus_parses_only_the_changed_files(settings, fake_embedder, monkeypatch, tmp_path):
    from test_formats import write_pdf

    from bench.attack.bombs import pdf_bomb
    from ingest import ingest, parsing

    corpus = Path(settings.corpus_dir)
    write_pdf(corpus / "handbook.pdf")
    (corpus / "bomb.pdf").write_bytes(pdf_bomb(pages=12, operators=300_000))
    parsed: list[str] = []
    real = parsing.read_bounded
    monkeypatch.setattr(parsing, "read_bounded", lambda suffix, data, source, *a: parsed.append(source)
                        or real(suffix, data, source, *a))
    limited = _limited(settings, parse_cpu_seconds=2)
    first = ingest(limited, embedder=fake_embedder)
    assert sorted(parsed) == ["bomb.pdf", "handbook.pdf"] and first.documents == 2
    (corpus / "note.txt").write_text("Tin gizmos rattle loudly when they are shaken in a jar.")
    second = ingest(limited, embedder=fake_embedder)
    assert sorted(parsed) == ["bomb.pdf", "handbook.pdf"], "an unchanged PDF (or bomb) was parsed again"
    assert second.documents == 3 and second.file_lines() == sorted(second.file_lines())
    assert [line for line in second.file_lines() if line.startswith("bomb.pdf")] == \
        [line for line in first.file_lines() if line.startswith("bomb.pdf")]
    (corpus / "handbook.pdf").write_bytes(write_pdf(tmp_path / "other.pdf", title="Other Handbook").read_bytes())
    ingest(limited, embedder=fake_embedder)
    assert sorted(parsed) == ["bomb.pdf", "handbook.pdf", "handbook.pdf"]
    ingest(_limited(settings, parse_cpu_seconds=3), embedder=fake_embedder)  # new limits: parsed again
    assert parsed.count("bomb.pdf") == 2


def test_a_damaged_parse_cache_entry_is_a_miss_not_an_error(tmp_path):
    from ingest.formats import Extracted
    from ingest.parse_cache import ParseCache

    cache = ParseCache(tmp_path / "cache")
    cache.put("ab" * 32, "a.pdf", "k", Extracted("# A\n\ntext\n", (0,)))
    assert cache.get("ab" * 32, "a.pdf", "k") == Extracted("# A\n\ntext\n", (0,))
    assert cache.get("ab" * 32, "b.pdf", "k") is None  # the name is part of the key (titles)
    for entry in (tmp_path / "cache").glob("*/*.json"):
        entry.write_bytes(b"\xff{not json")
    assert cache.get("ab" * 32, "a.pdf", "k") is None


# -- 3. a file name that is not UTF-8 ---------------------------------------------------------
def test_a_file_name_that_is_not_utf8_is_skipped_and_the_rest_ingested(settings, fake_embedder):
    from ingest import ingest, load_index

    corpus = Path(settings.corpus_dir)
    with open(os.path.join(os.fsencode(corpus), b"bad\xffname.txt"), "wb") as handle:
        handle.write(b"Gout is caused by uric acid crystals in the joints.")
    report = ingest(settings, embedder=fake_embedder)
    assert "bad\\xffname.txt: skipped (its name is not valid UTF-8; rename the file to include it)" in \
        report.file_lines()
    assert list(load_index(settings.index_path).documents) == [SEED.name]
    assert ingest(settings, embedder=fake_embedder).unchanged


# -- 6. links out of the corpus folder are not followed ------------------------------------------
def test_a_symlink_out_of_the_corpus_is_not_indexed_or_served(settings, fake_embedder, tmp_path):
    from ingest import embedders, ingest, load_index

    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The launch code is 0000. It is kept in the outside folder.")
    corpus = Path(settings.corpus_dir)
    (corpus / "passwd.txt").symlink_to(secret)
    (corpus / "inside.txt").symlink_to(corpus / SEED.name)  # a link within the folder is followed
    report = ingest(settings, embedder=fake_embedder)
    assert any(line.startswith("passwd.txt: skipped (a symbolic link that leads out") for line in report.file_lines())
    assert "passwd.txt" not in load_index(settings.index_path).documents
    embedders._cache[fake_embedder.name] = fake_embedder
    try:
        client = client_for(settings, embedder=fake_embedder.name, llm="extractive")
        response = client.get("/api/document", params={"source": "passwd.txt"})
        assert response.status_code == 404 and "launch code" not in response.text
    finally:
        embedders._cache.pop(fake_embedder.name, None)
    allowed = ingest(settings.model_copy(update={"follow_outside_links": True}), embedder=fake_embedder)
    assert "passwd.txt" in load_index(settings.index_path).documents and not allowed.unchanged


# -- 4. upload names that could pass for another document, or that the disk refuses -----------
@pytest.mark.parametrize(("name", "status", "says"), [
    ("\u00e9" * 130 + ".txt", 422, "over 255 bytes"),
    ("calcinosis\u200b_cutis.txt", 422, "U+200B"),
    ("notes\u202etxt.md", 422, "U+202E"),
    ("notes\u0085.txt", 422, "U+0085"),
    ("notes\u2028.txt", 422, "U+2028"),
    ("notes\uff0etxt.md", 422, "looks like a dot"),
    ("cafe\u0301.txt", 422, "normal form C"),
    ("CALCINOSIS_CUTIS.txt", 409, "only in case"),
])
def test_upload_names_that_could_pass_for_another_are_refused(app_settings, name, status, says):
    from test_upload import NOTE, served, upload

    before = served(app_settings)
    files = sorted(p.name for p in Path(app_settings.corpus_dir).iterdir())
    with client_for(app_settings) as client:
        response = upload(client, name, NOTE.encode())
    assert response.status_code == status and says in response.json()["error"], response.text
    assert "\n" not in response.json()["error"]
    assert sorted(p.name for p in Path(app_settings.corpus_dir).iterdir()) == files
    assert served(app_settings) == before


def test_an_uploaded_bomb_is_refused_within_the_limit_and_its_parse_is_kept(app_settings, monkeypatch):
    from test_upload import served, upload

    from bench.attack.bombs import pdf_bomb
    from ingest import parsing

    parsed: list[str] = []
    real = parsing.read_bounded
    monkeypatch.setattr(parsing, "read_bounded", lambda suffix, data, source, *a: parsed.append(source)
                        or real(suffix, data, source, *a))
    limited = app_settings.model_copy(update={"parse_cpu_seconds": 2})
    before = served(limited)
    with client_for(limited) as client:
        for _ in range(2):
            response = upload(client, "bomb.pdf", pdf_bomb(pages=12, operators=300_000))
            assert response.status_code == 422 and "parse_cpu_seconds" in response.json()["error"], response.text
    assert parsed == ["bomb.pdf"], "the second upload of the same bytes parsed it again"
    assert served(limited) == before and not (Path(limited.corpus_dir) / "bomb.pdf").exists()


# -- 8. /healthz?deep=1 finds byte damage that leaves sizes and times alone --------------------
def test_deep_healthz_finds_byte_damage_that_the_cheap_one_cannot(app_settings, monkeypatch):
    from qa import api

    version = current_version(app_settings.index_path)
    target = version / "chunks.jsonl"
    with client_for(app_settings) as client:
        assert client.post("/api/ask", json={"question": "What is calcinosis cutis?"}).status_code == 200
        assert client.get("/healthz", params={"deep": 1}).status_code == 200
        stat = target.stat()
        data = bytearray(target.read_bytes())
        data[10] ^= 0x01  # one bit, same size
        target.write_bytes(bytes(data))
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same time
        assert client.get("/healthz").status_code == 200  # the cheap check cannot see it
        assert client.get("/healthz", params={"deep": 1}).status_code == 200  # within 10 s: the last result
        monkeypatch.setattr(api, "DEEP_CHECK_SECONDS", 0.0)
        deep = client.get("/healthz", params={"deep": 1})
        assert deep.status_code == 503 and "checksums" in deep.json()["error"], deep.text
        assert "\n" not in deep.json()["error"] and str(app_settings.home) not in deep.text


# -- 5. an upload killed during its ingest is not indexed at the next start (real server) -----
def _server(tmp_path, corpus, **env):
    from conftest import Server

    home = tmp_path / "home"
    environ = {"SOURCEQA_CORPUS_DIR": str(corpus), "SOURCEQA_LLM": "extractive", **env}
    return Server(home, environ, tmp_path / "server.log").wait_ready(180), home


def _long_text(sentences: int) -> bytes:
    return "\n\n".join(f"Widget {i} weighs {i * 7 % 1000} grams and is kept in box {i % 97} of shelf {i % 13}."
                       for i in range(sentences)).encode()


def test_an_upload_whose_server_is_killed_during_its_ingest_is_discarded(tmp_path, seed_copy):
    import signal
    import threading
    import time

    import httpx

    from ingest import load_index

    server, home = _server(tmp_path, seed_copy)
    try:
        def post() -> None:
            try:
                httpx.post(server.url + "/api/upload", params={"name": "widgets.txt"}, content=_long_text(4000),
                           headers={"Content-Type": "application/octet-stream"}, timeout=300)
            except httpx.HTTPError:
                pass  # the server is killed under it

        client = threading.Thread(target=post, daemon=True)
        client.start()
        deadline = time.monotonic() + 120
        while not (seed_copy / "widgets.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (seed_copy / "widgets.txt").exists(), server.log.read_text()[-2000:]
        time.sleep(1.0)  # embedding 4,000 sentences: the ingest is under way
        assert list((home / "pending-uploads").glob("*.json"))
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        client.join(10)
    finally:
        server.stop()
    restarted = _cli(home, seed_copy, "ingest")
    assert restarted.returncode == 0, restarted.stderr
    assert "discarded widgets.txt: its upload did not finish" in restarted.stderr
    assert not (seed_copy / "widgets.txt").exists()
    assert set(load_index(home / "index").documents) == {SEED.name}
    assert not list((home / "pending-uploads").glob("*.json"))


def test_unfinished_uploads_of_a_live_process_or_another_file_are_left_alone(tmp_path, seed_copy):
    from ingest import pending

    home = tmp_path / "home"
    (seed_copy / "live.txt").write_text("Live upload.")
    live = pending.begin(home, seed_copy, "live.txt", b"Live upload.")
    (seed_copy / "changed.txt").write_text("Replaced since by the user.")
    gone = pending.begin(home, seed_copy, "changed.txt", b"What was uploaded.")
    entry = json.loads(gone.read_text())
    gone.write_text(json.dumps({**entry, "pid": 2**22 + 1}))  # no such process
    assert pending.discard_unfinished(home, seed_copy) == []
    assert (seed_copy / "live.txt").exists() and (seed_copy / "changed.txt").exists()
    assert live.exists() and not gone.exists()


# -- 1 (cont.). an upload's work stops when its client goes away (real server) ----------------
def test_an_upload_whose_client_disconnects_stops_its_parse(tmp_path, seed_copy):
    import socket
    import time

    import httpx

    from bench.attack.bombs import pdf_bomb

    server, _ = _server(tmp_path, seed_copy, SOURCEQA_PARSE_CPU_SECONDS="600")
    try:
        body = pdf_bomb(pages=60, operators=300_000)  # about 8 minutes of pypdf, under the limit
        request = (f"POST /api/upload?name=bomb.pdf HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                   f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.sendall(request + body)
            time.sleep(3)  # the parse is under way in its child
        deadline = time.monotonic() + 30
        while "stopped while it was parsed: its client went away" not in server.log.read_text() \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "its client went away" in server.log.read_text(), server.log.read_text()[-2000:]
        assert not (seed_copy / "bomb.pdf").exists()
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    finally:
        server.stop()


def test_a_cancelled_ingest_stops_between_embedding_groups_and_writes_nothing(settings, fake_embedder):
    import threading

    from conftest import FakeEmbedder

    from ingest import Cancelled, ingest

    (Path(settings.corpus_dir) / "widgets.txt").write_bytes(_long_text(1500))  # hundreds of chunks
    before = current_version(settings.index_path)
    cancelled = threading.Event()

    class GoneAfterOneGroup(FakeEmbedder):
        def embed(self, texts):
            cancelled.set()  # the client goes away while the first group is embedded
            return super().embed(texts)

    with pytest.raises(Cancelled):
        ingest(settings, embedder=GoneAfterOneGroup(), cancelled=cancelled)
    assert current_version(settings.index_path) == before
    report = ingest(settings, embedder=FakeEmbedder())  # the next ingest finishes the work
    assert report.documents == 2 and report.embedded > 0 and current_version(settings.index_path) != before
