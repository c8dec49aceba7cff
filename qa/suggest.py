"""Suggested questions: the ingest's candidates (manifest ``suggestions``) that the source
answers, checked by asking each with the extractive backend (the judge decides)."""

from __future__ import annotations

import logging
import threading

from core.embedding import Embedder
from core.settings import Settings
from ingest import IndexProblem, index_manifest
from judge import Judge

from .api import _where, ask

log = logging.getLogger(__name__)

# (index location, served version, limit) -> the answered candidates; one entry per index.
_cache: dict[tuple, list[str]] = {}
_lock = threading.Lock()


def suggestions(settings: Settings, limit: int = 4, *, embedder: Embedder | None = None,
                judge: Judge | None = None) -> list[str]:
    """Up to ``limit`` of the served index's candidate questions that are answered (not
    declined), in order; [] when there is no index (yet) or it has no candidates (an
    index built before they existed). Computed once per index version; ``embedder`` and
    ``judge`` are those of :func:`qa.ask` (tests pass fakes)."""
    try:
        manifest = index_manifest(settings)
    except IndexProblem:
        return []
    if manifest is None or not manifest.suggestions or not manifest.version:
        return []
    candidates, version = list(manifest.suggestions), manifest.version
    key = (_where(settings), version, limit)
    with _lock:  # one computation at a time: page loads after the first reuse it
        if key not in _cache:
            try:
                answered = _answered([c for c in candidates if isinstance(c, str)], limit,
                                     lambda q: ask(q, llm="extractive", settings=settings,
                                                   embedder=embedder, judge=judge))
            except IndexProblem as problem:  # not cached: the next page load tries again
                log.warning("no suggested questions: %s", problem)
                return []
            for old in [k for k in _cache if k[0] == key[0] and k[1] != version]:
                del _cache[old]
            _cache[key] = answered
        return list(_cache[key])


def _answered(candidates: list[str], limit: int, answer) -> list[str]:
    kept: list[str] = []
    for question in candidates:
        if len(kept) >= limit:
            break
        try:
            if not answer(question).abstained:
                kept.append(question)
        except ValueError as problem:  # a candidate too long for max_question_chars
            log.warning("suggested question %r not checked: %s", question, problem)
    return kept
