"""Issue 13, ingest side: index damage that ingest must repair, documents that must not be
lost silently, the cost of bad input, and a CLI that fails in one clear line."""

from __future__ import annotations

import errno
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED, FakeEmbedder

from app.cli import main
from core.settings import load_settings
from core.text import split_sentences
from ingest import (
    IndexProblem,
    check_compatible,
    ingest,
    load_index,
    pipeline,
    read_manifest,
    storage_for,
)
from ingest import embed as embedding
from ingest.chunk import chunk_document
from ingest.clean import clean_page
from ingest.readers import html_to_text
from ingest.storage import folders
from ingest.storage.folders import current_version, file_sha256

# -- A. index damage ------------------------------------------------------------------------


def _manifest(version: Path) -> dict:
    return json.loads((version / "manifest.json").read_text())


def _write_manifest(version: Path, manifest) -> None:
    (version / "manifest.json").write_text(json.dumps(manifest))


def _edit_manifest(version: Path, edit) -> None:
    manifest = _manifest(version)
    edit(manifest)
    _write_manifest(version, manifest)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _unlist_and_truncate(version: Path, name: str) -> None:
    _edit_manifest(version, lambda m: m["files"].pop(name))
    _truncate(version / name)


def _forge(version: Path, name: str, array: np.ndarray) -> None:
    """Replace an array and its checksum: the manifest no longer tells the damage."""
    np.save(version / name, array, allow_pickle=False)
    _edit_manifest(version, lambda m: m["files"].__setitem__(name, file_sha256(version / name)))


DAMAGE = {
    "dimension flipped in the manifest": lambda index, version: _edit_manifest(
        version, lambda m: m["embedder"].__setitem__("dimension", 284)),
    "CURRENT not UTF-8": lambda index, version: (index / "CURRENT").write_bytes(b"v-\xff\xfe\x80"),
    "CURRENT with ../": lambda index, version: (index / "CURRENT").write_text(f"../{index.name}/{version.name}"),
    "CURRENT names a missing folder": lambda index, version: (index / "CURRENT").write_text(
        "v-20990101T000000-deadbeef"),
    "CURRENT huge": lambda index, version: (index / "CURRENT").write_text("v-" + "a" * 100_000),
    "vectors.faiss unlisted and truncated": lambda index, version: _unlist_and_truncate(version, "vectors.faiss"),
    "keyword weights unlisted and truncated": lambda index, version: _unlist_and_truncate(
        version, "keyword.data.npy"),
    "keyword column pointers forged with a token missing": lambda index, version: _forge(
        version, "keyword.indptr.npy", np.load(version / "keyword.indptr.npy")[:-1]),
    "keyword rows forged to point past the chunks": lambda index, version: _forge(
        version, "keyword.indices.npy", np.load(version / "keyword.indices.npy") + 10_000),
    "chunks.jsonl truncated": lambda index, version: _truncate(version / "chunks.jsonl"),
    "sentence vectors deleted": lambda index, version: (version / "sentence_vectors.npy").unlink(),
    "manifest garbage JSON": lambda index, version: (version / "manifest.json").write_bytes(b"\xff{garbage"),
    "manifest not a dict": lambda index, version: _write_manifest(version, [1, 2, 3]),
    "manifest files not a dict": lambda index, version: _edit_manifest(
        version, lambda m: m.__setitem__("files", ["chunks.jsonl"])),
    "manifest embedder missing": lambda index, version: _edit_manifest(version, lambda m: m.pop("embedder")),
    "manifest chunk count wrong": lambda index, version: _edit_manifest(
        version, lambda m: m.__setitem__("chunk_count", m["chunk_count"] + 1)),
    "sentence vectors forged with another dimension": lambda index, version: _forge(
        version, "sentence_vectors.npy", np.zeros((len(np.load(version / "sentence_vectors.npy")), 32), np.float32)),
    "chunk vectors forged with a row missing": lambda index, version: _forge(
        version, "chunk_vectors.npy", np.load(version / "chunk_vectors.npy")[1:]),
}


def _assert_clean_message(problem: IndexProblem, tmp_path: Path) -> None:
    message = str(problem)
    assert "\n" not in message and str(tmp_path) not in message and "sourceqa ingest" in message, message
    assert "/tmp" not in message and "/home" not in message, message


@pytest.mark.parametrize("damage", DAMAGE)
def test_every_damage_is_an_index_problem_and_ingest_repairs_it(settings, fake_embedder, tmp_path, damage):
    index = settings.index_path
    chunks = len(load_index(index).chunks)
    DAMAGE[damage](index, current_version(index))
    with pytest.raises(IndexProblem) as raised:
        load_index(index)
    _assert_clean_message(raised.value, tmp_path)
    storage = storage_for(settings)
    for read in (lambda: current_version(index), lambda: read_manifest(index), storage.manifest,
                 storage.current):
        try:  # may succeed (nothing to check there) or say the index is damaged, nothing else
            read()
        except IndexProblem as problem:
            _assert_clean_message(problem, tmp_path)
    folders.tidy(index)  # never crashes on a damaged index
    report = ingest(settings, embedder=fake_embedder)
    assert not report.unchanged, "a damaged index must not count as up to date"
    assert len(load_index(index).chunks) == chunks
    assert ingest(settings, embedder=fake_embedder).unchanged


def test_missing_index_message_has_no_path(tmp_path):
    with pytest.raises(IndexProblem) as raised:
        load_index(tmp_path / "nothing")
    _assert_clean_message(raised.value, tmp_path)


class NamedEmbedder(FakeEmbedder):
    """The fake embedder under another name and dimension (a different model)."""

    def __init__(self, name: str, dimension: int) -> None:
        super().__init__()
        self.name = name
        self.dimension = dimension


def test_a_changed_embedder_setting_re_embeds_everything(settings, monkeypatch):
    models = {"st:/model-a": NamedEmbedder("st:/model-a", 64), "st:/model-b": NamedEmbedder("st:/model-b", 32)}
    monkeypatch.setattr(pipeline, "make_embedder", lambda name, runtime, settings=None: models[name])
    first = ingest(settings.model_copy(update={"embedder": "st:/model-a"}))
    assert not first.unchanged and first.embedded > 0  # built by the fake-hash model before
    second = ingest(settings.model_copy(update={"embedder": "st:/model-b"}))
    # everything embedded again; "reused" is only texts that occur twice (a one-sentence chunk)
    assert not second.unchanged and (second.embedded, second.reused) == (first.embedded, first.reused)
    loaded = load_index(settings.index_path)
    assert loaded.manifest["embedder"] == {"name": "st:/model-b", "dimension": 32, "sentence_vectors": "alone"}
    assert loaded.chunk_vectors.shape[1] == loaded.sentence_vectors.shape[1] == 32
    check_compatible(loaded.manifest, "st:/model-b", 32)


def test_the_same_name_with_another_dimension_is_another_model(settings, tmp_path):
    baseline = ingest(settings, index_dir=tmp_path / "baseline", embedder=FakeEmbedder())
    report = ingest(settings, embedder=NamedEmbedder("fake-hash", 32))
    assert not report.unchanged and (report.embedded, report.reused) == (baseline.embedded, baseline.reused)
    assert load_index(settings.index_path).manifest["embedder"] == {"name": "fake-hash", "dimension": 32, "sentence_vectors": "alone"}


def test_a_changed_judge_rebuilds_but_reuses_the_vectors(settings, fake_embedder):
    report = ingest(settings.model_copy(update={"judge": "another-judge"}), embedder=fake_embedder)
    assert not report.unchanged and report.embedded == 0 and report.reused > 0
    assert load_index(settings.index_path).manifest["judge"] == "another-judge"


def test_check_compatible_names_both_embedders(settings, tmp_path):
    manifest = load_index(settings.index_path).manifest
    check_compatible(manifest, "fake-hash", 64)
    for name, dimension in (("fake-hash", 384), ("all-MiniLM-L6-v2", 64)):
        with pytest.raises(IndexProblem, match="fake-hash.*sourceqa ingest") as raised:
            check_compatible(manifest, name, dimension)
        assert name in str(raised.value)
        _assert_clean_message(raised.value, tmp_path)
    with pytest.raises(IndexProblem, match="sourceqa ingest"):
        check_compatible({"version": "v-1"}, "fake-hash", 64)


# -- B. documents silently lost -------------------------------------------------------------


def test_a_first_line_that_is_a_sentence_is_body_text():
    document = clean_page("Calcium deposits form in skin.\n", "notes/skin.txt")
    assert document.title == "skin"
    assert [document.text[s.body_start:s.end].strip() for s in document.sections] == [
        "Calcium deposits form in skin."]
    long_line = ("Calcium deposits form in the skin of people who have had kidney disease "
                 "for many years and more")
    document = clean_page(long_line + "\n\nA second paragraph about it.\n", "long.txt")
    assert document.title == "long" and long_line in document.text
    assert len(document.paragraphs) == 2


def test_a_title_line_and_markdown_heading_stay_titles():
    document = clean_page("Widget Care\n\nWidgets are small blue tools.\n", "w.txt")
    assert document.title == "Widget Care" and len(document.paragraphs) == 1
    document = clean_page("# Calcium deposits form in skin.\n\nThey are hard.\n", "w.md")
    assert document.title == "Calcium deposits form in skin." and len(document.paragraphs) == 1
    document = clean_page("Widgets\n\nThey are small.\n", "w.txt")  # short body, no chrome to strip
    assert "They are small." in document.text and len(document.paragraphs) == 1


def test_deeply_nested_html_keeps_its_text():
    html = "<div>" * 5000 + "Calcium deposits form in skin." + "</div>" * 5000
    assert html_to_text(html).strip() == "Calcium deposits form in skin."


def _small_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "small"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "one-line.txt").write_text("Calcium deposits form in skin.\n")
    (corpus / "empty.txt").write_text("")
    (corpus / "nested.html").write_text("<div>" * 5000 + "Calcium deposits form in skin." + "</div>" * 5000)
    (corpus / "binary.txt").write_bytes(b"abc\x00def")
    (corpus / "latin1.txt").write_bytes("Caf\xe9 au lait est bon.".encode("latin-1"))
    (corpus / "copy.txt").write_bytes(SEED.read_bytes())
    return corpus


def test_every_file_is_counted_and_files_without_text_are_warned(tmp_path, fake_embedder, caplog):
    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=_small_corpus(tmp_path))
    with caplog.at_level(logging.WARNING):
        report = ingest(settings, embedder=fake_embedder)
    counts = {f.source: f for f in report.files}
    assert counts["one-line.txt"].chunks == 1 and counts["one-line.txt"].sentences == 1
    assert counts["nested.html"].chunks == 1
    assert counts["empty.txt"].chunks == 0 and counts["empty.txt"].note
    assert counts[SEED.name].chunks == 17 and counts[SEED.name].sections > 1
    assert any("empty.txt" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    skipped = {s.source: s.reason for s in report.skipped}
    assert set(skipped) == {"binary.txt", "latin1.txt", "copy.txt"}
    assert "binary" in skipped["binary.txt"] and "UTF-8" in skipped["latin1.txt"]
    assert SEED.name in skipped["copy.txt"]
    summary = report.summary()
    assert "\n" not in summary and summary.endswith("; 4 file(s) gave no text (see --files)")
    again = ingest(settings, embedder=fake_embedder)
    assert again.unchanged and again.files == report.files and again.skipped == report.skipped


def test_a_too_large_file_is_reported_as_skipped(tmp_path, fake_embedder):
    corpus = tmp_path / "big"
    corpus.mkdir()
    (corpus / "small.txt").write_text("Calcium deposits form in skin.\n")
    (corpus / "large.txt").write_text("Calcium deposits form in skin. " * 1000)
    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus, max_document_mb=0.01)
    report = ingest(settings, embedder=fake_embedder)
    assert [(s.source, "max_document_mb" in s.reason) for s in report.skipped] == [("large.txt", True)]
    assert report.summary().endswith("; 1 file(s) gave no text (see --files)")


def test_an_unreadable_file_is_skipped_not_fatal(tmp_path, fake_embedder, monkeypatch):
    corpus = _small_corpus(tmp_path)
    (corpus / "locked.txt").write_text("Locked text that cannot be read.\n")
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "locked.txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus)
    report = ingest(settings, embedder=fake_embedder)
    assert {s.source: s.reason for s in report.skipped}["locked.txt"] == "cannot read it (permission denied)"


def _cli_env(monkeypatch, tmp_path: Path, corpus: Path) -> None:
    monkeypatch.setenv("SOURCEQA_HOME", str(tmp_path / "cli-home"))
    monkeypatch.setenv("SOURCEQA_CORPUS_DIR", str(corpus))
    monkeypatch.setattr(pipeline, "make_embedder", lambda name, runtime, settings=None: FakeEmbedder())


def test_cli_ingest_files_prints_one_line_per_file(tmp_path, monkeypatch, capsys):
    _cli_env(monkeypatch, tmp_path, _small_corpus(tmp_path))
    assert main(["ingest", "--files"]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = {line.split(":")[0]: line for line in out[:-1]}
    assert set(lines) == {SEED.name, "one-line.txt", "empty.txt", "nested.html", "binary.txt", "latin1.txt",
                          "copy.txt"}
    assert "17 chunks" in lines[SEED.name] and "1 chunks" in lines["one-line.txt"]
    assert "no text" in lines["empty.txt"] and "skipped" in lines["binary.txt"]
    assert "gave no text" in out[-1]
    assert main(["ingest"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


# -- C. cost of bad input -------------------------------------------------------------------


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        split_sentences(text)
        best = min(best, time.perf_counter() - began)
    return best


def test_sentence_splitting_is_linear_on_abbreviation_runs():
    small, large = _seconds("A. " * 8_000), _seconds("A. " * 32_000)
    assert large / small < 8, f"4x the text took {large / small:.1f}x the time"
    assert [s.text for s in split_sentences("It is rare. Dr. Who said so! Yes. See Fig. 2 now.")] == [
        "It is rare.", "Dr. Who said so!", "Yes.", "See Fig. 2 now."]
    assert len(split_sentences("A. " * 100)) == 1


def _chunking_seconds(sections: int) -> float:
    text = "Big Page\n\n" + "".join(f"Part {i}\n\nPart {i} has a few words. And a second sentence.\n\n"
                                     for i in range(sections))
    document = clean_page(text, "big.txt")
    times = []
    for _ in range(3):  # the fastest of three: a busy machine slows one run, not the code
        began = time.perf_counter()
        chunks = chunk_document(document)
        times.append(time.perf_counter() - began)
    assert len(chunks) == sections
    return min(times)


def test_chunking_is_linear_in_the_number_of_sections():
    small, large = _chunking_seconds(2_000), _chunking_seconds(16_000)
    assert large / small < 20, f"8x the sections took {large / small:.1f}x the time"


def test_a_large_embedding_job_is_announced_with_an_estimate(settings, seed_corpus, fake_embedder, caplog,
                                                             monkeypatch):
    monkeypatch.setattr(embedding, "EMBED_WARN_TEXTS", 20)
    (seed_corpus / "more.txt").write_text("\n\n".join(f"Widget {i} weighs {i} grams." for i in range(30)))
    with caplog.at_level(logging.WARNING, logger="ingest.embed"):
        report = ingest(settings, embedder=fake_embedder)
    warnings = [r.getMessage() for r in caplog.records if r.name == "ingest.embed"]
    assert any(f"about {report.embedded} texts to embed" in w and "minute" in w for w in warnings), warnings
    caplog.clear()
    (seed_corpus / "more.txt").write_text("Widget 1 weighs 1 gram.")
    with caplog.at_level(logging.WARNING, logger="ingest.embed"):
        ingest(settings, embedder=fake_embedder)  # two texts: nothing to announce
    assert not [r for r in caplog.records if "texts to embed" in r.getMessage()]


# -- D. the CLI on a full or read-only disk --------------------------------------------------


def test_a_full_disk_is_one_line_and_keeps_the_old_index(tmp_path, monkeypatch, capsys, seed_corpus):
    _cli_env(monkeypatch, tmp_path, seed_corpus)
    assert main(["ingest"]) == 0
    index = tmp_path / "cli-home" / "index"
    before = load_index(index)
    capsys.readouterr()
    (seed_corpus / "new.txt").write_text("Widgets are small blue tools.\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(folders.np, "save", full)
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("sourceqa: error: cannot write ") and err.rstrip().endswith("no space left on device")
    monkeypatch.undo()
    after = load_index(index)
    assert after.version == before.version and after.manifest == before.manifest
    assert not [p for p in index.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_a_read_only_home_is_one_line(tmp_path, monkeypatch, capsys, seed_corpus, code):
    _cli_env(monkeypatch, tmp_path, seed_corpus)

    def refuse(self, *args, **kwargs):
        raise OSError(code, __import__("os").strerror(code), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and str(tmp_path / "cli-home") in err, err
    assert err.startswith("sourceqa: error: cannot ") and __import__("os").strerror(code).lower() in err


def test_a_really_read_only_home_is_one_line(tmp_path, monkeypatch, capsys, seed_corpus):
    if __import__("os").geteuid() == 0:
        pytest.skip("root ignores file permissions")
    home = tmp_path / "cli-home"
    home.mkdir()
    home.chmod(0o500)
    try:
        _cli_env(monkeypatch, tmp_path, seed_corpus)
        assert main(["ingest"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "permission denied" in err and "Traceback" not in err, err
    finally:
        home.chmod(0o700)


def test_a_file_of_one_short_line_is_indexed(tmp_path, fake_embedder):
    from core.settings import load_settings
    from ingest import ingest, load_index

    corpus = tmp_path / "short"
    corpus.mkdir()
    (corpus / "note.txt").write_text("Calcium deposits form in skin\n")
    settings = load_settings(environ={}, home=tmp_path / "home-short", corpus_dir=corpus, judge="fake")
    report = ingest(settings, embedder=fake_embedder)
    assert report.chunks == 1
    index = load_index(settings.index_path)
    assert "Calcium deposits form in skin" in index.chunks[0].text


def test_much_new_text_is_announced_before_it_is_cleaned(tmp_path, fake_embedder, caplog, monkeypatch):
    from ingest import pipeline

    corpus = tmp_path / "large"
    corpus.mkdir()
    (corpus / "big.txt").write_text("Calcium deposits form in the skin of some patients. " * 60_000)  # 3 MB
    settings = load_settings(environ={}, home=tmp_path / "home-large", corpus_dir=corpus)

    def not_yet(*args, **kwargs):
        raise RuntimeError("stopped before cleaning")

    monkeypatch.setattr(pipeline, "clean_page", not_yet)
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="before cleaning"):
        ingest(settings, embedder=fake_embedder)
    assert any("MB of new text to index" in r.getMessage() for r in caplog.records)
