"""Loading and validating evaluation cases against a tiny made-up corpus."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from evals.cases import CaseFileError, EvalCase, Evidence, load_cases, parse_cases
from evals.validate import document_sections, document_texts, load_corpus, main, validate_cases

RAW = """# Frost Fern

Frost fern is a rare plant of the northern hills. It grows only above 1200 metres.

## Cultivation

Gardeners water frost fern twice a week. The plant needs acid soil.

### Pests

Slugs eat the young fronds.

## Uses

The leaves were used to treat burns in 1850.
"""


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "fern.md").write_text(RAW, encoding="utf-8")
    return folder


@pytest.fixture()
def docs(corpus):
    cleaned = load_corpus(corpus)
    return document_texts(cleaned), document_sections(cleaned)


GOOD = EvalCase("care", "How is frost fern watered?", "cultivation", True,
                "Twice a week.", (("twice a week",),),
                (Evidence("Cultivation", "Gardeners water frost fern twice a week."),))
PESTS = EvalCase("pests", "What eats frost fern?", "cultivation", True, "Slugs.",
                 (("slugs",),), (Evidence("Cultivation > Pests", "Slugs eat the young fronds."),))
NONE = EvalCase("colour", "What colour is it?", "unanswerable", False, "Not stated.", (), ())


def line(case: EvalCase) -> str:
    return json.dumps({"id": case.id, "question": case.question, "category": case.category,
                       "answerable": case.answerable, "gold_answer": case.gold_answer,
                       "key_facts": [list(f) for f in case.key_facts],
                       "evidence": [{"section": e.section, "quote": e.quote}
                                    for e in case.evidence]})


def test_corpus_is_cleaned_with_sections(docs):
    texts, sections = docs
    assert list(texts) == ["fern.md"] and "# " not in texts["fern.md"]
    assert "Cultivation > Pests" in [s.heading for s in sections["fern.md"]]


def test_valid_cases_have_no_problems(docs):
    assert validate_cases([GOOD, PESTS, NONE], *docs) == []
    # A quote in a subsection lies inside its parent section too.
    parent = replace(PESTS, evidence=(Evidence("Cultivation", "Slugs eat the young fronds."),))
    assert validate_cases([parent], *docs) == []


def test_bad_quote_wrong_section_and_duplicate_id(docs):
    bad_quote = replace(GOOD, id="q1", evidence=(Evidence("Cultivation", "Gardeners water it."),))
    wrong_section = replace(GOOD, id="q2", evidence=(
        Evidence("Uses", "Gardeners water frost fern twice a week."),))
    problems = validate_cases([bad_quote, wrong_section, GOOD, replace(NONE, id="care")], *docs)
    assert len(problems) == 3
    assert problems[0].startswith("case care: duplicate id (2 cases)")
    assert "case q1: evidence 1 quote is not in any document" in problems[1]
    assert "case q2: evidence 1 quote is not inside section 'Uses' (found in 'Cultivation')" \
        in problems[2]
    # Without section spans only the text is checked.
    assert validate_cases([wrong_section], docs[0]) == []


def test_answerability_and_fact_problems(docs):
    no_evidence = replace(GOOD, id="a", evidence=())
    with_evidence = replace(NONE, id="b", evidence=GOOD.evidence)
    stray_fact = replace(GOOD, id="c", key_facts=(("twice a week",), ("three times",)))
    empty_question = replace(GOOD, id="d", question="  ")
    problems = validate_cases([no_evidence, with_evidence, stray_fact, empty_question], *docs)
    assert problems == [
        "case a: answerable but has no evidence",
        "case b: unanswerable but has evidence",
        ("case c: gold answer lacks key fact 2 ['three times'], so the reference answer "
         "itself would be scored wrong"),
        "case d: question should be a non-empty string",
    ]


def test_load_cases_reads_lines_and_names_malformed_ones(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(line(GOOD) + "\n\n" + line(NONE) + "\n", encoding="utf-8")
    assert load_cases(path) == [GOOD, NONE]
    broken = json.loads(line(GOOD))
    del broken["question"]
    broken["answerable"] = "yes"
    text = line(GOOD) + "\n{not json\n" + json.dumps(broken) + "\n"
    with pytest.raises(CaseFileError) as error:
        parse_cases(text, "set.jsonl")
    message = str(error.value)
    assert "set.jsonl:2: not valid JSON" in message
    assert "set.jsonl:3: missing field 'question'" in message
    assert "set.jsonl:3: field 'answerable' should be bool, got str" in message
    assert "set.jsonl:1" not in message


def test_main_exit_codes(tmp_path, corpus, capsys):
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(line(c) for c in (GOOD, PESTS, NONE)) + "\n", encoding="utf-8")
    assert main(["--set", str(good), "--corpus", str(corpus)]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(line(GOOD) + "\n" + line(GOOD) + "\n", encoding="utf-8")
    assert main(["--set", str(bad), "--corpus", str(corpus)]) == 1
    assert "duplicate id" in capsys.readouterr().out
    assert main(["--set", str(tmp_path / "missing.jsonl"), "--corpus", str(corpus)]) == 1
