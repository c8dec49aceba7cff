"""Find and read the documents of a corpus folder."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .formats import Reader, Unreadable, html_to_text, read_html, read_text
from .pdf import read_pdf
from .word import read_docx

log = logging.getLogger(__name__)

__all__ = ["READERS", "SUFFIXES", "CorpusError", "CorpusFingerprint", "RawDocument", "Skipped",
           "fingerprint_corpus", "html_to_text", "read_corpus", "scan_corpus"]
# The reader of each file suffix; a file with another suffix is not part of the corpus.
READERS: dict[str, Reader] = {
    ".txt": read_text, ".md": read_text, ".markdown": read_text,
    ".html": read_html, ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
SUFFIXES = set(READERS)
KINDS = ".txt, .md, .html, .pdf or .docx"


@dataclass(frozen=True)
class RawDocument:
    source: str  # path relative to the corpus folder, with forward slashes
    text: str
    sha256: str  # of the file's bytes
    page_starts: tuple[int, ...] | None = None  # offset in ``text`` of each page (PDF), else None


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not read, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class CorpusFingerprint:
    """What a corpus folder holds, without parsing it: one digest of every candidate
    file's name and bytes, and the files that could not even be read (or are too large).

    Reading a document (HTML, PDF, Word) is a pure function of its name and bytes, so an
    index built from a folder with the same ``digest`` came from the same documents.
    """

    digest: str
    files: tuple[str, ...]  # every candidate file, in corpus order
    skipped: tuple[Skipped, ...]  # unreadable or too large, in corpus order
    digests: dict[str, str]  # source -> SHA-256 of its bytes, for each file hashed


class CorpusError(ValueError):
    """The corpus folder cannot be ingested (missing, empty, nothing readable)."""


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


def _require_folder(corpus: Path) -> None:
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {corpus} does not exist; put {KINDS} files there")


def fingerprint_corpus(corpus: Path, max_bytes: int | None = None) -> CorpusFingerprint:
    """Hash every candidate file's bytes without parsing any (a second or so for 140 MB):
    what an ingest compares with the served index before it reads anything."""
    corpus = Path(corpus)
    _require_folder(corpus)
    digest = hashlib.sha256()
    files: list[str] = []
    skipped: list[Skipped] = []
    digests: dict[str, str] = {}
    for path in _files(corpus):
        source = path.relative_to(corpus).as_posix()
        files.append(source)
        data = _bytes(path, source, max_bytes)
        if isinstance(data, Skipped):
            skipped.append(data)
            continue
        digests[source] = hashlib.sha256(data).hexdigest()
        digest.update(f"{source}\t{digests[source]}\n".encode("utf-8", "surrogateescape"))
    return CorpusFingerprint(digest.hexdigest(), tuple(files), tuple(skipped), digests)


def read_corpus(corpus: Path, max_bytes: int | None = None) -> list[RawDocument]:
    """Read every supported document; see :func:`scan_corpus` for what is skipped."""
    return scan_corpus(corpus, max_bytes)[0]


def scan_corpus(corpus: Path, max_bytes: int | None = None) -> tuple[list[RawDocument], list[Skipped]]:
    """Read every supported document; unreadable, undecodable, binary or too large files
    (over ``max_bytes``), and PDF or Word files that cannot be parsed (or a PDF without a
    text layer), are skipped with a warning and returned with the reason.

    Identical documents (same bytes) are read once; the later copies count as skipped.
    """
    corpus = Path(corpus)
    _require_folder(corpus)
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
            f"no readable documents in {corpus}; put UTF-8 .txt, .md or .html files, "
            "or .pdf (with a text layer) or .docx files there"
        )
    return documents, skipped


def _bytes(path: Path, source: str, max_bytes: int | None) -> bytes | Skipped:
    """A file's bytes, or why it is skipped (too large, cannot be read)."""
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            return Skipped(source, f"{size / 1e6:.1f} MB is over the max_document_mb setting "
                                   f"({max_bytes / 1e6:.1f} MB)")
        log.info("reading %s (%.1f MB)", source, size / 1e6)
        return path.read_bytes()
    except OSError as error:
        return Skipped(source, f"cannot read it ({(error.strerror or type(error).__name__).lower()})")


def _read(path: Path, source: str, max_bytes: int | None, seen: dict[str, str]) -> RawDocument | Skipped:
    """One document, or why it is skipped; ``seen`` maps the digests read so far to their file."""
    data = _bytes(path, source, max_bytes)
    if isinstance(data, Skipped):
        return data
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen:  # only files read well are seen: the same bytes would read the same
        return Skipped(source, f"same content as {seen[digest]}")
    try:
        extracted = READERS[path.suffix.lower()](data, source)
    except Unreadable as error:
        return Skipped(source, str(error))
    except Exception as error:  # a parser's bug on a hostile file skips that file only
        log.debug("reading %s failed", source, exc_info=True)
        return Skipped(source, f"cannot read it ({type(error).__name__})")
    seen[digest] = source
    return RawDocument(source, extracted.text, digest, extracted.page_starts)
