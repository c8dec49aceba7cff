from __future__ import annotations

import json

import pytest

from core.settings import SettingsError, load_settings
from ingest import CorpusError, IndexProblem, ingest, load_index
from ingest.keywords import KeywordIndex
from ingest.storage.folders import current_version


def settings_for(corpus, tmp_path):
    return load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus)


def test_build_save_load_search_round_trip(seed_corpus, tmp_path, fake_embedder):
    settings = settings_for(seed_corpus, tmp_path)
    report = ingest(settings, embedder=fake_embedder)
    assert (report.documents, report.previews_removed) == (1, 30)
    index = load_index(settings.index_path)
    assert len(index.chunks) == report.chunks == index.vectors.count
    manifest = index.manifest
    assert manifest["embedder"] == {"name": "fake-hash", "dimension": 64, "sentence_vectors": "alone"}
    assert manifest["chunk_count"] == report.chunks and "calcinosis_cutis.txt" in manifest["corpus"]
    for chunk in index.chunks:
        assert index.documents[chunk.source][chunk.start:chunk.end] == chunk.text
    query = fake_embedder.embed(["Classification > Metastatic calcinosis cutis: chronic renal failure"])[0]
    row, _ = index.vectors.search(query, 3)[0]
    assert index.chunks[row].section == "Classification > Metastatic calcinosis cutis"
    keyword_row, _ = index.keywords.search("renal failure", 1)[0]
    assert index.chunks[keyword_row].section == "Classification > Metastatic calcinosis cutis"


def test_unchanged_corpus_embeds_nothing(seed_corpus, tmp_path, fake_embedder):
    settings = settings_for(seed_corpus, tmp_path)
    ingest(settings, embedder=fake_embedder)
    version = current_version(settings.index_path)
    texts = fake_embedder.texts
    report = ingest(settings, embedder=fake_embedder)
    assert report.unchanged and report.embedded == 0
    assert fake_embedder.texts == texts
    assert current_version(settings.index_path) == version


def test_changed_file_re_embeds_only_its_chunks_and_removed_file_disappears(seed_corpus, tmp_path, fake_embedder):
    (seed_corpus / "extra.md").write_text("# Extra\n\nFirst note about frobs.\n\n## More\n\nSecond note.\n")
    settings = settings_for(seed_corpus, tmp_path)
    first = ingest(settings, embedder=fake_embedder)
    (seed_corpus / "extra.md").write_text("# Extra\n\nFirst note about frobs.\n\n## More\n\nA changed note.\n")
    second = ingest(settings, embedder=fake_embedder)
    assert not second.unchanged
    assert 0 < second.embedded <= 2  # the changed chunk and its sentence
    assert second.reused == first.embedded + first.reused - second.embedded or second.reused > 50
    (seed_corpus / "extra.md").unlink()
    third = ingest(settings, embedder=fake_embedder)
    index = load_index(settings.index_path)
    assert third.embedded == 0
    assert {c.source for c in index.chunks} == {"calcinosis_cutis.txt"}


def test_interrupted_write_leaves_the_old_index_loadable_and_unchanged(seed_corpus, tmp_path, fake_embedder,
                                                                      monkeypatch):
    settings = settings_for(seed_corpus, tmp_path)
    ingest(settings, embedder=fake_embedder)
    before = load_index(settings.index_path)
    (seed_corpus / "new.txt").write_text("New document\n\nA sentence about frobs that is new.\n")

    def broken_save(self, folder):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(KeywordIndex, "save", broken_save)
    with pytest.raises(OSError, match="simulated"):
        ingest(settings, embedder=fake_embedder)
    after = load_index(settings.index_path)
    assert after.version == before.version and after.manifest == before.manifest
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    assert not [p for p in settings.index_path.iterdir() if p.name.startswith(".tmp-")]


def test_corrupted_index_file_is_reported_with_the_fix(seed_corpus, tmp_path, fake_embedder):
    settings = settings_for(seed_corpus, tmp_path)
    ingest(settings, embedder=fake_embedder)
    version = current_version(settings.index_path)
    with open(version / "chunks.jsonl", "a") as handle:
        handle.write(json.dumps({"id": "x"}) + "\n")
    with pytest.raises(IndexProblem, match="corrupted.*sourceqa ingest"):
        load_index(settings.index_path)


def test_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexProblem, match="sourceqa ingest"):
        load_index(tmp_path / "nothing")


def test_empty_corpus_is_a_clear_error(tmp_path, fake_embedder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no readable documents"):
        ingest(settings_for(tmp_path / "empty", tmp_path), embedder=fake_embedder)


def test_html_documents_are_read_with_their_headings(tmp_path, fake_embedder):
    corpus = tmp_path / "html"
    corpus.mkdir()
    (corpus / "page.html").write_text("<html><body><h1>Widgets</h1><p>Widgets are small.</p>"
                                      "<h2>Uses</h2><p>They fix things.</p><script>x=1</script></body></html>")
    settings = settings_for(corpus, tmp_path)
    ingest(settings, embedder=fake_embedder)
    index = load_index(settings.index_path)
    assert [(c.section, c.text) for c in index.chunks] == [("Widgets", "Widgets are small."),
                                                           ("Uses", "They fix things.")]


def test_unknown_settings_are_errors(tmp_path):
    with pytest.raises(SettingsError, match="SOURCEQA_COLOUR"):
        load_settings(environ={"SOURCEQA_COLOUR": "blue"})
    config = tmp_path / "config.toml"
    config.write_text("top_k = 3\nshade = 1\n")
    with pytest.raises(SettingsError, match="shade"):
        load_settings(environ={"SOURCEQA_CONFIG": str(config)})
    config.write_text("top_k = 3\n")
    assert load_settings(environ={"SOURCEQA_CONFIG": str(config), "SOURCEQA_LLM": "extractive"}).top_k == 3


def test_every_ingest_package_is_in_the_built_distribution():
    """A sub-package missing from pyproject's package list is left out of a wheel (an
    editable install still finds it, so nothing else would notice)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "ingest").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
