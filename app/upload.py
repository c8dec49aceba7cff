"""Documents added from the web chat or ``POST /api/upload``: checked, saved into the corpus
folder, and ingested incrementally (only the new document is embedded).

The same limits as the CLI apply (type, size, decoding, a readable PDF or Word file); a
refused file is never written. A file is written under a hidden temporary name and renamed
into place, so a scan never sees half of it; if the ingest that follows fails, the file is
removed again and the previous index stays served.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from ingest import KINDS, READERS, CorpusError, IndexProblem, Unreadable, ingest

from .guard import is_loopback

log = logging.getLogger(__name__)

MAX_NAME = 200
_lock = threading.Lock()  # one upload's save-and-ingest at a time


class UploadRefused(ValueError):
    """The file is not taken; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Uploaded:
    source: str
    sections: int
    chunks: int
    summary: str  # the ingest's one-line report
    already_there: bool = False


def upload_refusal(settings: Settings) -> str | None:
    """Why uploads are off for these settings, or None when they are on.

    >>> from core.settings import Settings
    >>> upload_refusal(Settings()) is None, upload_refusal(Settings(read_only=True))
    (True, 'uploads are off on this server (the read_only setting)')
    >>> upload_refusal(Settings(host="0.0.0.0"))
    'uploads are off: the server is reachable from the network without an api_token'
    """
    if settings.read_only:
        return "uploads are off on this server (the read_only setting)"
    if not is_loopback(settings.host) and not settings.api_token:
        return "uploads are off: the server is reachable from the network without an api_token"
    return None


def checked_name(name: object) -> str:
    """A plain file name of a supported type, or UploadRefused saying what is wrong.

    >>> checked_name("notes.PDF")
    'notes.PDF'
    >>> checked_name("../etc/passwd.txt")
    Traceback (most recent call last):
    app.upload.UploadRefused: a file name without folders, please ('../etc/passwd.txt')
    """
    if not isinstance(name, str) or not name.strip():
        raise UploadRefused("the file has no name")
    if len(name) > MAX_NAME:
        raise UploadRefused(f"the file name is over {MAX_NAME} characters")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UploadRefused(f"a file name without folders, please ({name!r})")
    if name.startswith(".") or re.search(r"[\x00-\x1f\x7f]", name):
        raise UploadRefused(f"{name!r} is a hidden file or has control characters in its name")
    suffix = Path(name).suffix.lower()
    if suffix not in READERS:
        raise UploadRefused(f"{name!r}: only {KINDS} files can be added")
    return name


def check_content(name: str, data: bytes, settings: Settings) -> None:
    """The CLI's limits on one file's bytes: size, then that its reader can read it."""
    limit = int(settings.max_document_mb * 1_000_000)
    if len(data) > limit:
        raise UploadRefused(f"{name}: {len(data) / 1e6:.1f} MB is over the max_document_mb setting "
                            f"({settings.max_document_mb:g} MB)", 413)
    if not data:
        raise UploadRefused(f"{name}: the file is empty")
    try:
        extracted = READERS[Path(name).suffix.lower()](data, name)
    except Unreadable as problem:
        raise UploadRefused(f"{name}: {problem}") from None
    if not re.search(r"[A-Za-z]{2,}", extracted.text):
        raise UploadRefused(f"{name}: no text in it")


def add_document(settings: Settings, name: object, data: bytes) -> Uploaded:
    """Check ``data``, save it as ``name`` in the corpus folder and ingest; UploadRefused
    (with an HTTP status) when it is not taken. The index the server answers from changes
    only when the ingest succeeded."""
    refusal = upload_refusal(settings)
    if refusal:
        raise UploadRefused(refusal, 403)
    name = checked_name(name)
    check_content(name, data, settings)
    corpus = Path(settings.corpus_dir)
    target = corpus / name
    with _lock:
        if target.exists():
            if target.is_file() and hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest():
                return Uploaded(name, 0, 0, "the same file is already in the corpus", already_there=True)
            raise UploadRefused(f"a different document named {name} is already in the corpus; rename the file",
                                409)
        _write(corpus, target, data)
        try:
            report = ingest(settings)
        except (CorpusError, IndexProblem, OSError, ValueError) as error:
            target.unlink(missing_ok=True)
            log.warning("upload of %s not ingested: %s", name, error)
            raise UploadRefused(f"{name} could not be added to the index ({error})", 422) from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    counts = next((f for f in report.files if f.source == name), None)
    if counts is None or counts.note:
        why = counts.note if counts else next((s.reason for s in report.skipped if s.source == name), "skipped")
        target.unlink(missing_ok=True)
        ingest(settings)  # the index without it again
        raise UploadRefused(f"{name} gave the index no text ({why})")
    log.info("uploaded %s: %s", name, report.summary())
    return Uploaded(name, counts.sections, counts.chunks, report.summary())


def _write(corpus: Path, target: Path, data: bytes) -> None:
    """Write under a hidden temporary name (scans skip dot files), then rename into place."""
    try:
        corpus.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=corpus, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
    except OSError as error:
        raise UploadRefused(f"the corpus folder cannot take the file ({(error.strerror or 'error').lower()})",
                            503) from None
