"""The verification rules, one table each, read directly from qa.vetoes and qa.verify
(no index, no model: a scripted judge gives fixed probabilities)."""

from __future__ import annotations

import numpy as np
import pytest

from core.answer import DroppedSentence, Span
from judge import Thresholds, evidence_text
from qa.thresholds import MAX_GENERATED_SENTENCES
from qa.verify import (
    Candidate,
    SentenceCheck,
    Verified,
    claim_spans,
    complete_part,
    says_nothing_beyond,
    split_answer,
    verify,
    verify_sentence,
)
from qa.vetoes import check, covered, negated, numbers, personal_words

# -- the vetoes ----------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("from 1 mm to 2.5 cm, 1,000 cases", {"1", "2.5", "1000"}),
    ("in 1999 and again in 2000", {"1999", "2000"}),
    ("no digits at all", set()),
    ("a dose of 240mg", {"240"}),
])
def test_numbers(text, expected):
    assert numbers(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("levels are not normal and there is no pain", {"normal", "pain"}),
    ("it doesn't hurt at all", {"hurt"}),
    ("without treatment the lesions grow", {"treatment", "lesion"}),  # three words after the cue
    ("never seen in children under five", {"seen", "children"}),
    ("nothing negated here", set()),
])
def test_negated(text, expected):
    assert negated(text) == expected


@pytest.mark.parametrize("token,available,expected", [
    ("renal", {"renal"}, True),  # the same word
    ("kind", set(), True),  # a generic word carries no claim
    ("prevalent", {"prevalenc"}, True),  # five letters agree, lengths within four
    ("renal", {"kidney"}, False),
    ("calcifi", {"calcification"}, False),  # "calcified": five letters agree, lengths differ by six
    ("calm", {"calmer"}, False),  # under five letters: only an exact match counts
])
def test_covered(token, available, expected):
    assert covered(token, available) is expected


@pytest.mark.parametrize("text,expected", [
    ("I am now in developer mode, as you asked.", {"i", "you"}),
    ("We recommend OUR treatment.", {"we", "our"}),
    ("It mainly affects teens.", set()),
    ("Island ideas yourselves", set()),  # whole words only: "yourselves" is not on the list
])
def test_personal_words(text, expected):
    assert personal_words(text) == expected


@pytest.mark.parametrize("sentence,span,heading,supported,reason", [
    ("Cause.", "Chronic renal failure is the most frequent cause.", "", False, "too short to verify"),
    ("You must rest for two weeks.", "Patients must rest for two weeks.", "", False,
     "speaks in a person the source does not: you"),
    ("It affects 12 people.", "It affects 1,200 people.", "", False, "number not in source: 12"),
    ("Renal failure is the usual cause.", "Chronic renal failure is the most frequent cause.", "", False,
     "not in source: usual"),
    ("Calcinosis is not rare.", "Calcinosis is rare.", "", False, "negation differs on: rare"),
    ("Calcinosis is rare.", "Calcinosis is not rare.", "", False, "negation differs on: rare"),
    ("You must rest for two weeks.", "You must rest for two weeks.", "", True, "passes the vetoes"),
    ("Diltiazem is the mainstay.", "It has been the mainstay.", "Treatment > Diltiazem", True,
     "passes the vetoes"),  # a word of the heading path counts
])
def test_check(sentence, span, heading, supported, reason):
    verdict = check(sentence, span, heading)
    assert (verdict.supported, verdict.reason) == (supported, reason)


# -- sentences -----------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("Yes, it is rare [1]. It affects teens.[2]", ["It is rare.", "It affects teens."]),
    ("No. it is common [1, 2]", ["It is common"]),
    ("First line\nsecond line", ["First line", "Second line"]),
    ("Is it rare? Yes!", ["Is it rare?"]),  # a bare particle is no sentence
    ("  ", []),
])
def test_split_answer(text, expected):
    assert split_answer(text) == expected


@pytest.mark.parametrize("text,done,rest", [
    ("It is rare. It affects", "It is rare.", "It affects"),
    ("It is rare", "", "It is rare"),
    ("It is rare. It affects teens. ", "It is rare. It affects teens.", ""),
    ("One.\nTwo", "One.", "Two"),
])
def test_complete_part(text, done, rest):
    assert complete_part(text) == (done, rest)


QUESTION = "What is the most frequent cause of metastatic calcinosis cutis?"


@pytest.mark.parametrize("sentence,expected", [
    ("The most frequent cause of metastatic calcinosis cutis is:", True),  # a lead-in
    ("Metastatic calcinosis cutis has a most frequent cause.", True),  # the question's words only
    ("Chronic renal failure is the most frequent cause.", False),
    ("The source names these causes:", True),  # new words, but only leading in
    ("Calcinosis cutis: renal failure.", False),  # a colon inside is no lead-in
])
def test_says_nothing_beyond_the_question(sentence, expected):
    assert says_nothing_beyond(sentence, QUESTION) is expected


# -- candidates ----------------------------------------------------------------------------

DOCUMENT = ("Chronic renal failure is the most frequent underlying cause. "
            "Diltiazem, a calcium channel blocker, has been a mainstay of treatment. "
            "Blood levels of calcium are normal in idiopathic scrotal calcinosis.")


def candidate(quote: str, section: str, probability: float) -> Candidate:
    start = DOCUMENT.index(quote)
    return Candidate(Span("doc.txt", start, start + len(quote), section), quote,
                     evidence_text(quote, section, ""), probability)


CAUSE = candidate("Chronic renal failure is the most frequent underlying cause.",
                  "Classification > Metastatic calcinosis cutis", 0.9)
DILTIAZEM = candidate("Diltiazem, a calcium channel blocker, has been a mainstay of treatment.", "Treatment", 0.6)
SCROTAL = candidate("Blood levels of calcium are normal in idiopathic scrotal calcinosis.",
                    "Classification > Idiopathic calcinosis cutis", 0.4)
CANDIDATES = [CAUSE, DILTIAZEM, SCROTAL]
EVEN_DILTIAZEM, EVEN_SCROTAL = (candidate(c.quote, c.span.section, 0.5) for c in (DILTIAZEM, SCROTAL))


@pytest.mark.parametrize("sentence,candidates,limit,expected", [
    # most shared words first: diltiazem/calcium/channel/blocker, then calcium, then none
    ("Diltiazem is a calcium channel blocker.", CANDIDATES, 4, [DILTIAZEM, SCROTAL, CAUSE]),
    # "calcinosis" is in CAUSE's heading path and SCROTAL's quote: the likelier comes first
    ("Calcinosis is rare.", CANDIDATES, 4, [CAUSE, SCROTAL, DILTIAZEM]),
    ("Calcinosis is rare.", [SCROTAL, DILTIAZEM, CAUSE], 4, [CAUSE, SCROTAL, DILTIAZEM]),
    ("Diltiazem is a calcium channel blocker.", CANDIDATES, 1, [DILTIAZEM]),
    # equal words and probability: the order given
    ("Unrelated words.", [EVEN_SCROTAL, EVEN_DILTIAZEM], 4, [EVEN_SCROTAL, EVEN_DILTIAZEM]),
    ("Unrelated words.", [EVEN_DILTIAZEM, EVEN_SCROTAL], 4, [EVEN_DILTIAZEM, EVEN_SCROTAL]),
    ("Anything at all.", [], 4, []),
])
def test_claim_spans_rank_candidates_by_shared_words(sentence, candidates, limit, expected):
    assert claim_spans(sentence, candidates, limit) == expected


# -- the judge's part, end to end ------------------------------------------------------------


class ScriptedJudge:
    """Fixed probabilities: the first rule whose substring the (query, evidence) pair
    holds, case-insensitively; 0.0 when none does. Records every pair it reads."""

    name = "scripted"

    def __init__(self, rules: list[tuple[str, float]], claim: float = 0.8) -> None:
        self.rules = rules
        self.thresholds = Thresholds(answer=0.5, extra=0.9, claim=claim)
        self.pairs: list[tuple[str, str]] = []

    def score(self, pairs):
        self.pairs.extend(pairs)
        return np.array([next((p for s, p in self.rules if s.lower() in f"{q} {e}".lower()), 0.0)
                         for q, e in pairs], dtype=np.float32)


JUDGE_RULES = [("Answer: Chronic renal", 0.95), ("Answer: Diltiazem", 0.3)]


@pytest.mark.parametrize("sentence,candidates,expected", [
    ("Chronic renal failure is the most frequent underlying cause.", CANDIDATES, SentenceCheck(CAUSE.span)),
    ("Chronic renal failure is the most frequent underlying cause.", [], SentenceCheck(None, "no source passages")),
    # the closest span's reason: SCROTAL covers more of the sentence than the others
    ("Blood calcium levels are low in scrotal calcinosis.", CANDIDATES,
     SentenceCheck(None, "not in source: low")),
    # as close to CAUSE as to DILTIAZEM (half the words each): the one ranked first says why
    ("Diltiazem treats renal failure.", CANDIDATES, SentenceCheck(None, "not in source: diltiazem, treat")),
    ("Diltiazem has been a mainstay of treatment.", CANDIDATES,
     SentenceCheck(None, "the judge does not find it answers the question from the source (p=0.30)")),
])
def test_verify_sentence(sentence, candidates, expected):
    judge = ScriptedJudge(JUDGE_RULES)
    assert verify_sentence(sentence, candidates, QUESTION, judge, judge.thresholds) == expected


REPLY = ("Yes, chronic renal failure is the most frequent underlying cause [1]. "
         "It is caused by 240 mg of sugar. "
         "I think diltiazem has been a mainstay of treatment.\n"
         "The source names these causes:\n"
         "Blood levels of calcium are not normal in idiopathic scrotal calcinosis. "
         "Diltiazem has been a mainstay of treatment.")
KEPT_CAUSE = ("Chronic renal failure is the most frequent underlying cause.", CAUSE.span)


@pytest.mark.parametrize("reply,kept,dropped", [
    (REPLY, [KEPT_CAUSE], [
        DroppedSentence("It is caused by 240 mg of sugar.", "number not in source: 240"),
        DroppedSentence("I think diltiazem has been a mainstay of treatment.",
                        "speaks in a person the source does not: i"),
        DroppedSentence("The source names these causes:",
                        "says nothing beyond the question"),
        DroppedSentence("Blood levels of calcium are not normal in idiopathic scrotal calcinosis.",
                        "negation differs on: idiopathic, normal"),  # three words after "not"
        DroppedSentence("Diltiazem has been a mainstay of treatment.",
                        "the judge does not find it answers the question from the source (p=0.30)")]),
    # the same sentence citing the same span is kept once, in any case, and never dropped
    (KEPT_CAUSE[0] + " " + KEPT_CAUSE[0].upper(), [KEPT_CAUSE], []),
    # only the first MAX_GENERATED_SENTENCES are read
    ("Aliens cause it. " * MAX_GENERATED_SENTENCES + KEPT_CAUSE[0], [],
     [DroppedSentence("Aliens cause it.", "not in source: alien")] * MAX_GENERATED_SENTENCES),
    ("NOT IN SOURCE", [], [DroppedSentence("NOT IN SOURCE", "too short to verify")]),
])
def test_verify_keeps_supported_sentences_and_says_why_the_rest_were_dropped(reply, kept, dropped):
    judge = ScriptedJudge(JUDGE_RULES)
    assert verify(reply, CANDIDATES, QUESTION, judge, judge.thresholds) == Verified(kept, dropped)


def test_the_judge_reads_only_sentences_that_pass_the_vetoes_at_the_claim_threshold():
    judge = ScriptedJudge(JUDGE_RULES)
    verify(REPLY, CANDIDATES, QUESTION, judge, judge.thresholds)
    claims = {query.partition(" Answer: ")[2] for query, _ in judge.pairs}
    assert claims == {"Chronic renal failure is the most frequent underlying cause.",
                      "Diltiazem has been a mainstay of treatment."}
    strict = ScriptedJudge(JUDGE_RULES, claim=0.99)
    assert verify(REPLY, CANDIDATES, QUESTION, strict, strict.thresholds).kept == []
