"""Uploads that have not finished: a file saved into the corpus for its ingest is marked
pending until the upload is confirmed, so one whose server was killed during its ingest
(``kill -9``) is not indexed at the next start as if the client had been told it was added.

:func:`begin` writes a marker (``<home>/pending-uploads``) naming the file, its SHA-256 and
the process that saves it, before the file is written; :func:`finish` removes it when the
upload has been answered, either way. :func:`discard_unfinished`, which every ingest runs
first, removes the file of each marker whose process is gone (when its bytes are still the
uploaded ones) and warns.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
FOLDER = "pending-uploads"


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), or None when there is none:
    with the pid it names one process, never a later one that reuses the number."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def begin(home: Path, corpus: Path, source: str, data: bytes) -> Path:
    """Mark ``source`` in ``corpus`` pending; returns the marker for :func:`finish`."""
    folder = Path(home) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    corpus_dir = str(Path(corpus).resolve())
    key = hashlib.sha256(f"{corpus_dir}\t{source}".encode()).hexdigest()[:32]
    marker = folder / f"{key}.json"
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({"corpus": corpus_dir, "source": source, "sha256": hashlib.sha256(data).hexdigest(),
                                     "pid": os.getpid(), "started": _started(os.getpid())}), "utf-8")
    os.replace(temporary, marker)
    return marker


def finish(marker: Path) -> None:
    with contextlib.suppress(OSError):
        marker.unlink()


def discard_unfinished(home: Path, corpus: Path) -> list[str]:
    """Remove from ``corpus`` every file whose upload did not finish (its process is gone);
    returns their names. A marker of a live upload is left alone."""
    folder = Path(home) / FOLDER
    corpus_dir = str(Path(corpus).resolve())
    discarded = []
    for marker in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            entry = json.loads(marker.read_text("utf-8"))
            if entry["corpus"] != corpus_dir:
                continue
            if entry.get("started") is not None and _started(int(entry["pid"])) == entry["started"]:
                continue  # still being uploaded by a running process
            source, digest = str(entry["source"]), str(entry["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            finish(marker)  # unreadable: nothing can be told from it
            continue
        path = Path(corpus_dir) / source
        try:
            if path.is_file() and not path.is_symlink() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
                path.unlink()
                discarded.append(source)
                log.warning("discarded %s: its upload did not finish (the server stopped during its ingest); "
                            "add it again", source)
        except OSError as error:
            log.warning("could not discard the unfinished upload %s (%s)", source, error)
            continue
        finish(marker)
    return discarded
