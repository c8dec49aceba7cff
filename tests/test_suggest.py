"""Suggested questions (derived from headings at ingest, shown only when answered) and
serving an index built from another corpus folder without rebuilding it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from ingest.clean import clean_page
from ingest.suggest import question_for, suggest_questions

TITLE = "Frost Heave"


@pytest.mark.parametrize("path, question", [
    ((TITLE,), "What is frost heave?"),
    (("Treatment",), "How is frost heave treated?"),
    (("Management",), "How is frost heave treated?"),
    (("Frost heave", "Causes"), "What causes frost heave?"),
    (("Signs and symptoms",), "What are the symptoms of frost heave?"),
    (("Signs",), "What are the symptoms of frost heave?"),
    (("Diagnosis",), "How is frost heave diagnosed?"),
    (("Prevention",), "How can frost heave be prevented?"),
    (("Classification", "Needle ice heave"), "What is needle ice heave?"),
    (("Types", "Lens growth"), "What is lens growth?"),
    (("Seasonal frost heave",), "What is seasonal frost heave?"),  # shares a word with the title
    (("Classification", "Seasonal frost heave", "Treatment"), "How is seasonal frost heave treated?"),
    (("How fast does the ground rise?",), "How fast does the ground rise?"),
    (("See also",), None),
    (("References",), None),
    (("Gallery",), None),
    (("History",), None),
    (("Road damage",), None),  # neither a kind nor a known section
    (("Classification", "Type 2 (1998)"), None),  # not a phrase
])
def test_question_for_a_heading_path(path, question):
    assert question_for(path, TITLE) == question


def test_a_title_taken_from_a_file_name_is_not_asked_about():
    assert question_for(("notes_2021",), "notes_2021") is None


def test_names_keep_their_capitals():
    text = "Tremor in Parkinson's disease.\n\nThe disease progresses slowly."
    assert question_for(("Treatment",), "Parkinson's Disease", text) == "How is Parkinson's disease treated?"


def test_candidates_come_from_every_document_in_turn():
    first = clean_page("# Frost Heave\n\nThe ground rises.\n\n## Causes\n\nIce lenses grow.\n\n"
                       "## Treatment\n\nDrainage helps.\n", "frost.md")
    second = clean_page("# Scurvy\n\nA lack of vitamin C.\n\n## Prevention\n\nEat citrus fruit.\n", "scurvy.md")
    assert suggest_questions([first, second]) == [
        "What is frost heave?", "What is scurvy?", "What causes frost heave?",
        "How can scurvy be prevented?", "How is frost heave treated?"]
    assert len(suggest_questions([first, second], limit=3)) == 3


def test_seed_candidates_are_general_questions():
    from tests.conftest import SEED

    candidates = suggest_questions([clean_page(SEED.read_text("utf-8"), SEED.name)])
    assert candidates[:5] == ["What is calcinosis cutis?", "What are the symptoms of calcinosis cutis?",
                              "What causes calcinosis cutis?", "What are the types of calcinosis cutis?",
                              "How is calcinosis cutis treated?"]
    assert "What is metastatic calcinosis cutis?" in candidates and len(candidates) == 12


# -- the manifest ---------------------------------------------------------------------------------
def test_ingest_stores_candidates_and_the_corpus_folder(settings, seed_corpus):
    from ingest.storage import storage_for

    manifest = storage_for(settings).manifest()
    assert manifest["suggestions"][0] == "What is calcinosis cutis?"
    assert 5 <= len(manifest["suggestions"]) <= 12
    assert manifest["corpus_dir"] == str(seed_corpus.resolve())


def test_an_index_without_candidates_still_loads_and_suggests_nothing(settings, fake_embedder):
    import json

    from ingest.storage import storage_for
    from qa import ask, suggestions

    version = Path(settings.index_path) / storage_for(settings).current()
    manifest = json.loads((version / "manifest.json").read_text())
    del manifest["suggestions"], manifest["corpus_dir"]
    (version / "manifest.json").write_text(json.dumps(manifest))
    assert suggestions(settings, embedder=fake_embedder) == []
    assert not ask("What is calcinosis cutis?", llm="extractive", settings=settings,
                   embedder=fake_embedder).abstained


# -- qa.suggestions -------------------------------------------------------------------------------
class DecliningJudge:
    """The fake judge, except that it finds no support for questions with given words."""

    name = "declining"

    def __init__(self, inner, words: set[str]) -> None:
        self.inner, self.words, self.thresholds = inner, words, inner.thresholds

    def score(self, pairs):
        scores = self.inner.score(pairs)
        declined = [any(w in query.lower() for w in self.words) for query, _ in pairs]
        return np.where(declined, 0.0, scores).astype(np.float32)


def test_only_answered_candidates_are_suggested_and_cached_per_version(settings, fake_embedder, fake_judge,
                                                                       monkeypatch, seed_corpus):
    import qa.suggest
    from ingest import ingest
    from ingest.storage import storage_for
    from qa import ask, suggestions

    judge = DecliningJudge(fake_judge, {"symptoms", "causes"})
    asked: list[str] = []

    def counting(question, **kwargs):
        asked.append(question)
        return ask(question, **kwargs)

    monkeypatch.setattr(qa.suggest, "ask", counting)
    candidates = storage_for(settings).manifest()["suggestions"]
    shown = suggestions(settings, embedder=fake_embedder, judge=judge)
    assert len(shown) == 4
    assert not {q for q in shown if "symptoms" in q or "causes" in q}
    assert shown == [q for q in candidates if q in shown]  # in the candidates' order
    for question in shown:
        assert not ask(question, llm="extractive", settings=settings, embedder=fake_embedder,
                       judge=judge).abstained
    declined = [q for q in asked if q not in shown]
    assert declined and all(ask(q, llm="extractive", settings=settings, embedder=fake_embedder,
                                judge=judge).abstained for q in declined)

    count = len(asked)
    assert suggestions(settings, embedder=fake_embedder, judge=judge) == shown
    assert len(asked) == count  # cached for this version

    (seed_corpus / "scurvy.md").write_text("# Scurvy\n\nScurvy is a disease caused by a lack of vitamin C.\n")
    ingest(settings, embedder=fake_embedder)
    again = suggestions(settings, embedder=fake_embedder, judge=judge)
    assert len(asked) > count and "What is scurvy?" in again  # a new version is asked afresh


def test_no_index_no_suggestions(tmp_path):
    from core.settings import load_settings
    from qa import suggestions

    assert suggestions(load_settings(environ={}, home=tmp_path / "empty", corpus_dir=tmp_path)) == []


def test_suggestions_are_grouped_under_their_documents(app_settings, monkeypatch):
    import app.library

    monkeypatch.setattr(app.library, "suggestions", lambda settings, limit: ["What is calcinosis cutis?"])
    assert app.library.grouped_suggestions(app_settings) == {"calcinosis_cutis.txt": ["What is calcinosis cutis?"]}


# -- serving an index of another corpus folder ----------------------------------------------------
def test_corpus_mismatch_names_both_folders_and_the_fixes(settings, seed_corpus, tmp_path):
    from app.serve import corpus_mismatch
    from core.types import Manifest
    from ingest import index_manifest

    manifest = index_manifest(settings)
    assert manifest.corpus_dir == str(seed_corpus.resolve())
    assert corpus_mismatch(settings, manifest) is None
    assert corpus_mismatch(settings, Manifest()) is None and corpus_mismatch(settings, None) is None
    other = settings.model_copy(update={"corpus_dir": tmp_path / "other"})
    message = corpus_mismatch(other, manifest)
    assert str(seed_corpus.resolve()) in message and str((tmp_path / "other").resolve()) in message
    assert "SOURCEQA_CORPUS_DIR" in message and "sourceqa ingest --corpus" in message


def test_warm_up_keeps_an_index_built_from_another_folder(settings, seed_corpus, tmp_path, monkeypatch, caplog,
                                                          fake_embedder):
    """Restarting serve with the default corpus setting must not drop a document the user
    added to the folder the index was built from."""
    import app.serve
    from ingest import ingest
    from ingest.storage import storage_for

    (seed_corpus / "added.md").write_text("# Added\n\nThe added note says widgets weigh forty grams.\n")
    ingest(settings, embedder=fake_embedder)
    served = storage_for(settings).current()
    ingested: list = []
    monkeypatch.setattr(app.serve, "ingest", lambda s: ingested.append(s))
    monkeypatch.setattr(app.serve, "get_engine", lambda s: None)
    monkeypatch.setattr(app.serve, "make_generator", lambda name, s: None)
    default = settings.model_copy(update={"corpus_dir": tmp_path / "default-corpus"})
    with caplog.at_level(logging.WARNING, logger="app.serve"):
        app.serve.warm_up(default)
    assert ingested == [] and storage_for(settings).current() == served
    assert "added.md" in storage_for(settings).manifest()["corpus"]
    assert str(seed_corpus.resolve()) in caplog.text and "SOURCEQA_CORPUS_DIR" in caplog.text

    app.serve.warm_up(settings)  # the same folder: brought up to date as before
    assert ingested == [settings]


# -- the real embedder and judge ------------------------------------------------------------------
def _declined(settings, embedder) -> dict[str, bool]:
    """Each suggested example question, and whether the extractive backend declined it."""
    from qa import ask, suggestions

    return {question: ask(question, llm="extractive", settings=settings, embedder=embedder).abstained
            for question in suggestions(settings, embedder=embedder)}


FROST = """# Frost Heave

Frost heave is the upward swelling of soil during freezing conditions, caused by a growing
presence of ice lenses beneath the surface.

## Causes

Frost heave is caused by ice lenses that grow as water moves up through fine soil toward the
freezing front. Silty soils are the most susceptible because they draw water by capillary action.

## Signs

Heaved roads show cracked pavement and bumps in spring. Fence posts and foundations are lifted
out of the ground.

## Treatment

Frost heave is treated by draining the soil, replacing silty soil with gravel, and insulating
the ground so that the freezing front stays above the fine soil.

## Classification

### Needle ice

Needle ice is a thin column of ice that pushes up from moist soil on cold clear nights.
"""


@pytest.mark.real
def test_real_suggestions_are_answered_on_the_seed_and_another_corpus(real_settings, real_embedder, tmp_path):
    from core.settings import load_settings
    from ingest import ingest

    seed = _declined(real_settings, real_embedder)
    assert len(seed) >= 3, seed
    assert not any(seed.values()), seed
    corpus = tmp_path / "frost"
    corpus.mkdir()
    (corpus / "frost_heave.md").write_text(FROST, "utf-8")
    other = load_settings(environ={}, home=tmp_path / "frost-home", corpus_dir=corpus)
    ingest(other, embedder=real_embedder)
    frost = _declined(other, real_embedder)
    assert len(frost) >= 2, frost
    assert not any(frost.values()), frost
