"""Check an evaluation set against the corpus, and locate evidence quotes in it.

``python -m evals.validate [--set FILE] [--corpus DIR]`` prints every problem and
exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.types import CleanDocument, Section
from ingest import clean_page, read_corpus

from .cases import DEFAULT_CASES, CaseFileError, EvalCase, load_cases

Span = tuple[str, int, int]  # (source, start, end), end exclusive


def load_corpus(corpus_dir: Path | str) -> dict[str, CleanDocument]:
    """Read and clean every document of a corpus folder, keyed by source name."""
    return {raw.source: clean_page(raw.text, raw.source, raw.page_starts) for raw in read_corpus(Path(corpus_dir))}


def document_texts(documents: Mapping[str, CleanDocument]) -> dict[str, str]:
    """``{source: cleaned text}``."""
    return {source: doc.text for source, doc in documents.items()}


def document_sections(documents: Mapping[str, CleanDocument]) -> dict[str, tuple[Section, ...]]:
    """``{source: sections}`` with their heading paths and offsets."""
    return {source: doc.sections for source, doc in documents.items()}


def overlaps(a: Span, b: Span) -> bool:
    """Whether two half-open spans of the same source share a character.

    >>> overlaps(("d", 0, 5), ("d", 4, 9)), overlaps(("d", 0, 5), ("d", 5, 9))
    (True, False)
    """
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def _norm_heading(heading: str) -> str:
    return " > ".join(part.strip().lower() for part in heading.split(">"))


def section_matches(heading: str, wanted: str) -> bool:
    """A section matches the wanted heading path if it is that section or lies under it.

    >>> section_matches("Classification > Osteoma cutis", "classification")
    True
    >>> section_matches("Treatment", "Classification")
    False
    """
    have, want = _norm_heading(heading), _norm_heading(wanted)
    return have == want or have.startswith(want + " > ")


def find_quote(quote: str, documents: Mapping[str, str]) -> list[Span]:
    """Every occurrence of ``quote`` in every document.

    >>> find_quote("ab", {"d": "abcab"})
    [('d', 0, 2), ('d', 3, 5)]
    """
    spans: list[Span] = []
    if not quote:
        return spans
    for source, text in documents.items():
        at = text.find(quote)
        while at >= 0:
            spans.append((source, at, at + len(quote)))
            at = text.find(quote, at + 1)
    return spans


def in_section(span: Span, wanted: str, sections: Mapping[str, Sequence[Section]]) -> bool:
    """Whether the span lies wholly inside a section matching ``wanted``."""
    return any(s.start <= span[1] and span[2] <= s.end and section_matches(s.heading, wanted)
               for s in sections.get(span[0], ()))


def gold_spans(case: EvalCase, documents: Mapping[str, str],
               sections: Mapping[str, Sequence[Section]] | None = None) -> list[list[Span]]:
    """Candidate spans of each evidence quote, preferring those inside the named section."""
    found = []
    for item in case.evidence:
        spans = find_quote(item.quote, documents)
        if sections is not None:
            spans = [s for s in spans if in_section(s, item.section, sections)] or spans
        found.append(spans)
    return found


def _field_problems(case: EvalCase) -> list[str]:
    problems = []
    for name in ("id", "question", "category", "gold_answer"):
        value = getattr(case, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name} should be a non-empty string")
    if not isinstance(case.answerable, bool):
        problems.append("answerable should be true or false")
    for number, fact in enumerate(case.key_facts, start=1):
        if not fact or not all(isinstance(p, str) and p.strip() for p in fact):
            problems.append(f"key fact {number} needs non-empty phrasings")
    return problems


def _content_problems(case: EvalCase) -> list[str]:
    if not case.answerable:
        return [f"unanswerable but has {what}"
                for what, items in (("evidence", case.evidence), ("key facts", case.key_facts))
                if items]
    problems = [f"answerable but has no {what}"
                for what, items in (("evidence", case.evidence), ("key facts", case.key_facts))
                if not items]
    gold = " ".join(case.gold_answer.lower().split())
    for number, fact in enumerate(case.key_facts, start=1):
        if fact and not any(" ".join(p.lower().split()) in gold for p in fact if p.strip()):
            problems.append(f"gold answer lacks key fact {number} {list(fact)}, so the "
                            "reference answer itself would be scored wrong")
    return problems


def _evidence_problems(case: EvalCase, documents: Mapping[str, str],
                       sections: Mapping[str, Sequence[Section]] | None) -> list[str]:
    problems = []
    for number, item in enumerate(case.evidence, start=1):
        spans = find_quote(item.quote, documents)
        if not spans:
            problems.append(f"evidence {number} quote is not in any document: {item.quote[:80]!r}")
        elif sections is not None and not any(in_section(s, item.section, sections) for s in spans):
            found = sorted({sec.heading for s in spans for sec in sections.get(s[0], ())
                            if sec.start <= s[1] and s[2] <= sec.end})
            problems.append(f"evidence {number} quote is not inside section {item.section!r} "
                            f"(found in {', '.join(map(repr, found)) or 'no section'})")
    return problems


def validate_cases(cases: Sequence[EvalCase], documents: Mapping[str, str],
                   sections: Mapping[str, Sequence[Section]] | None = None) -> list[str]:
    """Every problem of an evaluation set, as ``"case ID: problem"`` lines.

    Checks duplicate ids, field types, answerable cases without key facts or evidence
    or whose gold answer misses one of its own key facts, unanswerable ones with key
    facts or evidence, quotes that are not exact substrings of a document
    and, when ``sections`` is given, quotes outside the section their heading path names
    (a quote in a subsection of the named section counts as inside it).
    """
    problems = [f"case {case_id}: duplicate id ({count} cases)"
                for case_id, count in Counter(c.id for c in cases).items() if count > 1]
    for case in cases:
        found = (_field_problems(case) + _content_problems(case)
                 + _evidence_problems(case, documents, sections))
        problems.extend(f"case {case.id}: {problem}" for problem in found)
    return problems


def _configured_corpus() -> Path:
    from core.settings import load_settings  # reads config and environment

    return Path(load_settings().corpus_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: print problems, return 1 when there are any."""
    parser = argparse.ArgumentParser(prog="python -m evals.validate", description=__doc__)
    parser.add_argument("--set", type=Path, default=DEFAULT_CASES, help="cases .jsonl file")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="corpus folder (default: the configured corpus_dir)")
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.set)
        documents = load_corpus(args.corpus or _configured_corpus())
    except (CaseFileError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    problems = validate_cases(cases, document_texts(documents), document_sections(documents))
    for problem in problems:
        print(problem)
    print(f"{len(cases)} cases, {len(problems)} problem(s) in {args.set}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
