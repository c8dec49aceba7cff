"""Documents in a fixed order, counted in chunks the way the product counts them, and the
prefix of that order that makes a library of a given size.

The seed article comes first, always; then the sources are interleaved, each next
document taken from the source with the fewest chunks so far, so every size mixes every
source. A smaller library is a prefix of a larger one: the same documents first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ingest import READERS, Unreadable, clean_page
from ingest.chunk import chunk_document, preview_chunks

from .sources import Doc, Source

Counter = Callable[[Doc], int]


@dataclass(frozen=True)
class Entry:
    """A document of the library, with its source and its chunk count."""

    source: str
    doc: Doc
    chunks: int


def chunk_counter(max_words: int, previews: bool, max_bytes: int) -> Counter:
    """Chunks the product's ingest makes of a document (``ingest.pipeline._chunks``):
    read by its suffix's reader, cleaned, chunked; 0 when the ingest would give it no
    body text or skip it (unreadable, over ``max_bytes``)."""

    def count(doc: Doc) -> int:
        reader = READERS.get(PurePosixPath(doc.path).suffix.lower())
        if reader is None or len(doc.data) > max_bytes:
            return 0
        try:
            extracted = reader(doc.data, doc.path)
        except Unreadable:
            return 0
        document = clean_page(extracted.text, doc.path, extracted.page_starts)
        body = len(chunk_document(document, max_words))
        return body + len(preview_chunks(document)) if body and previews else body

    return count


def _digest(doc: Doc) -> str:
    return hashlib.sha256(doc.data).hexdigest()


def assemble(seed: Iterable[Doc], sources: list[Source], target: int, count: Counter,
             progress: Callable[[int], None] = lambda total: None) -> list[Entry]:
    """The seed, then documents interleaved across ``sources`` until ``target`` chunks
    (or every source is spent). Copies of a document already taken (same bytes: the
    ingest would skip them) and documents without chunks are left out."""
    entries: list[Entry] = []
    seen: set[str] = set()
    for doc in seed:
        seen.add(_digest(doc))
        entries.append(Entry("seed", doc, count(doc)))
    total = sum(e.chunks for e in entries)
    taken = {source.name: 0 for source in sources}
    streams = {source.name: iter(source.docs()) for source in sources}
    step = max(1, target // 20)
    while streams and total < target:
        name = min(streams, key=lambda n: taken[n])  # ties: the earlier source
        doc = next(streams[name], None)
        if doc is None:
            del streams[name]
            continue
        digest = _digest(doc)
        if digest in seen or not (chunks := count(doc)):
            continue
        seen.add(digest)
        entries.append(Entry(name, doc, chunks))
        if (total + chunks) // step > total // step:
            progress(total + chunks)
        total += chunks
        taken[name] += chunks
    return entries


def seeds_in(entries: list[Entry]) -> int:
    return sum(1 for e in entries if e.source == "seed")


def prefix(entries: list[Entry], target: int) -> list[Entry]:
    """The prefix (seed always whole) whose chunk count is closest to ``target``; on a tie
    the shorter one."""
    seeds = seeds_in(entries)
    best, best_total, total = seeds, None, 0
    for length, entry in enumerate(entries, start=1):
        total += entry.chunks
        if length < seeds:
            continue
        if best_total is None or abs(total - target) < abs(best_total - target):
            best, best_total = length, total
        if total >= target:
            break
    return entries[:best]


def summary(entries: list[Entry], licences: dict[str, str], origins: dict[str, str]) -> dict:
    """Chunks, documents and, per source, documents, chunks, licence and origin."""
    per_source: dict[str, dict] = {}
    for entry in entries:
        row = per_source.setdefault(entry.source, {"documents": 0, "chunks": 0,
                                                   "licence": licences.get(entry.source, ""),
                                                   "origin": origins.get(entry.source, "")})
        row["documents"] += 1
        row["chunks"] += entry.chunks
    return {"chunks": sum(e.chunks for e in entries), "documents": len(entries), "sources": per_source}
