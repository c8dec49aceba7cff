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
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from ingest import (
    KINDS,
    READERS,
    Cancelled,
    CorpusError,
    IndexProblem,
    ingest,
    parse_checked,
    pending,
)

from .guard import is_loopback

log = logging.getLogger(__name__)

MAX_NAME = 200
MAX_NAME_BYTES = 255  # NAME_MAX of ext4, xfs, btrfs, APFS
# Format characters (zero-width space and joiners, bidi controls such as U+202E), line and
# paragraph separators (U+2028, U+2029) and other controls (U+0085): invisible in a name.
_INVISIBLE = {"Cf", "Zl", "Zp", "Cc", "Co", "Cn", "Cs"}
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

    Names are limited by bytes (what a file system allows), and a name that could pass
    for another one is refused: invisible or bidi-control characters, line separators,
    look-alike dots and slashes, or a form that is not NFC (a citation must never show a
    planted document under a trusted name).

    >>> checked_name("notes.PDF")
    'notes.PDF'
    >>> checked_name("../etc/passwd.txt")
    Traceback (most recent call last):
    app.upload.UploadRefused: a file name without folders, please ('../etc/passwd.txt')
    >>> checked_name("calcinosis\u200b_cutis.txt")
    Traceback (most recent call last):
    app.upload.UploadRefused: 'calcinosis\u200b_cutis.txt' has an invisible, bidi-control or separator character (U+200B) in its name
    """
    if not isinstance(name, str) or not name.strip():
        raise UploadRefused("the file has no name")
    if len(name) > MAX_NAME:
        raise UploadRefused(f"the file name is over {MAX_NAME} characters")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise UploadRefused(f"the file name is over {MAX_NAME_BYTES} bytes in UTF-8")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UploadRefused(f"a file name without folders, please ({name!r})")
    if name.startswith(".") or re.search(r"[\x00-\x1f\x7f]", name):
        raise UploadRefused(f"{name!r} is a hidden file or has control characters in its name")
    odd = next((c for c in name if unicodedata.category(c) in _INVISIBLE), None)
    if odd is not None:
        raise UploadRefused(f"{name!r} has an invisible, bidi-control or separator character "
                            f"(U+{ord(odd):04X}) in its name")
    if unicodedata.normalize("NFC", name) != name:
        raise UploadRefused(f"{name!r} is not in Unicode normal form C; rename it (its letters are "
                            "composed of parts)")
    look_alike = next((c for c in name if c not in "./\\" and unicodedata.normalize("NFKC", c) in ".\\/"), None)
    if look_alike is not None:
        raise UploadRefused(f"{name!r} has a character that looks like a dot or slash (U+{ord(look_alike):04X})")
    suffix = Path(name).suffix.lower()
    if suffix not in READERS:
        raise UploadRefused(f"{name!r}: only {KINDS} files can be added")
    return name


def _same_name(corpus: Path, name: str) -> str | None:
    """Another file of the corpus folder whose name differs from ``name`` only in case
    (or compatibility form), or None."""
    key = unicodedata.normalize("NFKC", name).casefold()
    try:
        for entry in os.scandir(corpus):
            other = entry.name
            if other != name and unicodedata.normalize("NFKC", other).casefold() == key:
                return other
    except OSError:
        return None
    return None


def check_content(name: str, data: bytes, settings: Settings, cancelled: threading.Event | None = None) -> None:
    """The CLI's limits on one file's bytes: size, then that its reader can read it
    (a PDF or Word file in a bounded child process, as the ingest does; the parse is
    kept in the parse cache, so the ingest that follows does not parse it again)."""
    limit = int(settings.max_document_mb * 1_000_000)
    if len(data) > limit:
        raise UploadRefused(f"{name}: {len(data) / 1e6:.1f} MB is over the max_document_mb setting "
                            f"({settings.max_document_mb:g} MB)", 413)
    if not data:
        raise UploadRefused(f"{name}: the file is empty")
    try:
        outcome = parse_checked(settings, name, data, cancelled)
    except Cancelled:
        log.warning("upload of %s stopped while it was parsed: its client went away", name)
        raise UploadRefused(f"{name} was not added: the upload was cancelled", 499) from None
    if isinstance(outcome, str):
        raise UploadRefused(f"{name}: {outcome}")
    if not re.search(r"[A-Za-z]{2,}", outcome.text):
        raise UploadRefused(f"{name}: no text in it")


_indexing: dict[str, dict] = {}  # upload being indexed -> its latest ingest progress


def upload_progress() -> dict[str, dict]:
    """How far each upload's ingest is, by file name: ``ingest.progress.Progress.to_dict()``
    ({"stage", "done", "total", "unit", "rate", "seconds_left", "text"}; text such as
    "Embedding 120 of 471 chunks, 35/s, 10 s left"), for the page to poll while it waits."""
    return dict(_indexing)


def add_document(settings: Settings, name: object, data: bytes,
                 cancelled: threading.Event | None = None) -> Uploaded:
    """Check ``data``, save it as ``name`` in the corpus folder and ingest; UploadRefused
    (with an HTTP status) when it is not taken. The index the server answers from changes
    only when the ingest succeeded. The file is marked pending (:mod:`ingest.pending`)
    until this returns, so a server killed during the ingest does not index it at its
    next start. ``cancelled`` (set when the client went away) stops the parse and the
    ingest and takes the file out again."""
    refusal = upload_refusal(settings)
    if refusal:
        raise UploadRefused(refusal, 403)
    name = checked_name(name)
    check_content(name, data, settings, cancelled)
    with _lock:
        return _save_and_ingest(settings, Path(settings.corpus_dir), name, data, cancelled)


def _save_and_ingest(settings: Settings, corpus: Path, name: str, data: bytes,
                     cancelled: threading.Event | None) -> Uploaded:
    target = corpus / name
    other = _same_name(corpus, name)
    if other is not None:
        raise UploadRefused(f"{other} is already in the corpus, a name that differs from {name!r} only "
                            "in case or form; rename the file", 409)
    try:
        exists = target.exists()
    except OSError as error:  # a name the file system refuses (too long, say)
        raise UploadRefused(f"the corpus folder cannot take that name ({(error.strerror or 'error').lower()})",
                            422) from None
    if exists:
        if target.is_file() and hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest():
            return Uploaded(name, 0, 0, "the same file is already in the corpus", already_there=True)
        raise UploadRefused(f"a different document named {name} is already in the corpus; rename the file", 409)
    try:
        marker = pending.begin(settings.home, corpus, name, data)
    except OSError as error:
        raise UploadRefused(f"the data folder cannot take the upload ({(error.strerror or 'error').lower()})",
                            503) from None
    try:
        _write(corpus, target, data)
        try:
            report = ingest(settings, cancelled=cancelled,
                            progress=lambda step: _indexing.__setitem__(name, step.to_dict()))
        except Cancelled:
            target.unlink(missing_ok=True)
            log.warning("upload of %s stopped: its client went away", name)
            raise UploadRefused(f"{name} was not added: the upload was cancelled", 499) from None
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
    finally:
        _indexing.pop(name, None)
        pending.finish(marker)
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
