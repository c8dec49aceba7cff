"""Parse one file's bytes into text: bounded in a child process for the formats a hostile
file can make run away (:mod:`ingest.bounded`), kept in the parse cache when one is given."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import PurePosixPath

from .bounded import Cancelled, Limits, parse_within, read_bounded
from .formats import Extracted, Unreadable
from .ocr import IMAGE_SUFFIXES
from .parse_cache import ParseCache

log = logging.getLogger(__name__)

# Parsed in a bounded child process when the scan has limits: the formats whose parsers
# a small hostile file can make run for minutes or unpack to gigabytes.
BOUNDED = {".pdf", ".docx", *IMAGE_SUFFIXES}


def parse_checked(settings, source: str, data: bytes, cancelled: threading.Event | None = None) -> Extracted | str:
    """One file's text as an ingest with these settings reads it (bounded, and kept in
    the parse cache for that ingest), or the reason it cannot be read: what an upload
    checks before the file is saved."""
    return parsed(data, hashlib.sha256(data).hexdigest(), source, Limits.of(settings), ParseCache.of(settings),
                   cancelled)


def parsed(data: bytes, digest: str, source: str, limits: Limits | None, cache: ParseCache | None,
            cancelled: threading.Event | None = None) -> Extracted | str:
    """The file's text or why it cannot be read, from the cache when it was parsed before."""
    limits_key = limits.key() if limits else "unbounded"
    outcome = cache.get(digest, source, limits_key) if cache is not None else None
    if outcome is None:
        outcome = _extract(PurePosixPath(source).suffix.lower(), data, source, limits, cancelled)
        if cache is not None:
            cache.put(digest, source, limits_key, outcome)
    return outcome


def _extract(suffix: str, data: bytes, source: str, limits: Limits | None,
             cancelled: threading.Event | None) -> Extracted | str:
    """The file's text, or the reason it cannot be read (a str)."""
    try:
        if limits is not None and suffix in BOUNDED:
            return read_bounded(suffix, data, source, limits, cancelled)
        return parse_within(suffix, data, source, limits or Limits())
    except Unreadable as error:
        return str(error)
    except Cancelled:
        raise
    except Exception as error:  # a parser's bug on a hostile file skips that file only
        log.debug("reading %s failed", source, exc_info=True)
        return f"cannot read it ({type(error).__name__})"
