"""Section-aware chunking with exact character offsets.

Chunks never cross a section. Inside a section, whole paragraphs are packed while
they fit ``max_words``; a longer paragraph is split at sentence boundaries. Every
chunk satisfies ``document.text[chunk.start:chunk.end] == chunk.text``.
"""

from __future__ import annotations

import bisect
import hashlib

from core.text import split_sentences
from core.types import Chunk, CleanDocument, Preview

from .kinds import BODY, CITABLE, paragraph_kind, section_kind

__all__ = ["CHUNKING_VERSION", "CITABLE", "chunk_document", "chunk_id", "preview_chunks"]

# 3: captions and navigation get chunks of their own kind (ingest/kinds.py).
CHUNKING_VERSION = "3"


def chunk_id(source: str, start: int, end: int, text: str) -> str:
    """A stable id for a chunk: the same span of the same text gets the same id."""
    digest = hashlib.sha256(f"{source}\0{start}\0{end}\0{text}".encode()).hexdigest()
    return digest[:16]


def _word_count(text: str) -> int:
    return len(text.split())


def _units(document: CleanDocument, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Paragraphs of one section, with over-long paragraphs split into sentences.

    Paragraphs are in document order and do not overlap, so the section's are found by
    bisection: chunking stays linear in the number of sections.
    """
    units = []
    paragraphs = document.paragraphs
    for row in range(bisect.bisect_left(paragraphs, (start, -1)), len(paragraphs)):
        p_start, p_end = paragraphs[row]
        if p_end > end:
            break
        if _word_count(document.text[p_start:p_end]) <= max_words:
            units.append((p_start, p_end))
        else:
            units.extend((s.start, s.end) for s in
                         split_sentences(document.text[p_start:p_end], offset=p_start))
    return units


def chunk_document(document: CleanDocument, max_words: int = 120) -> list[Chunk]:
    """The document's chunks, in order. A caption paragraph ("Figure 2. ...") is a chunk
    of its own, and every chunk of a gallery or "See also" section has that kind
    (:mod:`ingest.kinds`), so no body chunk mixes in text that is not evidence."""
    chunks: list[Chunk] = []
    for section in document.sections:
        kind_of_section = section_kind(section.heading)
        group: list[tuple[int, int]] = []
        words, kind = 0, kind_of_section
        for unit in _units(document, section.body_start, section.end, max_words):
            unit_words = _word_count(document.text[unit[0]:unit[1]])
            unit_kind = kind_of_section
            if kind_of_section == BODY:
                unit_kind = paragraph_kind(document.text[unit[0]:unit[1]])
            if group and (words + unit_words > max_words or unit_kind != kind):
                chunks.append(_make(document, section.heading, group, kind))
                group, words = [], 0
            group.append(unit)
            words += unit_words
            kind = unit_kind
        if group:
            chunks.append(_make(document, section.heading, group, kind))
    return chunks


def _make(document: CleanDocument, heading: str, group: list[tuple[int, int]], kind: str = BODY) -> Chunk:
    start, end = group[0][0], group[-1][1]
    text = document.text[start:end]
    return Chunk(chunk_id(document.source, start, end, text), document.source, heading, start, end, text, kind)


def preview_chunks(document: CleanDocument) -> list[Chunk]:
    """Chunks for removed link previews (indexed only when the setting asks for it).

    Their offsets are those of the linked term in the article; their text is the
    preview, so a citation can never present preview text as the article's.
    """
    chunks = []
    for preview in document.previews:
        chunks.append(_preview_chunk(document.source, preview))
    return chunks


def _preview_chunk(source: str, preview: Preview) -> Chunk:
    text = f"{preview.term}: {preview.text}"
    return Chunk(chunk_id(source, preview.start, preview.end, text), source,
                 f"Link preview > {preview.term}", preview.start, preview.end, text, kind="preview")
