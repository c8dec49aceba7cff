"""Follow-up questions are rewritten into standalone ones before retrieval."""

from __future__ import annotations

import pytest
from conftest import FakeLLM

from ingest.headings import topic_names
from qa import InvalidQuestion, ask
from qa.followup import rewrite

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


# Natural two- and three-turn conversations on the seed, as a user types them; the last
# question's expected standalone form (how it is retrieved and shown beside the sources).
CONVERSATIONS = [
    (["What causes metastatic calcinosis cutis?", "And how is it treated?"],
     "How is metastatic calcinosis cutis treated?"),
    (["Which areas are affected in systemic sclerosis?", "and how is that treated?"],
     "How is systemic sclerosis treated?"),
    (["How does dystrophic calcinosis differ from the metastatic kind clinically?",
      "how is it treated, and how do the drugs work?"],
     "How is dystrophic calcinosis cutis treated, and how do the drugs work?"),
    (["Where do the lesions of tumoral calcinosis appear?", "what about in children?"],
     "Where do the lesions of tumoral calcinosis appear in children?"),
    (["What is tumoral calcinosis?", "Who gets it?"], "Who gets tumoral calcinosis?"),
    (["What is idiopathic scrotal calcinosis?", "At what age does it start?"],
     "At what age does idiopathic scrotal calcinosis start?"),
    (["What is osteoma cutis?", "What does it look like?"], "What does osteoma cutis look like?"),
    (["What is iatrogenic calcinosis cutis?", "What causes it?"], "What causes iatrogenic calcinosis cutis?"),
    (["What causes iatrogenic calcinosis cutis?", "What about traumatic?"],
     "What causes traumatic calcinosis cutis?"),
    (["What is calcinosis cutis?", "What are its symptoms?"], "What are the symptoms of calcinosis cutis?"),
    (["What is tumoral calcinosis?", "Who gets it?", "Where are its deposits?"],
     "Where are the deposits of tumoral calcinosis?"),
    (["What is dystrophic calcinosis cutis?", "What is it made of?", "And what illnesses is it linked to?"],
     "What illnesses is dystrophic calcinosis cutis linked to?"),
    (["What is a subepidermal calcified nodule?", "Where does it occur?"],
     "Where does subepidermal calcified nodule occur?"),
    (["What is traumatic calcinosis cutis?", "Which workers get it?"],
     "Which workers get traumatic calcinosis cutis?"),
    (["Where do the lesions appear in dermatomyositis?", "And in lupus erythematosus?"],
     "Where do the lesions appear in lupus erythematosus?"),
    (["How is calcinosis cutis treated?", "What about in children?"],
     "How is calcinosis cutis treated in children?"),
    (["What causes metastatic calcinosis cutis?", "Which drug is a calcium channel blocker?"],
     "Which drug is a calcium channel blocker?"),  # refers to nothing earlier: as asked
    (["Which areas does it affect?", "And what causes that?"], "And what causes that?"),  # nothing to resolve
]


@pytest.mark.parametrize("turns, expected", CONVERSATIONS, ids=[c[0][-1] for c in CONVERSATIONS])
def test_natural_conversations_on_the_seed(settings, fake_embedder, turns, expected):
    *history, question = turns
    answer = ask(question, llm="extractive", history=history, settings=settings, embedder=fake_embedder)
    assert answer.standalone == expected
    assert answer.question == question


def test_a_follow_up_is_answered_from_the_section_it_is_about(settings, fake_embedder):
    answer = ask("Whom does it mainly affect?", llm="extractive", history=["What is tumoral calcinosis?"],
                 settings=settings, embedder=fake_embedder)
    assert answer.standalone == "Whom does tumoral calcinosis mainly affect?"
    assert not answer.abstained
    assert answer.citations[0].section == "Classification > Tumoral calcinosis"
    assert "teens" in answer.text


def test_the_interactive_cli_keeps_the_conversation(settings, fake_embedder, monkeypatch, capsys):
    from app.cli import main
    from ingest import embedders

    monkeypatch.setitem(embedders._cache, fake_embedder.name, fake_embedder)
    for key, value in {"SOURCEQA_HOME": settings.home, "SOURCEQA_CORPUS_DIR": settings.corpus_dir,
                       "SOURCEQA_EMBEDDER": fake_embedder.name, "SOURCEQA_JUDGE": "fake",
                       "SOURCEQA_LLM": "extractive"}.items():
        monkeypatch.setenv(key, str(value))
    typed = iter(["What is tumoral calcinosis?", "Whom does it mainly affect?", "new", "Whom does it mainly affect?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    assert main(["ask"]) == 0
    out = capsys.readouterr().out
    assert out.count("(answered as: Whom does tumoral calcinosis mainly affect?)") == 1
    assert "(new conversation)" in out


def test_feedback_drafts_keep_the_typed_question_and_the_rewrite_apart():
    from app.feedback import FeedbackEntry, draft_cases

    entry = FeedbackEntry("a1", "Who gets it?", "Who gets tumoral calcinosis?", "Teens. [1]", False, [],
                          "extractive", "v-1", "down", "wrong")
    [draft] = draft_cases([entry])
    assert draft["question"] == "Who gets it?" and draft["standalone"] == "Who gets tumoral calcinosis?"
