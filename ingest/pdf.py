"""PDF: the text layer page by page (pypdf), with headings from the document outline, else
from the fonts.

Pages are joined as paragraphs, and :class:`~ingest.formats.Extracted` says where each
one begins, so that a citation can give its page. Each page's lines come from
:mod:`ingest.pdf_text` (ligatures and glyphs without a Unicode mapping repaired,
compatibility forms normalised) and are laid out by :mod:`ingest.pdf_layout` (running
headers, footers and page numbers dropped, hyphenated words joined again) before any
offset is counted, so the text stored and cited is the repaired one. The document's
title is the PDF's metadata title, else its first outline entry, else a line of page 1
set larger than every heading, else the file's name; outline entries become ``##`` (top
level), ``###``, ... headings where their title stands as a line of their page, else at
the page's top. A PDF without an outline takes its headings from font size and weight
(see :func:`ingest.pdf_layout.find_headings`); a heading is always a line of its own. A PDF
without a text layer (a scan) raises :class:`NoTextLayer`: it is skipped, unless the
``ocr`` setting is on and :mod:`ingest.ocr` reads it. One that is encrypted with a
password or too damaged to read is skipped.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import PurePosixPath

from .formats import Extracted, Unreadable, brief, norm, title_line
from .pdf_layout import drop_running, find_headings, rejoin_hyphens
from .pdf_text import Line, normalise, page_lines

log = logging.getLogger(__name__)

NO_TEXT_LAYER = "no text layer (a scanned PDF?); OCR is not supported"


class NoTextLayer(Unreadable):
    """A PDF without a text layer (a scan): its metadata title and page count, for OCR."""

    def __init__(self, title: str, pages: int) -> None:
        super().__init__(NO_TEXT_LAYER)
        self.title = title
        self.pages = pages


def _outline(reader) -> list[tuple[int, int, str]]:
    """(page index, depth, title) of every outline entry, in outline order; [] when the
    outline is missing or cannot be read (the text is still worth having)."""
    entries: list[tuple[int, int, str]] = []

    def walk(items, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = " ".join(normalise(str(getattr(item, "title", "") or "")).split())
            page = reader.get_destination_page_number(item)
            if title and page is not None and page >= 0:
                entries.append((page, depth, title))

    try:
        walk(reader.outline, 0)
    except Exception as error:  # noqa: BLE001 - a damaged outline: no headings, the text is read
        log.warning("cannot read the PDF outline (%s); reading it without headings", brief(error))
        return []
    return entries


def _page_lines(lines: list[str]) -> list[str]:
    """A page's lines with "" between paragraphs: a paragraph also ends at a short line that
    ends a sentence. A line without letters (a number left alone) stays with the paragraph
    before it, so that it cannot pass for a heading."""
    widest = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        out.append(line)
        if (re.search(r"[.!?:][\"'\u201d\u2019)\]]*$", line) and len(line) < 0.85 * widest
                and not line.startswith("#")):
            out.append("")
    dropped: set[int] = set()  # the empty lines around a letterless line that stands alone
    for index, line in enumerate(out):
        alone = (index == 0 or not out[index - 1]) and (index + 1 == len(out) or not out[index + 1])
        if not line or re.search(r"[^\W\d_]", line) or not alone:
            continue
        for step in (-1, 1):
            near = index + step
            while 0 <= near < len(out) and not out[near]:
                near += step
            if 0 <= near < len(out) and not out[near].startswith("#"):
                dropped.update(range(min(index, near) + 1, max(index, near)))
                break
    return [line for index, line in enumerate(out) if index not in dropped]


def _marked(pages: list[list[Line]], levels: dict[tuple[int, int], int]) -> list[list[str]]:
    """Each page's lines, a heading line as ``## heading`` between empty lines."""
    out = []
    for number, lines in enumerate(pages):
        texts: list[str] = []
        for index, line in enumerate(lines):
            level = levels.get((number, index))
            texts += ["", "#" * level + " " + line.text, ""] if level else [line.text]
        out.append(texts)
    return out


def _place_headings(lines: list[str], headings: list[tuple[int, str]]) -> list[str]:
    """Put each ``(level, title)`` heading where its title stands as a line of the page
    (that line becomes the heading), else after the heading before it (at first, at the
    page's top)."""
    lines = list(lines)
    cursor = 0
    for level, title in headings:
        marker = ["", "#" * level + " " + title, ""]
        wanted = norm(title)
        found = next((i for i in range(cursor, len(lines)) if norm(lines[i]) == wanted), None)
        if found is not None:
            lines[found:found + 1] = marker
            cursor = found + len(marker)
        else:
            lines[cursor:cursor] = marker
            cursor += len(marker)
    return lines


def read_pdf(data: bytes, source: str, max_pages: int | None = None) -> Extracted:
    """The PDF's text layer with ``#`` headings; a PDF of more than ``max_pages`` pages is
    :class:`Unreadable` (the ``max_document_pages`` setting) before any page is read."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("an encrypted PDF (it needs a password)")
        count = len(reader.pages)
        metadata = reader.metadata
        meta_title = " ".join(normalise(str(metadata.title or "")).split()) if metadata else ""
    except (Unreadable, MemoryError):
        raise
    except (DependencyError, FileNotDecryptedError) as error:
        raise Unreadable(f"an encrypted PDF that cannot be opened ({brief(error)})") from None
    except Exception as error:  # noqa: BLE001 - a damaged file is skipped, whatever pypdf raises
        raise Unreadable(f"not a readable PDF ({brief(error)})") from None
    if not count:
        raise Unreadable("a PDF without pages (damaged?)")
    if max_pages is not None and count > max_pages:
        raise Unreadable(f"{count} pages, over the max_document_pages setting ({max_pages})")
    pages: list[list[Line]] = []
    failed = 0
    for number in range(count):
        try:
            pages.append(page_lines(reader.pages[number]))
        except MemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - one damaged page is left out, not the file
            failed += 1
            log.warning("%s: page %d cannot be read (%s); it is left out", source, number + 1, brief(error))
            pages.append([])
    if failed == count:
        raise Unreadable("not a readable PDF (no page could be read)")
    if not any(line.text for page in pages for line in page):
        raise NoTextLayer(meta_title, count)
    pages = rejoin_hyphens(drop_running(pages))

    outline = _outline(reader)
    levels: dict[tuple[int, int], int] = {}
    font_title = ""
    if not outline:
        pages, levels, font_title = find_headings(pages)
    title = (meta_title or (outline[0][2] if outline else "") or font_title
             or PurePosixPath(source).stem or source)
    by_page: dict[int, list[tuple[int, str]]] = {}
    for index, (page, depth, heading) in enumerate(outline):
        if index == 0 and page == 0 and norm(heading) == norm(title):
            continue  # the document's title, not a heading again
        if page < count:  # outline depth 0 is a top-level section: "##" ("#" is the title)
            by_page.setdefault(page, []).append((min(depth + 2, 6), heading))

    text = title_line(title) + "\n\n"
    starts = []
    for number, page in enumerate(_marked(pages, levels)):
        starts.append(0 if number == 0 else len(text))
        lines = _page_lines(page)
        if number == 0:
            first = next((i for i, line in enumerate(lines) if line), 0)
            if lines[first:] and norm(lines[first]) == norm(title):
                del lines[first]  # the title printed on page 1: it is the "#" line already
        body = "\n".join(_place_headings(lines, by_page.get(number, [])))
        text += re.sub(r"\n{3,}", "\n\n", body).strip("\n") + "\n\n"
    return Extracted(text, tuple(starts))
