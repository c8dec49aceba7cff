"""Turn a corpus file's bytes into text the cleaner reads (the reader of each suffix:
``READERS`` in :mod:`ingest.readers`).

Every reader takes the file's bytes and its source name and returns :class:`Extracted`:
plain text with markdown-style ``#`` headings (the cleaner honours them), and for paged
formats the offset in that text where each page begins. A file that cannot be read
raises :class:`Unreadable` with the reason, which the corpus scan reports as skipped.

* ``.txt``, ``.md``, ``.markdown``: UTF-8 text as it is.
* ``.html``, ``.htm``: blocks become paragraphs, ``<hN>`` headings ``#`` lines.
* ``.pdf`` (:mod:`ingest.pdf`, pypdf): the text layer page by page; headings from the
  document outline, else from the fonts. A PDF without a text layer (a scan) is skipped,
  unless the ``ocr`` setting is on: then it is read by OCR (:mod:`ingest.ocr`), as are
  ``.png``, ``.jpg``, ``.jpeg``, ``.tif`` and ``.tiff`` images (not corpus files without it).
* ``.docx`` (:mod:`ingest.word`, python-docx): paragraphs, headings and lists by their
  style, table cells.

A binary format's first line is always a ``# title`` line: the PDF's metadata title,
else its first outline entry, else a larger line atop page 1, else the file's name
(``.docx``: the paragraph styled "Title", else the document property, else the file's
name).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import ClassVar


class Unreadable(ValueError):
    """The file cannot be read as its suffix says; the message is the reason."""


@dataclass(frozen=True)
class Extracted:
    text: str
    page_starts: tuple[int, ...] | None = None  # offset in ``text`` where page 1, 2, ... begins
    ocr: bool = False  # the text was read by OCR from a scan (:mod:`ingest.ocr`)


Reader = Callable[[bytes, str], Extracted]


def brief(error: BaseException) -> str:
    """An exception in a few words, for a skip reason or a warning."""
    message = " ".join(str(error).split())[:120]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def norm(text: str) -> str:
    """Text compared as a reader sees it: whitespace collapsed, case folded."""
    return " ".join(text.split()).casefold()


def title_line(title: str) -> str:
    """The first line of a binary format's text: the document's title as a ``#`` heading."""
    return "# " + " ".join(title.split())


# -- text and HTML -------------------------------------------------------------------------
def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise Unreadable("binary content (NUL bytes) in a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"not UTF-8 text ({error.reason})") from None


def read_text(data: bytes, source: str) -> Extracted:
    return Extracted(_decode(data))


class _HtmlText(HTMLParser):
    """HTML to plain text: blocks become paragraphs, <hN> become '#'-marked headings."""

    BLOCKS: ClassVar[frozenset[str]] = frozenset({"p", "div", "li", "ul", "ol", "table", "tr", "section", "article", "br",
              "blockquote", "pre", "dd", "dt", "figure", "figcaption"})
    SKIP: ClassVar[frozenset[str]] = frozenset({"script", "style", "nav", "header", "footer", "noscript",
                                                "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n* " if tag == "li" else "\n\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def read_html(data: bytes, source: str) -> Extracted:
    return Extracted(html_to_text(_decode(data)))
