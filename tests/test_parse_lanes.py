"""PDF and Word files are parsed side by side, one bounded child per core (issue 29): the
documents still come back in corpus order, a copy of a file read well is skipped and a
copy of a file that failed is tried again, as when they were read one at a time, and a
cancel starts no further parse. The real bounded children and the real CLI too."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.settings import load_settings
from ingest import parsing, readers
from ingest.bounded import Cancelled, Limits
from ingest.formats import Extracted, Unreadable
from tests.test_formats import write_pdf

REPO = Path(__file__).resolve().parent.parent


class SlowParser:
    """Stands in for ``read_bounded``: each parse takes ``seconds`` and records how many ran at once."""

    def __init__(self, seconds: float = 0.3, failing: frozenset[str] = frozenset()) -> None:
        self.seconds, self.failing = seconds, failing
        self.running = self.most = 0
        self.parsed: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, suffix, data, source, limits, cancelled=None):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.parsed.append(source)
        try:
            waited = 0.0
            while waited < self.seconds:
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled(source)
                time.sleep(0.02)
                waited += 0.02
            if source in self.failing:
                raise Unreadable("damaged")
            return Extracted(f"Paper\n\nThe text of {source}.", (0,))
        finally:
            with self._lock:
                self.running -= 1


def _folder(tmp_path: Path, count: int) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(count):
        (corpus / f"p{number:02d}.pdf").write_bytes(b"%%PDF-1.4 paper %d" % number)
    return corpus


def test_pdfs_are_parsed_side_by_side_and_come_back_in_corpus_order(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "parse_lanes", lambda limits: 2)
    parser = SlowParser()
    monkeypatch.setattr(parsing, "read_bounded", parser)
    corpus = _folder(tmp_path, 8)
    (corpus / "notes.txt").write_text("Notes\n\nRead in its turn, in this process.\n", "utf-8")
    began = time.perf_counter()
    documents, skipped = readers.scan_corpus(corpus, limits=Limits())
    seconds = time.perf_counter() - began
    assert parser.most == 2 and seconds < 8 * 0.3 * 0.75  # two at a time, not one
    assert [d.source for d in documents] == sorted(p.name for p in corpus.iterdir()) and not skipped


def test_a_copy_of_a_file_read_well_is_skipped_and_a_copy_of_a_failed_one_is_tried_again(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "parse_lanes", lambda limits: 2)
    parser = SlowParser(0.05, failing=frozenset({"a-bad.pdf", "b-bad-copy.pdf"}))
    monkeypatch.setattr(parsing, "read_bounded", parser)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a-bad.pdf").write_bytes(b"%PDF bad")
    (corpus / "a-good.pdf").write_bytes(b"%PDF good")
    (corpus / "b-bad-copy.pdf").write_bytes(b"%PDF bad")
    (corpus / "b-good-copy.pdf").write_bytes(b"%PDF good")
    documents, skipped = readers.scan_corpus(corpus, limits=Limits())
    assert [d.source for d in documents] == ["a-good.pdf"]
    assert {s.source: s.reason for s in skipped} == {"a-bad.pdf": "damaged", "b-bad-copy.pdf": "damaged",
                                                     "b-good-copy.pdf": "same content as a-good.pdf"}
    assert sorted(parser.parsed) == ["a-bad.pdf", "a-good.pdf", "b-bad-copy.pdf"]  # the good copy: never


def test_a_cancel_stops_the_parses_running_and_starts_no_other(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "parse_lanes", lambda limits: 2)
    parser = SlowParser(5.0)
    monkeypatch.setattr(parsing, "read_bounded", parser)
    cancelled = threading.Event()
    threading.Timer(0.3, cancelled.set).start()
    began = time.perf_counter()
    with pytest.raises(Cancelled):
        readers.scan_corpus(_folder(tmp_path, 12), limits=Limits(), cancelled=cancelled)
    time.sleep(0.3)  # nothing queued may start after the scan gave up
    assert time.perf_counter() - began < 3 and len(parser.parsed) <= 2 and parser.running == 0


def test_one_lane_per_core_up_to_four_and_one_without_bounded_children():
    cores = len(__import__("os").sched_getaffinity(0))
    assert readers.parse_lanes(Limits()) == max(1, min(cores, 4))
    assert readers.parse_lanes(None) == 1


@pytest.mark.real
def test_sourceqa_ingest_reads_real_pdfs_in_bounded_children_side_by_side(tmp_path):
    """The real CLI on four PDFs and two byte-for-byte copies: every PDF is read with its
    pages, the copies are skipped as such, and the index answers from a PDF's page."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("one", "two", "three", "four"):
        write_pdf(corpus / f"{name}.pdf", title=f"Widget Handbook {name}")
    shutil.copyfile(corpus / "one.pdf", corpus / "x-copy-of-one.pdf")  # after one.pdf in corpus order
    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus)
    assert readers.parse_lanes(Limits.of(settings)) >= 1
    env = {"SOURCEQA_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "app.cli", "ingest", "--corpus", str(corpus), "--files"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("one", "two", "three", "four"):
        assert f"{name}.pdf: " in done.stdout and "chunks" in done.stdout
    assert "x-copy-of-one.pdf: skipped (same content as one.pdf)" in done.stdout, done.stdout
