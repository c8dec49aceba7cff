"""Faults: a damaged index, an ingest killed part-way, two ingests at once, a failing LLM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import GOLD, QUESTION, REPO, FakeEmbedder

from app.cli import main
from ingest import IndexProblem, ingest, load_index, read_manifest
from ingest.storage.folders import current_version, file_sha256, ingest_lock
from qa import ask


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _other_format(version: Path) -> None:
    manifest = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**manifest, "format": 999}))


DAMAGE = {
    "folder deleted": lambda index, version: __import__("shutil").rmtree(index),
    "version folder deleted": lambda index, version: __import__("shutil").rmtree(version),
    "half deleted": lambda index, version: [(version / n).unlink() for n in ("chunks.jsonl", "keyword.vocab.json")],
    "vectors corrupted": lambda index, version: _flip_a_byte(version / "chunk_vectors.npy"),
    "documents corrupted": lambda index, version: _flip_a_byte(version / "documents.json"),
    "manifest unreadable": lambda index, version: (version / "manifest.json").write_text("{not json"),
    "manifest of another format": lambda index, version: _other_format(version),
    "CURRENT garbage": lambda index, version: (index / "CURRENT").write_text("../../etc"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_index_is_detected_at_load_and_rebuilt_by_ingest(settings, fake_embedder, damage):
    index = settings.index_path
    DAMAGE[damage](index, current_version(index))
    with pytest.raises(IndexProblem, match="sourceqa ingest"):
        load_index(index)
    report = ingest(settings, embedder=fake_embedder)
    assert not report.unchanged, "a damaged index must not count as up to date"
    loaded = load_index(index)
    assert len(loaded.chunks) == 17
    assert GOLD in ask(QUESTION, llm="extractive", settings=settings, embedder=fake_embedder).text


def test_cli_reports_a_damaged_index_and_its_fix(settings, capsys, monkeypatch):
    _flip_a_byte(current_version(settings.index_path) / "chunks.jsonl")
    monkeypatch.setenv("SOURCEQA_HOME", str(settings.home))
    monkeypatch.setenv("SOURCEQA_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("SOURCEQA_EMBEDDER", "st:/nonexistent")  # the ask must fail before embedding
    assert main(["ask", "--llm", "extractive", QUESTION]) == 2
    error = capsys.readouterr().err
    assert "corrupted" in error and "sourceqa ingest" in error and "Traceback" not in error


def test_loading_never_unpickles(settings, tmp_path):
    """An index folder is data: a pickled object in it is refused, never run."""
    version = current_version(settings.index_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    np.save(version / "chunk_vectors.npy", np.array([Evil()], dtype=object), allow_pickle=True)
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"]["chunk_vectors.npy"] = file_sha256(version / "chunk_vectors.npy")  # a forged manifest
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexProblem, match="cannot be read"):
        load_index(settings.index_path)
    assert not marker.exists()


# An ingest in a child process that announces each step and pauses there, so the test
# can kill it with SIGKILL at exactly that step.
CHILD = """
import os, sys, time
sys.path.insert(0, {tests!r})
from conftest import FakeEmbedder
import ingest.storage.folders as folders
from ingest.keywords import KeywordIndex
from core.settings import load_settings
from ingest import ingest

def step(name, real):
    def wrapped(*args, **kwargs):
        print(name, flush=True)
        time.sleep(0.4)
        return real(*args, **kwargs)
    return wrapped

class Os:
    def __getattr__(self, name):
        return getattr(os, name)
    rename = staticmethod(step("rename", os.rename))
    replace = staticmethod(step("replace", os.replace))

class SlowEmbedder(FakeEmbedder):
    def embed(self, texts):
        print("embed", flush=True)
        time.sleep(0.2)
        return super().embed(texts)

folders._write_jsonl = step("write", folders._write_jsonl)
folders._fsync_folder = step("fsync", folders._fsync_folder)
folders._remove_old_versions = step("cleanup", folders._remove_old_versions)
KeywordIndex.save = step("keyword", KeywordIndex.save)
folders.os = Os()
settings = load_settings(environ={{}}, home={home!r}, corpus_dir={corpus!r})
ingest(settings, embedder=SlowEmbedder())
print("done", flush=True)
"""


@pytest.mark.parametrize("step", ["embed", "write", "keyword", "fsync", "rename", "replace", "cleanup"])
def test_ingest_killed_at_any_step_leaves_a_usable_index(settings, seed_corpus, fake_embedder, step):
    before = read_manifest(settings.index_path)
    (seed_corpus / "widgets.txt").write_text("Widgets\n\nWidgets are small blue tools for fixing frobs.\n")
    script = CHILD.format(tests=str(REPO / "tests"), home=str(settings.home), corpus=str(seed_corpus))
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if line.strip() == step:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(30)
    assert step in seen, f"the child never reached {step}: {seen}"
    loaded = load_index(settings.index_path)  # never half-written
    after = loaded.manifest
    if after["version"] == before["version"]:
        assert after == before
    else:  # killed after the switch: the new version is complete
        assert step in ("cleanup",) and "widgets.txt" in after["corpus"]
    answer = ask(QUESTION, llm="extractive", settings=settings, embedder=fake_embedder)
    assert GOLD in answer.text
    ingest(settings, embedder=fake_embedder)  # the next ingest finishes the job and tidies up
    assert "widgets.txt" in read_manifest(settings.index_path)["corpus"]
    leftovers = [p.name for p in settings.index_path.iterdir() if p.name.startswith((".tmp-", ".CURRENT-"))]
    assert leftovers == [] and len([p for p in settings.index_path.iterdir() if p.name.startswith("v-")]) == 1


def test_a_second_ingest_waits_for_the_first(settings, seed_corpus, fake_embedder):
    (seed_corpus / "widgets.txt").write_text("Widgets\n\nWidgets are small blue tools.\n")
    finished = threading.Event()

    def second() -> None:
        ingest(settings, embedder=FakeEmbedder())
        finished.set()

    with ingest_lock(settings.index_path):  # the first ingest, holding the lock
        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.8)
        assert not finished.is_set(), "the second ingest ran while the first held the lock"
    worker.join(30)
    assert finished.is_set() and "widgets.txt" in read_manifest(settings.index_path)["corpus"]
    with (ingest_lock(settings.index_path), pytest.raises(IndexProblem, match="another ingest"),
          ingest_lock(settings.index_path, wait=False)):
        pass


class Slow:
    name = "slow"

    def stream(self, messages):
        time.sleep(5)
        yield "Too late."


class Raises:
    name = "raises"

    def stream(self, messages):
        yield "Chronic renal"
        raise RuntimeError("CUDA error: device lost")


class Garbage:
    name = "garbage"

    def __init__(self, text: str) -> None:
        self.text = text

    def stream(self, messages):
        yield self.text


def test_a_hung_backend_times_out_and_the_source_sentences_are_shown(settings, fake_embedder):
    began = time.perf_counter()
    answer = ask(QUESTION, llm=Slow(), settings=settings.model_copy(update={"llm_timeout": 0.5}),
                 embedder=fake_embedder)
    assert time.perf_counter() - began < 3
    assert "slow backend failed" in answer.note and "llm_timeout" in answer.note
    assert GOLD in answer.text and answer.citations[0].quote == GOLD


def test_a_backend_raising_anything_falls_back_and_says_so(settings, fake_embedder):
    answer = ask(QUESTION, llm=Raises(), settings=settings, embedder=fake_embedder)
    assert "raises backend failed" in answer.note and "device lost" in answer.note
    assert GOLD in answer.text


@pytest.mark.parametrize("garbage", [
    "\x00\x01\x02 \ufffd\ufffd", "[1] [2] [3]", "yes yes yes yes", "🙂" * 200, "", "a" * 5000,
    "<script>alert(1)</script>", "NOT IN SOURCE? Chronic renal failure is caused by sugar.",
])
def test_garbage_from_the_backend_is_never_shown(settings, fake_embedder, garbage):
    answer = ask(QUESTION, llm=Garbage(garbage), settings=settings, embedder=fake_embedder)
    text = load_index(settings.index_path).documents["calcinosis_cutis.txt"]
    for sentence, number in answer.sentences:
        citation = answer.citations[number - 1]
        assert text[citation.start:citation.end] == citation.quote
    assert "<script>" not in answer.text and "sugar" not in answer.text and "yes yes" not in answer.text
    assert answer.abstained or GOLD in answer.text
