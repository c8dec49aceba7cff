"""The SQuAD 2.0 generality gate: scoring on hand-made answers, the loader, the sampler,
and (marked real) a seeded 300-question sample of the validation articles on `extractive`."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import QUESTION

from core.answer import Answer, Citation
from evals.cli import THRESHOLDS, evaluate_squad
from evals.runner import check_thresholds, load_thresholds
from evals.squad import (
    CALIBRATION_ARTICLES,
    DEFAULT_CORPUS,
    DEFAULT_SET,
    TRAIN_ARTICLES,
    VALIDATION_ARTICLES,
    SquadCase,
    article_table,
    load_squad,
    run_squad,
    sample,
    score_squad_case,
    squad_limits,
    squad_table,
)

CASE = SquadCase("q1", "Packet_switching", "Who developed packet switching?", True,
                 ("Paul Baran", "Baran"))
UNANSWERABLE = SquadCase("q2", "Packet_switching", "Who banned packet switching?", False, ())


def answer(text: str, *quotes: str, abstained: bool = False, short: str = "") -> Answer:
    citations = [Citation(n, q, "a.txt", "", 0, len(q)) for n, q in enumerate(quotes, start=1)]
    return Answer("q", text, abstained, citations, [], "fake", short=short)


def test_an_answer_counts_when_the_gold_span_is_in_the_text_and_in_a_cited_quote():
    quote = "Paul Baran developed the concept in the early 1960s."
    assert score_squad_case(CASE, answer(f"{quote} [1]", quote))["answered_cited"] is True
    # in the text but in no cited quote
    assert score_squad_case(CASE, answer("Paul Baran did [1].", "It was developed."))["answered_cited"] is False
    # normalisation: case, punctuation and articles do not matter; whole words do
    assert score_squad_case(CASE, answer("BARAN, it was [1].", "by the Baran."))["answered_cited"] is True
    other = SquadCase("q3", "A", "When?", True, ("196",))
    assert score_squad_case(other, answer("In 1960 [1].", "In 1960."))["answered_cited"] is False


def test_abstentions_decline_and_never_count_as_answered():
    declined = answer("The source does not say.", abstained=True)
    assert score_squad_case(CASE, declined)["answered_cited"] is False
    assert score_squad_case(CASE, declined)["declined"] is True
    assert score_squad_case(UNANSWERABLE, declined)["declined"] is True
    assert score_squad_case(UNANSWERABLE, answer("Baran [1].", "Baran"))["declined"] is False
    assert score_squad_case(CASE, declined)["words"] is None


def test_short_answer_exact_match_and_f1_use_squad_normalisation():
    quote = "Paul Baran developed it."
    scored = score_squad_case(CASE, answer(quote + " [1]", quote, short="paul BARAN!"))
    assert scored["short_em"] is True and scored["short_f1"] == 1.0
    partial = score_squad_case(CASE, answer(quote + " [1]", quote, short="Mr Paul Baran"))
    assert partial["short_em"] is False and partial["short_f1"] == pytest.approx(0.8)
    assert score_squad_case(CASE, answer(quote + " [1]", quote))["short_f1"] is None


def test_run_squad_summarises_per_article_and_keeps_failures():
    quote = "Paul Baran developed it."
    replies = {CASE.question: answer(quote + " [1]", quote),
               UNANSWERABLE.question: answer("Paul Baran banned it [1].", quote)}
    other = SquadCase("q4", "Immune_system", "What fights infection?", True, ("white blood cells",))

    def ask(question):
        if question not in replies:
            raise RuntimeError("boom")
        return replies[question]

    report = run_squad(ask, [CASE, UNANSWERABLE, other], progress=False)
    summary = report["summary"]
    assert (summary["n"], summary["n_answerable"], summary["n_unanswerable"], summary["n_errors"]) == (3, 2, 1, 1)
    assert summary["answerable_answered_cited"] == 0.5 and summary["unanswerable_declined"] == 0.0
    assert summary["net"] == -0.5 and summary["answer_words_median"] == 4.0
    assert report["per_article"]["Packet_switching"]["answerable_answered_cited"] == 1.0
    assert [f["id"] for f in report["failures"]] == ["q2", "q4"]
    assert report["failures"][0]["expected"] == "decline" and "boom" in report["failures"][1]["error"]
    assert "| answerable_answered_cited | 0.500 |" in squad_table({"fake": report})


def test_loader_reads_a_tiny_set_filters_articles_and_names_a_bad_line(tmp_path):
    rows = [{"id": "1", "article": "A", "question": "Q1?", "answerable": True, "answers": ["x"],
             "plausible": [], "context_sentence": "x."},
            {"id": "2", "article": "B", "question": "Q2?", "answerable": False, "answers": [],
             "plausible": ["y"], "context_sentence": ""}]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert [c.id for c in load_squad(path)] == ["1", "2"]
    assert load_squad(path, articles=["B"])[0].plausible == ("y",)
    path.write_text(path.read_text() + '{"id": "3"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="qa.jsonl:3"):
        load_squad(path)


def test_sampling_is_seeded_and_stratified_by_article_and_answerable():
    cases = load_squad(DEFAULT_SET)
    first, again, other = sample(cases, 300, 0), sample(cases, 300, 0), sample(cases, 300, 1)
    assert first == again and first != other and len(first) == 300
    assert len({c.id for c in first}) == 300
    strata, chosen = Counter((c.article, c.answerable) for c in cases), Counter(
        (c.article, c.answerable) for c in first)
    for key, size in strata.items():
        assert abs(chosen[key] - 300 * size / len(cases)) < 1
    assert sample(cases, 5000, 0) == cases


def test_the_repo_slice_is_the_validation_articles_only():
    assert len(set(TRAIN_ARTICLES) | set(CALIBRATION_ARTICLES) | set(VALIDATION_ARTICLES)) == 12
    cases = load_squad(DEFAULT_SET)
    assert {c.article for c in cases} == set(VALIDATION_ARTICLES) and len(cases) == 1188
    assert sorted(p.stem for p in DEFAULT_CORPUS.glob("*.txt")) == sorted(VALIDATION_ARTICLES)


def test_evaluate_squad_indexes_the_set_apart_and_writes_reports(settings, seed_corpus, tmp_path,
                                                                 fake_embedder):
    qa_file = tmp_path / "qa.jsonl"
    qa_file.write_text(json.dumps({"id": "1", "article": "calcinosis_cutis", "question": QUESTION,
                                   "answerable": True, "answers": ["Chronic renal failure"]}) + "\n")
    reports = evaluate_squad(["extractive"], cases_path=qa_file, corpus_dir=seed_corpus,
                             out_dir=tmp_path / "out", settings=settings, embedder=fake_embedder,
                             progress=False)
    assert (tmp_path / "out" / "index").is_dir() and (tmp_path / "out" / "extractive" / "report.md").is_file()
    saved = json.loads((tmp_path / "out" / "extractive" / "report.json").read_text())
    assert saved["summary"] == reports["extractive"]["summary"]
    assert (saved["summary"]["n"], saved["summary"]["n_errors"]) == (1, 0), saved["failures"]


def test_cli_needs_a_set_with_a_corpus_and_a_corpus_with_a_sample(tmp_path, capsys):
    from app.cli import main

    assert main(["eval", "--corpus", str(tmp_path)]) == 2
    assert main(["eval", "--sample", "10"]) == 2
    assert "--corpus" in capsys.readouterr().err


@pytest.mark.real
def test_squad_validation_sample_meets_the_thresholds_on_extractive(real_settings, real_embedder, tmp_path):
    # real_settings only lends its configuration: the articles are indexed apart under out/index
    reports = evaluate_squad(["extractive"], cases_path=DEFAULT_SET, corpus_dir=DEFAULT_CORPUS,
                             out_dir=tmp_path / "squad2", sample_size=300, seed=0, settings=real_settings,
                             embedder=real_embedder, progress=False)
    report = reports["extractive"]
    print(squad_table(reports))
    print(article_table(report))
    assert report["summary"]["n"] == 300 and set(report["per_article"]) == set(VALIDATION_ARTICLES)
    assert report["summary"]["n_errors"] == 0, report["failures"][:3]
    failures = check_thresholds(report["summary"], squad_limits(load_thresholds(THRESHOLDS)), "squad2")
    assert failures == [], "\n".join(failures)
    assert (tmp_path / "squad2" / "extractive" / "report.md").is_file()
