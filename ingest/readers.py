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
    """Read every supported document; undecodable, binary or too large files
    (over ``max_bytes``) are skipped with a warning.

    Identical documents (same bytes) are read once.
    """
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {corpus} does not exist; put .txt, .md or .html files there")
    documents: list[RawDocument] = []
    seen: dict[str, str] = {}
    for path in _files(corpus):
        source = path.relative_to(corpus).as_posix()
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            log.warning("skipping %s: %.1f MB is over the max_document_mb setting (%.1f MB)",
                        source, size / 1e6, max_bytes / 1e6)
            continue
        log.info("reading %s (%.1f MB)", source, size / 1e6)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if b"\x00" in data:
            log.warning("skipping %s: binary content (NUL bytes) in a text file", source)
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            log.warning("skipping %s: not UTF-8 text (%s)", source, error.reason)
            continue
        if digest in seen:
            log.warning("skipping %s: same content as %s", source, seen[digest])
            continue
        seen[digest] = source
        if path.suffix.lower() in {".html", ".htm"}:
            text = html_to_text(text)
        documents.append(RawDocument(source, text, digest))
    if not documents:
        raise CorpusError(
            f"no readable documents in {corpus}; put UTF-8 .txt, .md or .html files there"
        )
    return documents
