"""The trained judge on the failures that made us build it (real embedder, index and judge)."""

from __future__ import annotations

import pytest
from conftest import GOLD, QUESTION, FakeLLM

from judge import evidence_text, judge_query, make_judge
from qa import ask

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def judge():
    return make_judge("bundled")


def test_a_true_sentence_that_names_the_wrong_person_is_not_an_answer(judge):
    # "Who killed Harold II?" -> "King Harold II of England. [1]" passed the old word checks.
    source = evidence_text("In 1066, Duke William II of Normandy conquered England killing King Harold II "
                           "at the Battle of Hastings.", "Normans", "")
    wrong, right = judge.score([(judge_query("Who killed Harold II?", "King Harold II of England."), source),
                                (judge_query("Who killed Harold II?", "Duke William II of Normandy."), source)])
    assert wrong < judge.thresholds.claim and wrong < right


def test_the_judge_finds_the_answering_sentence_and_declines_without_it(judge):
    """The question over [gold, a neighbour] is answered, by the gold; its twin, the same
    question over the neighbour alone (the gold taken out), is not."""
    section = "Classification > Metastatic calcinosis cutis"
    previous = ("Metastatic calcification can result from any systemic condition raising serum calcium "
                "and/or phosphate levels.")
    gold = evidence_text(GOLD, section, previous)
    neighbour = evidence_text("Tumoral calcinosis is distinguished by the accumulation of calcific masses "
                              "surrounding the main joints.", "Classification > Tumoral calcinosis", "")
    both = judge.decide(QUESTION, [neighbour, gold])
    assert both.answer >= judge.thresholds.answer and both.best == 1
    assert judge.decide(QUESTION, [neighbour]).answer < judge.thresholds.answer


def test_lesions_of_another_type_are_not_given_as_the_answer(real_settings, real_embedder):
    question = "In metastatic calcification, where are the lesions located?"
    answer = ask(question, llm="extractive", settings=real_settings, embedder=real_embedder)
    assert "children's faces" not in answer.text and "around joints" not in answer.text
    if not answer.abstained:
        assert answer.citations[0].quote == "Periarticular lesions are found in metastatic calcification."
    # The local model once wrote this; it must not be shown, whatever backend writes it.
    invented = "The lesions are located around joints and on children's faces."
    generated = ask(question, llm=FakeLLM(invented), settings=real_settings, embedder=real_embedder)
    assert invented not in generated.text


def test_a_pronoun_never_changes_what_it_points_to(real_settings, real_embedder):
    for question in ["how is it treated, and how do the drugs work?", "How is diltiazem believed to work?",
                     "What is thought to modify intracellular calcium levels?"]:
        answer = ask(question, llm="extractive", settings=real_settings, embedder=real_embedder)
        for citation in answer.citations:
            if "It is thought to work" in citation.quote:
                assert citation.quote.startswith("Diltiazem, a calcium channel blocker")


@pytest.mark.parametrize("question", ["What causes kidney stones?", "Who killed Harold II?",
                                      "What is the capital of France?"])
def test_questions_about_other_things_are_declined(real_settings, real_embedder, question):
    assert ask(question, llm="extractive", settings=real_settings, embedder=real_embedder).abstained


def test_the_seed_question_is_answered_with_its_sentence(real_settings, real_embedder):
    answer = ask(QUESTION, llm="extractive", settings=real_settings, embedder=real_embedder)
    assert not answer.abstained and GOLD in [c.quote for c in answer.citations]
