"""The file storage's layout: versioned folders, the CURRENT pointer, the lock, writing a
version and switching to it, tidying up (reading one back: :mod:`.files`).

Layout of the index folder::

    CURRENT            name of the version being served (replaced atomically)
    .lock              held by the one ingest allowed at a time
    v-<time>-<id>/     one complete version: manifest.json and the files it lists

A new version is written in full into a temporary folder, fsync'd, renamed into
place, and only then is CURRENT switched with ``os.replace``. An ingest killed at
any point therefore leaves CURRENT naming the previous, complete version.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import numpy as np

from core.types import Chunk, Preview, SentenceRow

from ..dense import FaissDense
from ..keywords import KeywordIndex
from ..texts import TABLE as DOCUMENT_TABLE
from ..texts import TEXTS, write_texts
from . import FORMAT, IndexProblem, damaged, new_version_name, reason

log = logging.getLogger(__name__)

# The files of every version besides the vector index's and the keyword index's own.
# Sentence vectors are stored as float16 (half the disk, memory-mapped when served; the
# scores they give differ from float32 by under 1e-3, bench/RESULTS.md shows the answers
# unchanged); chunk vectors stay float32, as the vector index holds them.
TABLES = (TEXTS, DOCUMENT_TABLE, "chunks.jsonl", "previews.jsonl", "sentences.jsonl",
          "chunk_vectors.npy", "sentence_vectors.npy")
SENTENCE_DTYPE = np.float16
# Where each page of a paged document (PDF) begins: source -> offsets. Written by every
# ingest and checked like the rest when the manifest lists it; a version written before
# pages existed has none, and loads with every page unknown.
PAGES = "pages.json"
# The vector index of each manifest ``vector_store`` a version folder may hold.
DENSE = {FaissDense.name: FaissDense}
_VERSION_NAME = re.compile(r"v-[A-Za-z0-9-]{1,100}")
_POINTER_BYTES = 256  # CURRENT holds one version name; anything longer is not one


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def ingest_lock(index_dir: Path, wait: bool = True):
    """One ingest at a time per index folder; a second one waits (or refuses)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexProblem("another ingest is running on this index") from None
            log.warning("another ingest is running on %s; waiting for it", index_dir)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_version(index_dir: Path) -> Path | None:
    """The served version's folder (it may be missing), or None when there is no index yet.

    Raises IndexProblem when CURRENT cannot be read or does not name a version folder.
    """
    pointer = Path(index_dir) / "CURRENT"
    try:
        with open(pointer, "rb") as handle:
            data = handle.read(_POINTER_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise damaged(f"the index pointer CURRENT cannot be read ({reason(error)})") from error
    name = data.decode("ascii", errors="replace").strip()
    if len(data) > _POINTER_BYTES or not _VERSION_NAME.fullmatch(name):
        raise damaged("the index pointer CURRENT is corrupted (it names no index version)")
    return Path(index_dir) / name


def served_state(index_dir: Path) -> tuple | None:
    """A cheap fingerprint of what is served: the version's name and each of its files'
    size and modification time (a few ``stat`` calls, no reading). Any change on disk,
    a repair or damage, changes it, so a server can reload and verify; None: no index."""
    version = current_version(index_dir)
    if version is None:
        return None
    try:
        files = tuple(sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
                             for entry in os.scandir(version)))
    except OSError as error:
        raise damaged(f"index version {version.name} cannot be listed ({reason(error)})") from error
    return version.name, files


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# The manifest's own checksum: the digest of every other field, written last. The files'
# checksums live in the manifest, so without it an edited manifest (an embedder dimension
# flipped, say) passed the fast "unchanged" check of an ingest, and every question then
# failed to load the index it had declared intact.
MANIFEST_DIGEST = "manifest_sha256"


def manifest_digest(manifest: dict) -> str:
    """SHA-256 of the manifest's fields other than :data:`MANIFEST_DIGEST`, as canonical JSON.

    >>> manifest_digest({"a": 1, MANIFEST_DIGEST: "x"}) == manifest_digest({"a": 1})
    True
    """
    fields = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def write_version(index_dir: Path, manifest: dict, documents: dict[str, str], chunks: list[Chunk],
                  previews: list[Preview], sentences: list[SentenceRow], keys: dict[str, list[str]],
                  chunk_vectors: np.ndarray, sentence_vectors: np.ndarray,
                  vectors: FaissDense, keywords: KeywordIndex,
                  pages: dict[str, list[int]] | None = None) -> Path:
    """Write a complete new version and switch CURRENT to it; returns the version folder."""
    index_dir = Path(index_dir)
    name = new_version_name()
    temporary = index_dir / f".tmp-{name}"
    temporary.mkdir(parents=True)
    written = False  # a failure at any step removes what was written (finally below)
    try:
        write_texts(temporary, documents)
        (temporary / PAGES).write_text(json.dumps(pages or {}, ensure_ascii=False), "utf-8")
        _write_jsonl(temporary / "chunks.jsonl",
                     ({**asdict(c), "key": k} for c, k in zip(chunks, keys["chunks"])))
        _write_jsonl(temporary / "previews.jsonl", (asdict(p) for p in previews))
        _write_jsonl(temporary / "sentences.jsonl",
                     ({**asdict(s), "key": k} for s, k in zip(sentences, keys["sentences"])))
        np.save(temporary / "chunk_vectors.npy", chunk_vectors, allow_pickle=False)
        np.save(temporary / "sentence_vectors.npy", sentence_vectors.astype(SENTENCE_DTYPE), allow_pickle=False)
        vectors.save(temporary)
        keywords.save(temporary)
        files = {p.name: file_sha256(p) for p in sorted(temporary.iterdir())}
        manifest = {**manifest, "format": FORMAT, "version": name, "files": files}
        manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
        (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
        _fsync_folder(temporary)
        os.rename(temporary, index_dir / name)
        written = True
    except OSError as error:
        _raise_placed(error, index_dir)
    finally:
        if not written:
            shutil.rmtree(temporary, ignore_errors=True)
    pointer = index_dir / f".CURRENT-{name}"
    switched = False
    try:
        pointer.write_text(name, encoding="utf-8")
        with open(pointer, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(pointer, index_dir / "CURRENT")
        switched = True
    except OSError as error:
        _raise_placed(error, index_dir)
    finally:
        if not switched:  # CURRENT still names the previous version: this one goes
            pointer.unlink(missing_ok=True)
            shutil.rmtree(index_dir / name, ignore_errors=True)
    _remove_old_versions(index_dir, keep=name)
    return index_dir / name


def _raise_placed(error: OSError, index_dir: Path) -> NoReturn:
    """Raise ``error`` again; an OSError from writing to a file handle names no file, so
    it is raised as one that names the index folder (the one line the CLI prints)."""
    if error.errno is not None and error.filename is None:
        raise OSError(error.errno, error.strerror or os.strerror(error.errno), str(index_dir)) from error
    raise error


# Names a version that verified by its checksums but did not load (its files disagree with
# each other: forged, or written by a bug). An unchanged ingest trusts the checksums alone,
# so a reader that finds such a version leaves this note, and the next ingest rebuilds it.
INCONSISTENT = ".inconsistent"


def note_inconsistent(index_dir: Path, version: str) -> None:
    """Leave the note for the next ingest (nothing when the folder is read-only)."""
    try:
        (Path(index_dir) / INCONSISTENT).write_text(version, encoding="utf-8")
    except OSError:
        pass


def noted_inconsistent(index_dir: Path, version: str) -> bool:
    try:
        return (Path(index_dir) / INCONSISTENT).read_text(encoding="utf-8") == version
    except (OSError, UnicodeDecodeError):
        return False


def tidy(index_dir: Path) -> None:
    """Remove what an interrupted ingest left behind (call with the ingest lock held).

    With CURRENT unreadable only temporary leftovers go: no version is known to be served.
    """
    try:
        version = current_version(index_dir)
    except IndexProblem:
        version = None
    if Path(index_dir).is_dir():
        _remove_old_versions(Path(index_dir), keep=version.name if version else None)


def _remove_old_versions(index_dir: Path, keep: str | None) -> None:
    """Remove every version but ``keep`` and all temporary leftovers (``keep`` None: only
    those), and the note of an inconsistent version that is not ``keep``."""
    if keep is not None and not noted_inconsistent(index_dir, keep):
        (index_dir / INCONSISTENT).unlink(missing_ok=True)
    for path in index_dir.iterdir():
        old_version = keep is not None and path.name.startswith("v-")
        if path.name != keep and (old_version or path.name.startswith((".tmp-", ".CURRENT-"))):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
