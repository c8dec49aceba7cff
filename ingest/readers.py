"""Find and read the documents of a corpus folder."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .bounded import Cancelled, Limits
from .formats import Extracted, Reader, html_to_text, read_html, read_text
from .ocr import IMAGE_SUFFIXES
from .parse_cache import ParseCache
from .parsing import BOUNDED, parse_checked, parsed
from .pdf import read_pdf
from .progress import Reporter
from .word import read_docx

log = logging.getLogger(__name__)

__all__ = ["READERS", "SUFFIXES", "CorpusError", "CorpusFingerprint", "RawDocument", "Skipped",
           "fingerprint_corpus", "html_to_text", "parse_checked", "read_corpus", "scan_corpus"]
# The reader of each file suffix; a file with another suffix is not part of the corpus.
READERS: dict[str, Reader] = {
    ".txt": read_text, ".md": read_text, ".markdown": read_text,
    ".html": read_html, ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
SUFFIXES = set(READERS)  # and, with the ocr setting on, IMAGE_SUFFIXES (read by OCR)
KINDS = ".txt, .md, .html, .pdf or .docx"


@dataclass(frozen=True)
class RawDocument:
    source: str  # path relative to the corpus folder, with forward slashes
    text: str
    sha256: str  # of the file's bytes
    page_starts: tuple[int, ...] | None = None  # offset in ``text`` of each page (PDF), else None
    ocr: bool = False  # its text was read by OCR from a scan (the ocr setting)


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


def _escaped(name: str) -> str:
    """A file name that is not UTF-8, printable: its undecodable bytes as ``\\xff``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _files(corpus: Path, outside_links: bool = False, images: bool = False) -> tuple[list[Path], list[Skipped]]:
    """The candidate files of the corpus folder in corpus order (image files too when
    ``images``: the ocr setting reads them by OCR), and those skipped for
    their name or place: a name that is not UTF-8 (from an unpacked archive, say) cannot
    be stored or cited; a symbolic link that leads out of the folder is not followed
    unless ``outside_links`` (the ``follow_outside_links`` setting)."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    root_dir = corpus.resolve()
    # followlinks=False: a symlink loop cannot make the walk run forever.
    for root, dirs, names in os.walk(corpus, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            suffix = path.suffix.lower()
            if (suffix not in SUFFIXES and not (images and suffix in IMAGE_SUFFIXES)) or name.startswith("."):
                continue
            source = path.relative_to(corpus).as_posix()
            try:
                source.encode("utf-8")
            except UnicodeEncodeError:
                skipped.append(Skipped(_escaped(source), "its name is not valid UTF-8; rename the file "
                                                         "to include it"))
                continue
            if path.is_symlink() and not outside_links:
                target = path.resolve()
                if not target.is_relative_to(root_dir):
                    skipped.append(Skipped(source, "a symbolic link that leads out of the corpus folder "
                                                   "(set follow_outside_links = true to follow it)"))
                    continue
            if path.is_file():
                found.append(path)
    return found, skipped


def _require_folder(corpus: Path) -> None:
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {corpus} does not exist; put {KINDS} files there")


def fingerprint_corpus(corpus: Path, max_bytes: int | None = None, *,
                       outside_links: bool = False, ocr: bool = False) -> CorpusFingerprint:
    """Hash every candidate file's bytes without parsing any (a second or so for 140 MB):
    what an ingest compares with the served index before it reads anything."""
    corpus = Path(corpus)
    _require_folder(corpus)
    digest = hashlib.sha256()
    files: list[str] = []
    paths, skipped = _files(corpus, outside_links, images=ocr)
    for odd in skipped:  # warned about by the scan that reads the corpus
        digest.update(f"{odd.source}\tskipped\n".encode())
    digests: dict[str, str] = {}
    for path in paths:
        source = path.relative_to(corpus).as_posix()
        files.append(source)
        data = _bytes(path, source, max_bytes)
        if isinstance(data, Skipped):
            skipped.append(data)
            continue
        digests[source] = hashlib.sha256(data).hexdigest()
        digest.update(f"{source}\t{digests[source]}\n".encode())
    return CorpusFingerprint(digest.hexdigest(), tuple(files), tuple(skipped), digests)


def read_corpus(corpus: Path, max_bytes: int | None = None) -> list[RawDocument]:
    """Read every supported document; see :func:`scan_corpus` for what is skipped."""
    return scan_corpus(corpus, max_bytes)[0]


def scan_corpus(corpus: Path, max_bytes: int | None = None, *, limits: Limits | None = None,
                cache: ParseCache | None = None, outside_links: bool = False,
                cancelled: threading.Event | None = None,
                progress: Reporter | None = None) -> tuple[list[RawDocument], list[Skipped]]:
    """Read every supported document; unreadable, undecodable, binary or too large files
    (over ``max_bytes``), PDF or Word files that cannot be parsed (or a PDF without a
    text layer), files whose name is not UTF-8 and links out of the folder (unless
    ``outside_links``) are skipped with a warning and returned with the reason.

    With ``limits``, PDF and Word files are parsed in a child process bounded by them
    (:mod:`ingest.bounded`), and every file's text is bounded by ``limits.max_chars``;
    with ``cache``, a file parsed before (same bytes, name, readers and limits) is not
    parsed again (:mod:`ingest.parse_cache`). ``cancelled`` stops the scan (raising
    :class:`~ingest.bounded.Cancelled`) when another thread sets it.

    Identical documents (same bytes) are read once; the later copies count as skipped.
    """
    corpus = Path(corpus)
    _require_folder(corpus)
    documents: list[RawDocument] = []
    paths, skipped = _files(corpus, outside_links, images=limits is not None and limits.ocr)
    for odd in skipped:
        log.warning("skipping %s: %s", odd.source, odd.reason)
    seen: dict[str, str] = {}
    stage = (progress or Reporter()).stage("reading", len(paths), "files")
    lanes = parse_lanes(limits)
    try:
        with ThreadPoolExecutor(lanes, thread_name_prefix="parse") as pool, _stopping(pool):
            ahead: deque[tuple[Path, str, _Started | None]] = deque()
            started: set[str] = set()
            for path in [*paths, None]:
                if path is not None:
                    source = path.relative_to(corpus).as_posix()
                    ahead.append((path, source, _start(pool, path, source, max_bytes, limits, cache,
                                                       cancelled, started) if lanes > 1 else None))
                while ahead and (path is None or len(ahead) > 2 * lanes):
                    if cancelled is not None and cancelled.is_set():
                        raise Cancelled(str(corpus.name))
                    path_ahead, source, begun = ahead.popleft()
                    document = _read(path_ahead, source, max_bytes, seen, limits, cache, cancelled, begun)
                    if isinstance(document, Skipped):
                        log.warning("skipping %s: %s", source, document.reason)
                        skipped.append(document)
                    else:
                        documents.append(document)
                    stage.advance()
    finally:
        stage.close()
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


@contextmanager
def _stopping(pool: ThreadPoolExecutor) -> Iterator[None]:
    """On an error or a cancel, parses that have not begun never do."""
    try:
        yield
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise


@dataclass(frozen=True)
class _Started:
    """A file whose parse began ahead of its turn: its bytes' digest and the parse."""

    digest: str
    parse: Future


def parse_lanes(limits: Limits | None) -> int:
    """How many files are parsed side by side: one per core, up to four, when parses run
    in bounded children (PDF, Word, OCR: one core each); otherwise one, in this process.
    Twelve papers (369 PDF pages) were read in 19.1 s one at a time on 2 cores."""
    if limits is None:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, 4))


def _start(pool: ThreadPoolExecutor, path: Path, source: str, max_bytes: int | None, limits: Limits | None,
           cache: ParseCache | None, cancelled: threading.Event | None, started: set[str]) -> _Started | None:
    """Begin parsing a file in a bounded child ahead of its turn, unless it is not one
    (text is read in its turn), cannot be read, or has the bytes of a file begun before
    (its turn decides: a copy of a file read well is skipped, one of a failed file is parsed)."""
    if PurePosixPath(source).suffix.lower() not in BOUNDED:
        return None
    data = _bytes(path, source, max_bytes)
    if isinstance(data, Skipped):
        return None
    digest = hashlib.sha256(data).hexdigest()
    if digest in started:
        return None
    started.add(digest)

    def parse() -> Extracted | str:
        if cancelled is not None and cancelled.is_set():  # queued when the scan was cancelled
            raise Cancelled(source)
        return parsed(data, digest, source, limits, cache, cancelled)

    return _Started(digest, pool.submit(parse))


def _read(path: Path, source: str, max_bytes: int | None, seen: dict[str, str], limits: Limits | None = None,
          cache: ParseCache | None = None, cancelled: threading.Event | None = None,
          begun: _Started | None = None) -> RawDocument | Skipped:
    """One document, or why it is skipped; ``seen`` maps the digests read so far to their
    file; ``begun``, its parse when it began ahead of its turn."""
    if begun is not None:
        digest, outcome = begun.digest, begun.parse.result()
        if digest in seen:
            return Skipped(source, f"same content as {seen[digest]}")
    else:
        data = _bytes(path, source, max_bytes)
        if isinstance(data, Skipped):
            return data
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:  # only files read well are seen: the same bytes would read the same
            return Skipped(source, f"same content as {seen[digest]}")
        outcome = parsed(data, digest, source, limits, cache, cancelled)
    if isinstance(outcome, str):
        return Skipped(source, outcome)
    seen[digest] = source
    return RawDocument(source, outcome.text, digest, outcome.page_starts, outcome.ocr)
