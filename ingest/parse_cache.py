"""Each file's parse kept by its content, so a changed corpus parses only the changed files.

Only embedding used to be incremental: with two hostile files in the corpus, uploading one
sentence re-parsed everything (87 s). A parse is a pure function of the file's bytes, its
name (a PDF without a title is titled by it), the readers' code and library versions, and
the limits it ran under (whether OCR was on, and which Tesseract, included), so its outcome (the text, or why the file cannot be read) is
stored under a digest of all of these, in ``<home>/parse-cache``. A reader changed by an
upgrade changes :func:`parser_version`, and every file is parsed again.

Entries are small JSON files written atomically; an unreadable or damaged entry is a miss.
Entries not used for :data:`KEEP_DAYS` are removed by :meth:`ParseCache.prune`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import time
from pathlib import Path

from .formats import Extracted

log = logging.getLogger(__name__)
KEEP_DAYS = 30


@functools.cache
def parser_version() -> str:
    """A digest of the readers' own code and the parsing libraries' versions."""
    from importlib import metadata

    from . import formats, ocr, pdf, pdf_layout, pdf_text, word

    digest = hashlib.sha256()
    for module in (formats, pdf, pdf_layout, pdf_text, word, ocr):
        digest.update(Path(module.__file__).read_bytes())
    for package in ("pypdf", "python-docx", "lxml", "pillow"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=none".encode())
    return digest.hexdigest()[:16]


class ParseCache:
    """Parsed documents (or why a file cannot be read) by file digest, name and limits."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    @classmethod
    def of(cls, settings) -> ParseCache:
        """The cache of these settings' data directory: ``<home>/parse-cache``."""
        return cls(Path(settings.home) / "parse-cache")

    def _path(self, sha256: str, source: str, limits_key: str) -> Path:
        key = hashlib.sha256(f"{sha256}\t{source}\t{limits_key}\t{parser_version()}".encode(
            "utf-8", "surrogateescape")).hexdigest()
        return self.folder / key[:2] / f"{key}.json"

    def get(self, sha256: str, source: str, limits_key: str) -> Extracted | str | None:
        """The cached text, the reason the file cannot be read (a str), or None (a miss)."""
        path = self._path(sha256, source, limits_key)
        try:
            entry = json.loads(path.read_text("utf-8"))
            if "unreadable" in entry:
                outcome: Extracted | str = str(entry["unreadable"])
            else:
                starts = entry.get("page_starts")
                outcome = Extracted(str(entry["text"]), None if starts is None else tuple(int(s) for s in starts),
                                    ocr=entry.get("ocr") is True)
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used: kept by prune
        self.hits += 1
        return outcome

    def put(self, sha256: str, source: str, limits_key: str, outcome: Extracted | str) -> None:
        """Store an outcome; a cache that cannot be written only costs the next parse."""
        path = self._path(sha256, source, limits_key)
        entry = ({"unreadable": outcome} if isinstance(outcome, str)
                 else {"text": outcome.text, "page_starts": None if outcome.page_starts is None
                       else list(outcome.page_starts), **({"ocr": True} if outcome.ocr else {})})
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(entry, ensure_ascii=False), "utf-8", errors="surrogatepass")
            os.replace(temporary, path)
        except (OSError, ValueError) as error:
            log.debug("parse cache not written (%s)", error)
            with contextlib.suppress(OSError):
                temporary.unlink()

    def prune(self, keep_days: float = KEEP_DAYS) -> int:
        """Remove entries unused for ``keep_days``; returns how many."""
        cutoff = time.time() - keep_days * 86400
        removed = 0
        for path in self.folder.glob("*/*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed
