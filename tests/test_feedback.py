"""Feedback log and its export to draft eval cases."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from app.cli import main
from app.feedback import FeedbackEntry, JsonlFeedback, draft_cases
from core.answer import Answer, Citation
from evals.cases import CaseFileError, load_cases

CITATION = Citation(1, "Chronic renal failure is the most frequent underlying cause.", "doc.txt",
                    "Classification > Metastatic calcinosis cutis", 10, 70)


def an_answer(question="What causes it?", standalone="What causes metastatic calcinosis cutis?"):
    return Answer(question, f"{CITATION.quote} [1]", False, [CITATION], [], "local",
                  standalone=standalone, index_version="v-1")


def test_entries_round_trip_and_merge_by_answer(tmp_path):
    store = JsonlFeedback(tmp_path / "fb" / "feedback.jsonl")
    store.add(FeedbackEntry.about(an_answer(), "a1", "up"))
    store.add(FeedbackEntry.about(an_answer(), "a1", "down"))
    store.add(FeedbackEntry.about(an_answer(), "a1", None, "cites the wrong type"))
    store.add(FeedbackEntry.about(an_answer("Is it rare?", "Is it rare?"), "a2", "up"))
    rows = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert len(rows) == 4 and rows[0]["citations"][0]["quote"] == CITATION.quote
    assert rows[0]["backend"] == "local" and rows[0]["index_version"] == "v-1"
    drafts = draft_cases(store.entries())
    assert [d["id"] for d in drafts] == ["feedback-a1"]  # a2 was up-voted
    assert drafts[0]["question"] == "What causes it?"  # as typed; the rewrite is kept apart
    assert drafts[0]["standalone"] == "What causes metastatic calcinosis cutis?"
    assert drafts[0]["what_was_wrong"] == "cites the wrong type"
    assert drafts[0]["answer_given"].startswith("Chronic renal failure")


def test_rating_must_be_up_or_down():
    with pytest.raises(ValueError):
        FeedbackEntry.about(an_answer(), "a1", "meh")


def test_torn_lines_are_skipped(tmp_path):
    store = JsonlFeedback(tmp_path / "feedback.jsonl")
    store.add(FeedbackEntry.about(an_answer(), "a1", "down"))
    with open(store.path, "a") as handle:
        handle.write('{"answer_id": "a2", "quest')  # a writer killed mid-line
    assert [e.answer_id for e in store.entries()] == ["a1"]


def _append_many(path, worker):
    store = JsonlFeedback(path)
    for i in range(50):
        store.add(FeedbackEntry.about(an_answer(), f"{worker}-{i}", "down", "x" * 5000))


def test_concurrent_writers_never_interleave_lines(tmp_path):
    path = tmp_path / "feedback.jsonl"
    workers = [multiprocessing.Process(target=_append_many, args=(path, w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["comment"] == "x" * 2000 for line in lines)


def test_cli_export_writes_drafts_that_validation_rejects_until_completed(isolated_home, capsys):
    store = JsonlFeedback(isolated_home / "feedback.jsonl")
    store.add(FeedbackEntry.about(an_answer(), "a1", "down", "missing the treatment"))
    out = isolated_home / "drafts.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    assert "1 down-voted answer(s)" in capsys.readouterr().out
    draft = json.loads(out.read_text())
    assert draft["what_was_wrong"] == "missing the treatment" and draft["answerable"] is None
    with pytest.raises(CaseFileError):
        load_cases(out)
