"""Follow-up questions are rewritten into standalone ones before retrieval."""

from __future__ import annotations

import pytest
from conftest import FakeLLM

from qa import InvalidQuestion, ask
from qa.followup import rewrite, topic_names

TOPICS = topic_names(["Calcinosis Cutis"], [
    "Treatment", "Classification", "Classification > Metastatic calcinosis cutis",
    "Classification > Dystrophic calcinosis cutis", "Classification > Tumoral calcinosis"])


@pytest.mark.parametrize("question, history, expected", [
    ("And how is it treated?", ["What causes metastatic calcinosis cutis?"],
     "How is metastatic calcinosis cutis treated?"),
    ("What are its symptoms?", ["What is tumoral calcinosis?"], "What are the symptoms of tumoral calcinosis?"),
    ("What is its most frequent cause?", ["What is metastatic calcinosis cutis?"],
     "What is the most frequent cause of metastatic calcinosis cutis?"),
    ("Where do its lesions appear?", ["What is tumoral calcinosis?"],
     "Where do tumoral calcinosis's lesions appear?"),
    ("What about dystrophic?", ["What causes metastatic calcinosis cutis?"],
     "What causes dystrophic calcinosis cutis?"),
    ("Is this condition painful?", ["What is calcinosis cutis?"], "Is calcinosis cutis painful?"),
    # a follow-up of a follow-up keeps the topic of the conversation
    ("Who gets it?", ["What is tumoral calcinosis?", "Where does it appear?"], "Who gets tumoral calcinosis?"),
])
def test_follow_ups_become_standalone(question, history, expected):
    earlier: list[str] = []
    for turn in history:
        earlier.append(rewrite(turn, earlier, TOPICS))
    assert rewrite(question, earlier, TOPICS) == expected


@pytest.mark.parametrize("question", [
    "What is dystrophic calcinosis cutis?",  # names its own topic
    "Which drug is a calcium channel blocker?",  # refers to nothing earlier
])
def test_standalone_questions_are_left_alone(question):
    assert rewrite(question, ["What causes metastatic calcinosis cutis?"], TOPICS) == question


def test_no_history_no_rewrite():
    assert rewrite("How is it treated?", [], TOPICS) == "How is it treated?"


def test_aspect_headings_are_not_topics():
    assert "treatment" not in TOPICS and "classification" not in TOPICS
    assert [len(t) for t in TOPICS] == sorted((len(t) for t in TOPICS), reverse=True)  # longest first


def test_ask_with_history_retrieves_for_the_rewritten_question(settings, fake_embedder):
    history = ["What causes metastatic calcinosis cutis?"]
    llm = FakeLLM("Chronic renal failure is the most frequent underlying cause [1].")
    answer = ask("And what is its most frequent cause?", llm=llm, history=history, settings=settings,
                 embedder=fake_embedder)
    assert answer.question == "And what is its most frequent cause?"
    assert answer.standalone == "What is the most frequent cause of metastatic calcinosis cutis?"
    assert answer.citations[0].section == "Classification > Metastatic calcinosis cutis"
    assert "metastatic calcinosis cutis" in llm.seen[0][1]["content"]  # the model saw the standalone form
    # without the history the same words name no topic, and are not rewritten
    alone = ask("And what is its most frequent cause?", llm="extractive", settings=settings,
                embedder=fake_embedder)
    assert alone.standalone == alone.question


def test_history_is_validated_like_a_question(settings, fake_embedder):
    with pytest.raises(InvalidQuestion):
        ask("How is it treated?", llm="extractive", history=["   "], settings=settings, embedder=fake_embedder)
    with pytest.raises(InvalidQuestion):
        ask("How is it treated?", llm="extractive", history=[42], settings=settings, embedder=fake_embedder)


def test_answer_carries_the_index_version(settings, fake_embedder):
    from ingest import read_manifest

    answer = ask("What is calcinosis cutis?", llm="extractive", settings=settings, embedder=fake_embedder)
    assert answer.index_version == read_manifest(settings.index_path)["version"]
