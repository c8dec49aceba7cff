"""Issue 17: an index whose memory does not grow with the library, an ingest that resumes
after a kill, and a second ingest of an unchanged corpus that does no work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ingest import ingest, load_index, pipeline
from ingest.embed import EMBED_GROUP_CHUNKS
from ingest.spill import Spill, spill_folder
from ingest.texts import DocumentTexts, write_texts


class Killed(RuntimeError):
    pass


class DiesAfter:
    """The fake embedder, killed on its ``calls``-th call (as a process would be)."""

    def __init__(self, inner, calls: int) -> None:
        self.inner, self.calls_left = inner, calls
        self.name, self.dimension = inner.name, inner.dimension

    def embed(self, texts):
        self.calls_left -= 1
        if self.calls_left < 0:
            raise Killed("killed")
        return self.inner.embed(texts)


def _many_chunks(corpus) -> None:
    """Enough chunks for four groups of embedding (about 31 chunks a document)."""
    for number in range(4 * EMBED_GROUP_CHUNKS // 31 + 1):
        sections = "\n\n".join(f"## Part {p}\n\nWidget {number}-{p} weighs {p} grams. It is blue."
                               for p in range(30))
        (corpus / f"doc{number}.md").write_text(f"# Catalogue {number}\n\n{sections}\n")


def test_a_killed_ingest_resumes_without_embedding_again(settings, seed_corpus, fake_embedder):
    _many_chunks(seed_corpus)
    settings = settings.model_copy(update={"home": settings.home.parent / "killed"})  # no index yet
    with pytest.raises(Killed):
        ingest(settings, embedder=DiesAfter(fake_embedder, calls=2))  # two groups done, then killed
    spilled = spill_folder(settings.home, str(settings.index_path))
    kept = {k for shard in spilled.glob("shard-*.keys") for k in shard.read_text().split()}
    assert kept, "the embedded groups were not kept"
    before = fake_embedder.texts
    report = ingest(settings, embedder=fake_embedder)
    fresh = fake_embedder.texts - before
    assert fresh == report.embedded and report.reused >= len(kept)
    assert not spilled.exists(), "the spill outlived the version it was for"
    # the resumed index is the index a clean run builds
    clean_settings = settings.model_copy(update={"home": settings.home.parent / "clean"})
    clean = ingest(clean_settings, embedder=fake_embedder)
    assert clean.chunks == report.chunks and clean.embedded == report.embedded + len(kept)
    resumed, whole = load_index(settings.index_path), load_index(clean_settings.index_path)
    assert np.array_equal(np.asarray(resumed.sentence_vectors), np.asarray(whole.sentence_vectors))


def test_a_damaged_spill_shard_is_skipped_not_trusted(tmp_path):
    spill = Spill(tmp_path / "spill")
    spill.add(["a", "b"], np.ones((2, 4), dtype=np.float32))
    spill.flush()
    shard = next((tmp_path / "spill").glob("shard-*.npy"))
    shard.write_bytes(shard.read_bytes()[:-8])  # truncated
    assert spill.load({"a", "b"}) == {}


def test_an_unchanged_corpus_is_not_read_again(settings, fake_embedder, monkeypatch):
    from ingest.storage import files

    first = ingest(settings, embedder=fake_embedder)  # the fixture built it: unchanged
    assert first.unchanged

    def refuse(what):
        def refused(*args, **kwargs):
            raise AssertionError(f"an unchanged ingest {what}")
        return refused

    monkeypatch.setattr(pipeline, "clean_page", refuse("cleaned the corpus again"))
    monkeypatch.setattr(pipeline, "scan_corpus", refuse("parsed the corpus again"))
    monkeypatch.setattr(files, "_read_version", refuse("loaded the index's tables"))
    again = ingest(settings, embedder=fake_embedder)
    assert again.unchanged and again.embedded == 0
    assert (again.documents, again.sections, again.chunks) == (first.documents, first.sections, first.chunks)
    assert again.file_lines() == first.file_lines() and again.file_lines()


def test_a_file_changed_while_it_is_read_is_read_again_next_time(settings, fake_embedder, monkeypatch,
                                                                 caplog):
    corpus = settings.corpus_dir
    target = min(corpus.glob("*.txt"))
    real = pipeline.fingerprint_corpus

    def then_edited(*args, **kwargs):
        fingerprint = real(*args, **kwargs)
        target.write_text(target.read_text() + "\n\nA sentence added while the ingest ran.\n")
        return fingerprint

    target.write_text(target.read_text() + "\n\nA first edit.\n")
    monkeypatch.setattr(pipeline, "fingerprint_corpus", then_edited)
    with caplog.at_level("WARNING"):
        assert not ingest(settings, embedder=fake_embedder).unchanged
    assert "changed while being read" in caplog.text
    monkeypatch.setattr(pipeline, "fingerprint_corpus", real)
    second = ingest(settings, embedder=fake_embedder)
    assert not second.unchanged, "the index was taken as built from bytes it did not read"
    assert second.embedded == 0  # the text it read last time is embedded already
    assert ingest(settings, embedder=fake_embedder).unchanged


def test_an_unchanged_ingest_still_rebuilds_a_damaged_index(settings, fake_embedder):
    from ingest.storage import folders

    version = folders.current_version(settings.index_path)
    texts = version / "texts.txt"
    texts.write_bytes(texts.read_bytes()[:-3] + b"xyz")  # same size, other bytes
    report = ingest(settings, embedder=fake_embedder)
    assert not report.unchanged and report.embedded == 0
    load_index(settings.index_path)


def test_a_version_a_reader_found_inconsistent_is_rebuilt_by_the_next_ingest(settings, fake_embedder):
    from ingest.storage import IndexProblem, folders

    version = folders.current_version(settings.index_path)
    rows = (version / "chunks.jsonl").read_text().splitlines()
    first = json.loads(rows[0])
    rows[0] = json.dumps({**first, "end": first["end"] - 1})  # offsets that miss its text
    (version / "chunks.jsonl").write_text("\n".join(rows) + "\n")
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"]["chunks.jsonl"] = folders.file_sha256(version / "chunks.jsonl")  # forged
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexProblem, match="inconsistent"):
        load_index(settings.index_path)
    assert (settings.index_path / folders.INCONSISTENT).read_text() == version.name
    report = ingest(settings, embedder=fake_embedder)
    assert not report.unchanged and report.embedded == 0
    load_index(settings.index_path)
    assert not (settings.index_path / folders.INCONSISTENT).exists()
    assert ingest(settings, embedder=fake_embedder).unchanged


def test_a_served_index_reads_documents_and_sentence_vectors_from_disk(settings):
    index = load_index(settings.index_path)
    assert isinstance(index.documents, DocumentTexts)
    assert isinstance(index.sentence_vectors, np.memmap) and index.sentence_vectors.dtype == np.float16
    assert isinstance(index.chunk_vectors, np.memmap)
    for row in index.sentences[:20]:
        text = index.sentence_text(row)
        assert text and text == index.documents[row.source][row.start:row.end]
    assert list(index.titles.values()) == [index.documents[s].split("\n", 1)[0] for s in index.documents]


def test_document_texts_round_trip_and_find_phrases_by_whole_words(tmp_path):
    documents = {"a.txt": "Première ligne\nCalcium  deposits form.", "b.txt": "calcinosis", "c.txt": ""}
    write_texts(tmp_path, documents)
    texts = DocumentTexts(tmp_path)
    assert dict(texts.items()) == documents and len(texts) == 3 and "b.txt" in texts
    assert texts.title("a.txt") == "Première ligne"
    assert texts.mentions("calcium DEPOSITS")  # any case, any whitespace between words
    assert not texts.mentions("calci")  # whole words only
    assert not texts.mentions("form. calcinosis")  # never across two documents
    assert not texts.mentions("   ")


def test_a_document_table_that_does_not_fit_its_texts_is_refused(tmp_path):
    write_texts(tmp_path, {"a.txt": "short"})
    (tmp_path / "documents.json").write_text('{"a.txt": [0, 99, "short"]}')
    with pytest.raises(ValueError, match="does not fit"):
        DocumentTexts(tmp_path)


def test_an_index_of_an_older_format_is_rebuilt_without_embedding_again(settings, fake_embedder):
    from ingest.storage import folders

    version = folders.current_version(settings.index_path)
    manifest = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**manifest, "format": 0}))
    before = fake_embedder.texts
    report = ingest(settings, embedder=fake_embedder)
    assert not report.unchanged and report.embedded == 0 and fake_embedder.texts == before
    load_index(settings.index_path)  # the rebuilt version loads


def test_damaged_vectors_of_an_older_index_are_not_salvaged(settings, fake_embedder):
    from ingest.storage import folders

    version = folders.current_version(settings.index_path)
    manifest = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**manifest, "format": 0}))
    vectors = version / "sentence_vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-3] ^= 0xFF
    vectors.write_bytes(bytes(data))
    before = fake_embedder.texts
    report = ingest(settings, embedder=fake_embedder)
    assert report.embedded > 0 and fake_embedder.texts - before == report.embedded  # embedded afresh
