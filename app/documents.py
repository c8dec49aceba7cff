"""The whole cleaned source documents, for the web chat's source viewer (``GET /api/document``).

A document is looked up by its name among the served index's documents, never by a path a
client gives. It is read from the index the questions are answered from (no second load),
and only the document asked for is built, so a library of any size costs one document;
the last few built are kept per served version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from core.index import Index
from core.settings import Settings
from ingest import storage_for
from qa import get_engine

KEPT = 8  # documents kept built per served version


@dataclass(frozen=True)
class SourceDocument:
    source: str
    text: str
    sections: tuple[dict, ...]  # {"path": [...], "start", "end"}, in text order
    pages: tuple[int, ...]  # where each page begins (PDFs); empty for unpaged sources

    def to_dict(self) -> dict:
        # A cleaned document's first line is its title (ingest.clean writes it there).
        title = self.text.split("\n", 1)[0].strip() or self.source
        return {"source": self.source, "title": title, "text": self.text, "sections": list(self.sections),
                "pages": list(self.pages)}


def _heading_start(text: str, heading: str, body_start: int) -> int:
    """Where a section's heading line begins, when it stands (alone) just before its body;
    else the body's start.

    >>> _heading_start("Intro\\n\\nCauses\\n\\nBody", "Causes", 15)
    7
    >>> _heading_start("Intro. Causes are many", "Causes", 7)
    7
    """
    at = text.rfind(heading, 0, body_start)
    if at >= 0 and not text[at + len(heading):body_start].strip():
        return at
    return body_start


def documents_of(index: Index, only: str | None = None) -> dict[str, SourceDocument]:
    """The documents of an index (or only the one named ``only``) with their sections
    (from the chunks' heading paths)."""
    spans: dict[str, dict[str, list[int]]] = {}
    for chunk in index.chunks:
        if only is None or chunk.source == only:
            span = spans.setdefault(chunk.source, {}).setdefault(chunk.section, [chunk.start, chunk.end])
            span[0], span[1] = min(span[0], chunk.start), max(span[1], chunk.end)
    out = {}
    for source in ([only] if only is not None else list(index.documents)):
        if source not in index.documents:
            continue
        text = index.documents[source]
        sections = []
        for path, (start, end) in sorted(spans.get(source, {}).items(), key=lambda item: item[1][0]):
            parts = path.split(" > ")
            sections.append({"path": parts, "start": _heading_start(text, parts[-1], start), "end": end})
        out[source] = SourceDocument(source, text, tuple(sections), index.page_starts(source))
    return out


_cache: dict[tuple, SourceDocument | None] = {}
_lock = threading.Lock()


def served_document(settings: Settings, source: str) -> SourceDocument | None:
    """The served index's document of that name, or None. Raises IndexProblem when there
    is no usable index."""
    storage = storage_for(settings)
    if storage.state() is None:
        storage.load()  # raises IndexProblem: there is no index yet
    index = get_engine(settings).index
    key = (index.version, source)
    with _lock:
        if key not in _cache:
            if any(k[0] != index.version for k in _cache) or len(_cache) >= KEPT:
                _cache.clear()
            _cache[key] = documents_of(index, only=source).get(source)
        return _cache[key]
