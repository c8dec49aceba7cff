"""Find and read the documents of a corpus folder."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

log = logging.getLogger(__name__)

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}


@dataclass(frozen=True)
class RawDocument:
    source: str  # path relative to the corpus folder, with forward slashes
    text: str
    sha256: str


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not read, and why."""

    source: str
    reason: str


class CorpusError(ValueError):
    """The corpus folder cannot be ingested (missing, empty, nothing readable)."""


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


def _files(corpus: Path) -> list[Path]:
    found = []
    # followlinks=False: a symlink loop cannot make the walk run forever.
    for root, dirs, names in os.walk(corpus, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if path.suffix.lower() in SUFFIXES and not name.startswith(".") and path.is_file():
                found.append(path)
    return found


def read_corpus(corpus: Path, max_bytes: int | None = None) -> list[RawDocument]:
    """Read every supported document; see :func:`scan_corpus` for what is skipped."""
    return scan_corpus(corpus, max_bytes)[0]


def scan_corpus(corpus: Path, max_bytes: int | None = None) -> tuple[list[RawDocument], list[Skipped]]:
    """Read every supported document; unreadable, undecodable, binary or too large files
    (over ``max_bytes``) are skipped with a warning and returned with the reason.

    Identical documents (same bytes) are read once; the later copies count as skipped.
    """
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {corpus} does not exist; put .txt, .md or .html files there")
    documents: list[RawDocument] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for path in _files(corpus):
        source = path.relative_to(corpus).as_posix()
        document = _read(path, source, max_bytes, seen)
        if isinstance(document, Skipped):
            log.warning("skipping %s: %s", source, document.reason)
            skipped.append(document)
        else:
            documents.append(document)
    if not documents:
        raise CorpusError(
            f"no readable documents in {corpus}; put UTF-8 .txt, .md or .html files there"
        )
    return documents, skipped


def _read(path: Path, source: str, max_bytes: int | None, seen: dict[str, str]) -> RawDocument | Skipped:
    """One document, or why it is skipped; ``seen`` maps the digests read so far to their file."""
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            return Skipped(source, f"{size / 1e6:.1f} MB is over the max_document_mb setting "
                                   f"({max_bytes / 1e6:.1f} MB)")
        log.info("reading %s (%.1f MB)", source, size / 1e6)
        data = path.read_bytes()
    except OSError as error:
        return Skipped(source, f"cannot read it ({(error.strerror or type(error).__name__).lower()})")
    if b"\x00" in data:
        return Skipped(source, "binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Skipped(source, f"not UTF-8 text ({error.reason})")
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen:
        return Skipped(source, f"same content as {seen[digest]}")
    seen[digest] = source
    if path.suffix.lower() in {".html", ".htm"}:
        text = html_to_text(text)
    return RawDocument(source, text, digest)
