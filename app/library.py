"""The library: every document of the served index (``GET /api/documents``), removing one
(``DELETE /api/documents/{source}``), and the suggested questions grouped by document.

A document is named by its ``source`` as the served index holds it, never by a path a
client makes up. Removing moves its file out of the corpus folder to a hidden name (scans
skip dot files), re-ingests, and only then deletes it; when the ingest fails the file is
moved back and the previous index stays served. Either way the index switches whole
(the storage writes a new version or none), so no question ever sees half a library.
Removing is off whenever adding is (:func:`app.upload.upload_refusal`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from core.index import Index
from core.settings import Settings
from ingest import CorpusError, IndexProblem, ingest, storage_for
from qa import get_engine, suggestions

from .upload import UploadRefused, upload_refusal
from .upload import _lock as changes  # one change to the corpus folder at a time, upload or removal

log = logging.getLogger(__name__)

SUGGESTED = 8  # answered suggestions asked for, then grouped under their documents
PER_DOCUMENT = 3  # shown under each document


@dataclass(frozen=True)
class DocumentInfo:
    source: str  # the name citations and ``sources`` use
    title: str
    pages: int | None  # a PDF's pages; None for unpaged documents
    sections: int
    chunks: int
    added: str | None  # when its file came into the corpus folder (UTC); None when not there

    def to_dict(self) -> dict:
        return asdict(self)


def removal_refusal(settings: Settings) -> str | None:
    """Why removing documents is off (as adding them is), or None.

    >>> removal_refusal(Settings(read_only=True))
    'removing documents is off on this server (the read_only setting)'
    """
    why = upload_refusal(settings)
    return why.replace("uploads are off", "removing documents is off") if why else None


def _served(settings: Settings) -> Index:
    storage = storage_for(settings)
    if storage.state() is None:
        storage.load()  # raises IndexProblem: there is no index yet
    return get_engine(settings).index


_listed: dict[str, list[DocumentInfo]] = {}
_listed_lock = threading.Lock()


def list_documents(settings: Settings) -> list[DocumentInfo]:
    """Every document of the served index, in name order; IndexProblem without one."""
    index = _served(settings)
    with _listed_lock:
        if index.version not in _listed:
            _listed.clear()
            _listed[index.version] = _documents(index)
        rows = _listed[index.version]
    corpus = Path(settings.corpus_dir)
    return [DocumentInfo(**{**asdict(row), "added": _added(corpus, row.source)}) for row in rows]


def _documents(index: Index) -> list[DocumentInfo]:
    chunks: dict[str, int] = {}
    sections: dict[str, set[str]] = {}
    for chunk in index.chunks:
        chunks[chunk.source] = chunks.get(chunk.source, 0) + 1
        sections.setdefault(chunk.source, set()).add(chunk.section)
    titles = index.titles
    return [DocumentInfo(source, titles.get(source) or source, len(index.page_starts(source)) or None,
                         len(sections.get(source, ())), chunks.get(source, 0), None)
            for source in sorted(index.documents)]


def _added(corpus: Path, source: str) -> str | None:
    try:
        seconds = (corpus / source).stat().st_mtime
    except (OSError, ValueError):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass(frozen=True)
class Removed:
    source: str
    summary: str  # the ingest's one-line report


def remove_document(settings: Settings, source: object) -> Removed:
    """Take ``source`` out of the corpus folder and the index; UploadRefused with the HTTP
    status when it is not done: 403 (removing is off), 404 (no such document), 409 (the
    only document, or an index built from another folder), 503 (the ingest failed)."""
    refusal = removal_refusal(settings)
    if refusal:
        raise UploadRefused(refusal, 403)
    try:
        index = _served(settings)
    except IndexProblem as problem:
        raise UploadRefused(str(problem), 503) from None
    if not isinstance(source, str) or source not in index.documents:
        raise UploadRefused("no document of that name in the index", 404)
    if len(index.documents) == 1:
        raise UploadRefused(f"{source} is the library's only document; add another one first", 409)
    corpus = Path(settings.corpus_dir)
    built = str(index.manifest.get("corpus_dir") or "")
    if built and Path(built).resolve() != corpus.resolve():
        raise UploadRefused("the served index was built from another corpus folder than the corpus_dir "
                            "setting; nothing was removed", 409)
    with changes:
        return _move_and_ingest(settings, corpus, source)


def _move_and_ingest(settings: Settings, corpus: Path, source: str) -> Removed:
    target = corpus / source
    if ".." in Path(source).parts or Path(source).is_absolute():
        raise UploadRefused("no document of that name in the index", 404)
    aside = target.with_name(f".removing-{uuid.uuid4().hex[:8]}-{target.name}")
    moved = False
    try:
        if target.is_file() or target.is_symlink():
            os.replace(target, aside)  # the link itself, never what it points to
            moved = True
        report = ingest(settings)
    except (CorpusError, IndexProblem, OSError, ValueError) as error:
        if moved:
            os.replace(aside, target)
        log.warning("removing %s failed: %s", source, error)
        raise UploadRefused(f"{source} could not be removed ({error}); the library is unchanged", 503) from None
    except BaseException:
        if moved:
            os.replace(aside, target)
        raise
    if moved:
        aside.unlink(missing_ok=True)
    log.info("removed %s: %s", source, report.summary())
    return Removed(source, report.summary())


# -- suggested questions, by document -----------------------------------------------------------
def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def grouped_suggestions(settings: Settings) -> dict[str, list[str]]:
    """The answered suggested questions (:func:`qa.suggestions`) under the document each
    is about: the one whose title or heading the question names (the candidates are made
    from titles and headings; the longest name wins, a title before a heading), else the
    document of its best retrieved passage. At most :data:`PER_DOCUMENT` each."""
    try:
        questions = suggestions(settings, limit=SUGGESTED)
        if not questions:
            return {}
        engine = get_engine(settings)
    except Exception:
        log.exception("suggested questions failed")
        return {}
    key = (engine.index.version, tuple(questions))
    with _listed_lock:
        if key not in _grouped:  # once per served version
            _grouped.clear()
            _grouped[key] = group_by_document(questions, engine.index,
                                              lambda q: engine.retriever.retrieve(q, 1).passages)
        return {source: list(asked) for source, asked in _grouped[key].items()}


_grouped: dict[tuple, dict[str, list[str]]] = {}


def group_by_document(questions: list[str], index: Index, retrieve) -> dict[str, list[str]]:
    """See :func:`grouped_suggestions`; ``retrieve(question)`` gives passages, best first."""
    names: dict[str, dict[str, int]] = {}  # source -> name (words) -> 2 for its title, 1 a heading
    for source, title in index.titles.items():
        names.setdefault(source, {})[_words(title)] = 2
    for chunk in index.chunks:
        for part in chunk.section.split(" > "):
            names.setdefault(chunk.source, {}).setdefault(_words(part), 1)
    groups: dict[str, list[str]] = {}
    for question in questions:
        said = f" {_words(question)} "
        best = max(((len(name), kind, source) for source, found in names.items() for name, kind in found.items()
                    if name and f" {name} " in said), default=None)
        source = best[2] if best else next((p.source for p in retrieve(question)), None)
        if source is not None and len(groups.setdefault(source, [])) < PER_DOCUMENT:
            groups[source].append(question)
    return groups


# -- the HTTP routes ----------------------------------------------------------------------------
def library_routes(api, settings: Settings, responses: dict) -> None:
    """``GET /api/documents``, ``DELETE /api/documents/{source}`` and ``GET
    /api/upload/progress`` on the API app."""
    from .http import public_message

    @api.get("/api/documents", responses=responses)
    def api_documents() -> JSONResponse:
        """Every document of the served index: ``{"documents": [{source, title, pages, sections,
        chunks, added}], "removable"}`` (``pages``: a PDF's, else null; ``added``: when its file
        came into the corpus folder, UTC); ``removable`` says whether DELETE is on."""
        try:
            rows = list_documents(settings)
        except IndexProblem as problem:
            return JSONResponse({"error": public_message(problem, settings)}, status_code=503)
        return JSONResponse({"documents": [r.to_dict() for r in rows],
                             "removable": removal_refusal(settings) is None})

    @api.get("/api/upload/progress", responses=responses)
    def api_upload_progress(name: str = "") -> JSONResponse:
        """How far the ingest of an upload in progress is: ``{"stage", "done", "total", "unit",
        "rate", "seconds_left", "text"}`` ("Embedding 120 of 471 chunks, 35/s, 10 s left"), or
        ``{}`` when that upload is not being indexed (not yet, or done)."""
        from .upload import upload_progress

        return JSONResponse(upload_progress().get(name, {}))

    @api.delete("/api/documents/{source:path}", responses=responses)
    async def api_remove(source: str) -> JSONResponse:
        """Remove one document: its file leaves the corpus folder and the index is rebuilt
        without it (the served index switches whole, or stays as it was). 403 when removing
        is off (as adding is), 404 for a name the index does not hold, 409 for its only document."""
        try:
            removed = await run_in_threadpool(remove_document, settings, source)
        except UploadRefused as refused:
            message = public_message(refused, settings) if refused.status == 503 else str(refused)
            return JSONResponse({"error": message}, status_code=refused.status)
        return JSONResponse({"removed": removed.source, "summary": removed.summary})
