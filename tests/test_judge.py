"""The judge as a swappable part, its training pairs, and answers that keep each sentence's meaning."""

from __future__ import annotations

import json

import pytest
from conftest import QUESTION, FakeLLM

from judge import BUNDLED_JUDGE, JudgeMissing, Thresholds, load_thresholds, make_judge
from qa import ask


def test_unknown_or_missing_judges_fail_with_a_message_that_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="unknown judge 'nli'"):
        make_judge("nli")
    with pytest.raises(JudgeMissing, match="make train-judge"):
        make_judge(f"ce:{tmp_path / 'nowhere'}")


def test_the_bundled_judge_ships_with_its_calibrated_thresholds():
    assert (BUNDLED_JUDGE / "model.safetensors").stat().st_size < 50 * 2**20
    thresholds = load_thresholds(BUNDLED_JUDGE)
    assert set(thresholds.how) >= {"answer", "extra", "claim"}  # each says how it was set
    assert 0 < thresholds.answer < 1 and 0 < thresholds.claim < 1


def test_thresholds_are_probabilities_and_default_when_uncalibrated(tmp_path):
    with pytest.raises(ValueError, match="probability"):
        Thresholds(answer=1.5)
    assert load_thresholds(tmp_path) == Thresholds()
    (tmp_path / "calibration.json").write_text(json.dumps({"answer": 0.3, "extra": 0.8, "claim": 0.6}))
    assert load_thresholds(tmp_path) == Thresholds(0.3, 0.8, 0.6)


def _row_of(engine, text):
    return next(r for r, s in enumerate(engine.index.sentences) if engine.index.sentence_text(s).startswith(text))


def test_a_sentence_that_opens_with_a_pronoun_is_cited_with_the_sentence_it_refers_to(settings, fake_embedder):
    from qa.api import get_engine

    engine = get_engine(settings, fake_embedder)
    row = _row_of(engine, "It is thought to work by modifying intracellular calcium levels")
    quote = engine.spans.quote(row)
    assert quote.startswith("Diltiazem") and quote.endswith(engine.index.sentence_text(engine.index.sentences[row]))
    alone = _row_of(engine, "Chronic renal failure is the most frequent underlying cause.")
    assert engine.spans.quote(alone) == "Chronic renal failure is the most frequent underlying cause."


def test_sentences_from_different_sections_say_which_section_they_speak_of(settings, fake_embedder, fake_judge):
    """A sentence from another section than the first one shown says which section it
    speaks of, unless it names it (the first is read as the question's; it may already
    have been streamed, so it never changes afterwards)."""
    from dataclasses import replace

    fake_judge.thresholds = replace(fake_judge.thresholds, answer=0.5, claim=0.5)  # a two-part question
    reply = ("Diltiazem, a calcium channel blocker, has been a mainstay of medical treatment for calcinosis cutis. "
             "Chronic renal failure is the most frequent underlying cause.")
    question = "What is the most frequent cause of metastatic calcinosis cutis, and what is the mainstay of treatment?"
    answer = ask(question, llm=FakeLLM(reply), settings=settings, embedder=fake_embedder)
    assert [s for s, _ in answer.sentences] == [
        "Diltiazem, a calcium channel blocker, has been a mainstay of medical treatment for calcinosis cutis.",
        "Metastatic calcinosis cutis: Chronic renal failure is the most frequent underlying cause."]


def test_one_section_answers_carry_no_labels(settings, fake_embedder):
    answer = ask(QUESTION, llm="extractive", settings=settings, embedder=fake_embedder)
    assert answer.sentences and all(sentence == answer.citations[n - 1].quote for sentence, n in answer.sentences)
