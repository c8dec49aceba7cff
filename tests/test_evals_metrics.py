"""Evaluation metrics, reports, thresholds and comparison on a tiny made-up document."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from core.answer import Answer, Citation, Passage
from evals.cases import EvalCase, Evidence
from evals.compare import compare_reports
from evals.metrics import (
    content_words,
    evidence_text,
    retrieval_scores,
    score_case,
    support_test,
    token_f1,
)
from evals.runner import check_thresholds, run_eval, write_reports
from ingest.clean import clean_page

SOURCE = "fern.md"
RAW = """# Frost Fern

Frost fern is a rare plant of the northern hills. It grows only above 1200 metres.

## Cultivation

Gardeners water frost fern twice a week. The plant needs acid soil.

## Uses

The leaves were used to treat burns in 1850.
"""
DOC = clean_page(RAW, SOURCE)
TEXT = DOC.text
DOCS = {SOURCE: TEXT}
SECTIONS = {SOURCE: DOC.sections}

HEIGHT = "It grows only above 1200 metres."
WATER = "Gardeners water frost fern twice a week."
SOIL = "The plant needs acid soil."
BURNS = "The leaves were used to treat burns in 1850."
LEAD = "Frost fern is a rare plant of the northern hills. " + HEIGHT
CULTIVATION = WATER + " " + SOIL

C_HEIGHT = EvalCase("height", "How high does frost fern grow?", "fact", True,
                    "Above 1200 metres.", (("1200 metres", "1,200 m"),),
                    (Evidence("Frost Fern", HEIGHT),))
C_CARE = EvalCase("care", "How is frost fern grown?", "cultivation", True,
                  "Water it twice a week in acid soil.", (("twice a week",), ("acid soil",)),
                  (Evidence("Cultivation", WATER), Evidence("Cultivation", SOIL)))
C_USES = EvalCase("uses", "What were the leaves used for?", "fact", True,
                  "Treating burns.", (("burns",),), (Evidence("Uses", BURNS),))
C_COLOUR = EvalCase("colour", "What colour are its flowers?", "unanswerable", False,
                    "The source does not say.", (), ())
C_PRICE = EvalCase("price", "What does a frost fern cost?", "unanswerable", False,
                   "The source does not say.", (), ())


def passage(text: str, section: str) -> Passage:
    start = TEXT.index(text)
    return Passage(f"c{start}", SOURCE, section, start, start + len(text), text, 1.0, 0.5)


def cite(number: int, quote: str, section: str) -> Citation:
    start = TEXT.index(quote)
    return Citation(number, quote, SOURCE, section, start, start + len(quote))


def answer(question: str, sentences: list[tuple[str, Citation]], passages: list[Passage],
           total: float = 1.0) -> Answer:
    text = " ".join(f"{s[:-1]} [{c.number}]." for s, c in sentences)
    citations = list({c.number: c for _, c in sentences}.values())
    return Answer(question, text, False, citations, passages, "fake",
                  {"retrieval": 0.1, "generation": total - 0.2, "verification": 0.1,
                   "total": total}, [], [(s, c.number) for s, c in sentences])


def abstain(question: str, total: float = 0.5) -> Answer:
    return Answer(question, "The source does not answer this.", True, [], [], "fake",
                  {"retrieval": 0.1, "generation": 0.0, "verification": 0.0, "total": total})


GOOD_HEIGHT = answer(C_HEIGHT.question,
                     [("Frost fern grows only above 1200 metres.", cite(1, HEIGHT, "Frost Fern"))],
                     [passage(CULTIVATION, "Cultivation"), passage(LEAD, "Frost Fern")])
# The second sentence cites the wrong passage (Uses instead of Cultivation).
CARE_WRONG_CITE = answer(C_CARE.question,
                         [("Gardeners water frost fern twice a week.", cite(1, WATER, "Cultivation")),
                          ("The plant needs acid soil.", cite(2, BURNS, "Uses"))],
                         [passage(BURNS, "Uses"), passage(LEAD, "Frost Fern")], total=3.0)


def test_retrieval_recall_at_k_and_reciprocal_rank():
    score = score_case(C_HEIGHT, GOOD_HEIGHT, DOCS, SECTIONS)
    assert score.k == 2
    assert score.recall_at_k == 1.0  # the lead passage holds the quote...
    assert score.reciprocal_rank == 0.5  # ...at rank 2
    care = score_case(C_CARE, CARE_WRONG_CITE, DOCS, SECTIONS)
    assert care.recall_at_k == 0.0 and care.reciprocal_rank == 0.0
    # One of two quotes retrieved, at rank 1.
    assert retrieval_scores([("d", 0, 5)], [[("d", 2, 3)], [("d", 8, 9)]]) == (0.5, 1.0)


def test_key_facts_and_token_f1():
    score = score_case(C_HEIGHT, GOOD_HEIGHT, DOCS, SECTIONS)
    assert score.facts_present == [True] and score.all_key_facts and score.correct
    # "frost fern grows only above 1200 metres" vs "above 1200 metres": P=3/7, R=1.
    assert score.token_f1 == pytest.approx(0.6)
    partial = answer(C_CARE.question, [("Water it twice a week.", cite(1, WATER, "Cultivation"))],
                     [])
    care = score_case(C_CARE, partial, DOCS, SECTIONS)
    assert care.facts_present == [True, False]
    assert care.fact_recall == 0.5 and care.all_key_facts is False and not care.correct
    assert token_f1("The cat sat.", "a cat sat") == 1.0


def test_citation_recall_and_precision_with_a_wrong_citation():
    score = score_case(C_CARE, CARE_WRONG_CITE, DOCS, SECTIONS)
    assert [s.supported for s in score.sentences] == [True, False]
    assert score.citation_recall == 0.5
    assert score.citation_precision == 0.5  # [2] supports no sentence
    assert score.faithfulness == 0.5
    assert score.citation_gold_recall == 0.5  # [2] lies in Uses, outside the gold spans
    assert score.citation_gold_precision == 0.5
    assert score.correct  # both key facts are in the text, whatever the citations
    good = score_case(C_HEIGHT, GOOD_HEIGHT, DOCS, SECTIONS)
    assert (good.citation_recall, good.citation_precision, good.citation_gold_precision) == (1, 1, 1)


def test_support_test_fails_on_a_changed_number():
    context = evidence_text(cite(1, HEIGHT, "Frost Fern"))  # "Frost Fern: It grows ..."
    assert support_test("Frost fern grows only above 1200 metres.", context).supported
    # Without the heading, "frost" and "fern" are missing: 3 of 5 content words < 70%.
    assert support_test("Frost fern grows only above 1200 metres.", HEIGHT).coverage == 0.6
    changed = support_test("Frost fern grows only above 1300 metres.", context)
    assert not changed.supported and changed.missing_numbers == ("1300",)
    assert changed.coverage == 0.8  # enough words: it fails on the number alone
    assert not support_test("Frost fern cures burns and fever.", HEIGHT).supported
    assert content_words("The leaves were burns") == ["leave", "burn"]
    wrong = answer(C_HEIGHT.question,
                   [("Frost fern grows only above 1300 metres.", cite(1, HEIGHT, "Frost Fern"))],
                   [])
    assert score_case(C_HEIGHT, wrong, DOCS, SECTIONS).faithfulness == 0.0


def test_sentences_parsed_from_markers_when_not_given():
    bare = Answer(C_HEIGHT.question, "Frost fern grows only above 1200 metres [1]. It is blue.",
                  False, [cite(1, HEIGHT, "Frost Fern")], [], "fake")
    score = score_case(C_HEIGHT, bare, DOCS, SECTIONS)
    assert [(s.cited, s.supported) for s in score.sentences] == [((1,), True), ((), False)]
    assert score.citation_recall == 0.5


def _ask(answers: dict[str, Answer]):
    def ask(question: str) -> Answer:
        if question not in answers:
            raise RuntimeError("backend down")
        return answers[question]
    return ask


ANSWERS = {
    C_HEIGHT.question: GOOD_HEIGHT,
    C_CARE.question: CARE_WRONG_CITE,
    C_USES.question: abstain(C_USES.question),  # false abstention
    C_COLOUR.question: abstain(C_COLOUR.question),  # correct abstention
    C_PRICE.question: answer(C_PRICE.question, [("The leaves were used in 1850.",
                                                 cite(1, BURNS, "Uses"))], []),  # should abstain
}
CASES = [C_HEIGHT, C_CARE, C_USES, C_COLOUR, C_PRICE]


@pytest.fixture()
def report():
    return run_eval(_ask(ANSWERS), CASES, DOCS, backend_name="fake", progress=False,
                    sections=SECTIONS)


def test_summary_abstention_counts_and_categories(report):
    s = report["summary"]
    assert (s["n_cases"], s["n_answerable"], s["n_unanswerable"]) == (5, 3, 2)
    assert s["n_correct"] == 3 and s["accuracy"] == pytest.approx(0.6)
    assert s["n_abstained"] == 2
    assert s["abstention_precision"] == 0.5  # colour right, uses wrong
    assert s["abstention_recall"] == 0.5  # colour abstained, price answered
    assert s["false_abstention_rate"] == pytest.approx(1 / 3)
    assert s["mrr"] == pytest.approx((0.5 + 0.0 + 0.0) / 3)
    assert s["latency_total_p50"] == 1.0 and s["latency_total_p95"] == pytest.approx(2.6)
    assert report["per_category"]["unanswerable"]["accuracy"] == 0.5
    assert report["per_category"]["fact"]["n_correct"] == 1
    uses = next(r for r in report["cases"] if r["id"] == "uses")
    assert "abstained on an answerable question" in uses["failures"]


def test_ask_exception_is_a_failed_case():
    result = run_eval(_ask({}), [C_HEIGHT], DOCS, backend_name="down", progress=False)
    case = result["cases"][0]
    assert not case["correct"] and "backend down" in case["error"]
    assert result["summary"]["n_errors"] == 1


def test_check_thresholds_pass_fail_and_default(report):
    summary = report["summary"]
    passing = {"fake": {"accuracy": {"min": 0.5}, "latency_total_p95": {"max": 5}}}
    assert check_thresholds(summary, passing) == []
    failing = {"default": {"accuracy": {"min": 0.9}, "latency_total_p95": {"max": 2},
                           "no_such_metric": {"min": 0}}}
    problems = check_thresholds(summary, failing)
    assert len(problems) == 3
    assert "accuracy is 0.600, below the minimum 0.9" in problems[0]
    assert "above the maximum 2" in problems[1] and "no_such_metric" in problems[2]
    assert check_thresholds(summary, {"other": {"accuracy": {"min": 1}}}) == []


def test_compare_marks_a_regression(report):
    worse_answers = dict(ANSWERS, **{C_HEIGHT.question: abstain(C_HEIGHT.question, total=9.0)})
    after = run_eval(_ask(worse_answers), CASES, DOCS, backend_name="new", progress=False)
    text = compare_reports(report, after)
    row = next(line for line in text.splitlines() if line.startswith("| accuracy |"))
    assert "0.600 | 0.400 | -0.200 | worse" in row
    latency = next(line for line in text.splitlines() if line.startswith("| latency_total_p95 |"))
    assert "worse" in latency
    regressions = text.split("## Regressions")[1].split("## Fixes")[0]
    assert "**height**" in regressions
    assert "None." in text.split("## Fixes")[1]
    assert "better" in compare_reports(after, report).split("| accuracy |")[1].splitlines()[0]


def test_write_reports_lists_failures_and_plots(report, tmp_path):
    paths = write_reports(report, tmp_path)
    assert sorted(p.name for p in paths) == ["correct_by_category.svg", "latency.svg",
                                             "report.json", "report.md"]
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["n_correct"] == 3
    md = (tmp_path / "report.md").read_text()
    failures = md.split("## Failures (2)")[1]
    assert "### price (unanswerable)" in failures and "### uses (fact)" in failures
    assert "answered a question the source does not answer" in failures
    assert "Treating burns." in failures  # what was expected
    assert "![Correct by category](correct_by_category.svg)" in md
    assert "care" in md.split("## Correct, with issues")[1]
    bars = (tmp_path / "correct_by_category.svg").read_text()
    assert bars.startswith("<svg") and bars.count('fill="#4c78a8"') == 3
    assert (tmp_path / "latency.svg").read_text().count('fill="#f58518"') >= 1
    for name in ("correct_by_category.svg", "latency.svg"):
        assert ElementTree.parse(tmp_path / name).getroot().tag.endswith("svg")
