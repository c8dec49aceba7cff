"""The CI regression gate: the whole curated set on `extractive` and `local` must stay
above the thresholds kept in evals/thresholds.json."""

from __future__ import annotations

import json

import pytest

from core.settings import REPO_ROOT
from evals.cases import load_cases
from evals.cli import THRESHOLDS, evaluate, summary_table
from evals.runner import check_thresholds, load_thresholds
from evals.validate import document_sections, document_texts, load_corpus, validate_cases


def test_curated_set_is_well_formed_and_quotes_the_cleaned_document():
    corpus = load_corpus(REPO_ROOT / "corpus")
    cases = load_cases()
    assert len(cases) >= 80 and sum(not c.answerable for c in cases) >= 25
    assert validate_cases(cases, document_texts(corpus), document_sections(corpus)) == []


@pytest.mark.real
def test_curated_set_meets_the_thresholds_on_extractive_and_local(real_settings, real_embedder, tmp_path):
    reports = evaluate(["extractive", "local"], out_dir=tmp_path, settings=real_settings,
                       embedder=real_embedder, progress=False)
    thresholds = load_thresholds(THRESHOLDS)
    failures = [problem for name, report in reports.items()
                for problem in check_thresholds(report["summary"], thresholds, name)]
    print(summary_table(reports))
    assert failures == [], "\n".join(failures)
    for name in ("extractive", "local"):
        assert (tmp_path / name / "report.md").is_file()
        saved = json.loads((tmp_path / name / "report.json").read_text())
        assert saved["summary"]["n_cases"] == len(load_cases())
