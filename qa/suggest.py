"""Suggested questions: the ingest's candidates (manifest ``suggestions``) that the source
answers correctly, checked by asking each with the extractive backend: the judge must
answer it, and the answer's first sentence must come from the section the candidate was
derived from (manifest ``suggestion_origins``), so "What are the symptoms of X?" is not
suggested when it is answered with X's definition."""

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
    origins = dict(zip(candidates, manifest.suggestion_origins))
    key = (_where(settings), version, limit)
    with _lock:  # one computation at a time: page loads after the first reuse it
        if key not in _cache:
            try:
                answered = _answered([c for c in candidates if isinstance(c, str)], limit,
                                     lambda q: ask(q, llm="extractive", settings=settings,
                                                   embedder=embedder, judge=judge), origins)
            except IndexProblem as problem:  # not cached: the next page load tries again
                log.warning("no suggested questions: %s", problem)
                return []
            for old in [k for k in _cache if k[0] == key[0] and k[1] != version]:
                del _cache[old]
            _cache[key] = answered
        return list(_cache[key])


def _answered(candidates: list[str], limit: int, answer, origins: dict[str, tuple[str, str]] | None = None
              ) -> list[str]:
    """The first ``limit`` candidates answered, each from its own section when its origin
    is known."""
    kept: list[str] = []
    for question in candidates:
        if len(kept) >= limit:
            break
        try:
            reply = answer(question)
        except ValueError as problem:  # a candidate too long for max_question_chars
            log.warning("suggested question %r not checked: %s", question, problem)
            continue
        if not reply.abstained and _from_origin(reply, (origins or {}).get(question)):
            kept.append(question)
    return kept


def _from_origin(reply, origin: tuple[str, str] | None) -> bool:
    """Whether the answer's first citation lies in the section (or a subsection of it) the
    question was derived from; True when that is not recorded (an older index)."""
    if origin is None:
        return True
    if not reply.citations:
        return False
    source, heading = origin
    first = reply.citations[0]
    return first.source == source and (first.section == heading or first.section.startswith(heading + " > "))
