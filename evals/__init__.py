"""Evaluation harness: score answers against a gold question set.

Typical use::

    from evals import (check_thresholds, document_sections, document_texts, load_cases,
                       load_corpus, load_thresholds, run_eval, write_reports)
    corpus = load_corpus("corpus")
    report = run_eval(ask, load_cases(), document_texts(corpus), backend_name="extractive",
                      sections=document_sections(corpus))
    write_reports(report, "eval-out/extractive")
    problems = check_thresholds(report["summary"], load_thresholds("evals/thresholds.json"))

Names are imported lazily, so ``python -m evals.validate`` runs its module only once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "cases": ("DEFAULT_CASES", "CaseFileError", "EvalCase", "Evidence", "draft_case", "load_cases",
              "parse_cases"),
    "cli": ("run_from_args",),
    "compare": ("compare_reports",),
    "metrics": ("CaseScore", "score_case"),
    "text": ("support_test", "token_f1"),
    "report": ("LOWER_IS_BETTER", "per_category", "render_markdown", "summarize"),
    "runner": ("check_thresholds", "load_thresholds", "run_eval", "write_reports"),
    "validate": ("document_sections", "document_texts", "load_corpus", "validate_cases"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "DEFAULT_CASES",
    "LOWER_IS_BETTER",
    "CaseFileError",
    "CaseScore",
    "EvalCase",
    "Evidence",
    "check_thresholds",
    "compare_reports",
    "document_sections",
    "document_texts",
    "draft_case",
    "load_cases",
    "load_corpus",
    "load_thresholds",
    "parse_cases",
    "per_category",
    "render_markdown",
    "run_eval",
    "run_from_args",
    "score_case",
    "summarize",
    "support_test",
    "token_f1",
    "validate_cases",
    "write_reports",
]

if TYPE_CHECKING:
    from .cases import (
        DEFAULT_CASES,
        CaseFileError,
        EvalCase,
        Evidence,
        draft_case,
        load_cases,
        parse_cases,
    )
    from .cli import run_from_args
    from .compare import compare_reports
    from .metrics import CaseScore, score_case
    from .report import LOWER_IS_BETTER, per_category, render_markdown, summarize
    from .runner import check_thresholds, load_thresholds, run_eval, write_reports
    from .text import support_test, token_f1
    from .validate import document_sections, document_texts, load_corpus, validate_cases


def __getattr__(name: str) -> Any:
    """Import an exported name from its submodule on first use."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
