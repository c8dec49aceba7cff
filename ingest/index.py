"""The index on disk: versioned folders, a manifest with checksums, an atomic switch.

Layout of the index folder::

    CURRENT            name of the version being served (replaced atomically)
    .lock              held by the one ingest allowed at a time
    v-<time>-<id>/     one complete version: manifest.json and the files it lists

A new version is written in full into a temporary folder, fsync'd, renamed into
place, and only then is CURRENT switched with ``os.replace``. An ingest killed at
any point therefore leaves CURRENT naming the previous, complete version. Loading
checks the manifest's format and every file's SHA-256, and never unpickles anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .keyword import KeywordIndex
from .stores import VectorStore, load_vector_store
from .types import Chunk, Preview

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class IndexProblem(RuntimeError):
    """The index is missing, incomplete, corrupted or from another version."""


@dataclass(frozen=True)
class SentenceRow:
    """A sentence of the corpus, located in its document and its chunk."""

    source: str
    start: int
    end: int
    chunk: int  # row in the chunk table


@dataclass
class LoadedIndex:
    manifest: dict
    documents: dict[str, str]  # source -> cleaned text
    chunks: list[Chunk]
    previews: list[Preview]
    sentences: list[SentenceRow]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray
    vectors: VectorStore
    keywords: KeywordIndex
    path: Path

    def sentence_text(self, row: SentenceRow) -> str:
        return self.documents[row.source][row.start:row.end]


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
                raise IndexProblem(f"another ingest is running on {index_dir}") from None
            log.warning("another ingest is running on %s; waiting for it", index_dir)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_version(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / "CURRENT"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not name.startswith("v-") or "/" in name:
        raise IndexProblem(f"{pointer} is corrupted; run `sourceqa ingest` to rebuild the index")
    return Path(index_dir) / name


def read_manifest(index_dir: Path) -> dict | None:
    """The manifest of the served version, or None when there is no index yet."""
    version = current_version(index_dir)
    if version is None:
        return None
    try:
        return json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexProblem(f"index manifest unreadable in {version} ({error}); "
                           "run `sourceqa ingest` to rebuild the index") from error


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_version(index_dir: Path, manifest: dict, documents: dict[str, str], chunks: list[Chunk],
                  previews: list[Preview], sentences: list[SentenceRow], keys: dict[str, list[str]],
                  chunk_vectors: np.ndarray, sentence_vectors: np.ndarray,
                  vectors: VectorStore, keywords: KeywordIndex) -> Path:
    """Write a complete new version and switch CURRENT to it; returns the version folder."""
    index_dir = Path(index_dir)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    temporary = index_dir / f".tmp-{name}"
    temporary.mkdir(parents=True)
    try:
        (temporary / "documents.json").write_text(json.dumps(documents, ensure_ascii=False), "utf-8")
        _write_jsonl(temporary / "chunks.jsonl",
                     ({**asdict(c), "key": k} for c, k in zip(chunks, keys["chunks"])))
        _write_jsonl(temporary / "previews.jsonl", (asdict(p) for p in previews))
        _write_jsonl(temporary / "sentences.jsonl",
                     ({**asdict(s), "key": k} for s, k in zip(sentences, keys["sentences"])))
        np.save(temporary / "chunk_vectors.npy", chunk_vectors, allow_pickle=False)
        np.save(temporary / "sentence_vectors.npy", sentence_vectors, allow_pickle=False)
        vectors.save(temporary)
        keywords.save(temporary)
        files = {p.name: file_sha256(p) for p in sorted(temporary.iterdir())}
        manifest = {**manifest, "format": FORMAT_VERSION, "version": name, "files": files}
        (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
        _fsync_folder(temporary)
        os.rename(temporary, index_dir / name)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    pointer = index_dir / f".CURRENT-{name}"
    pointer.write_text(name, encoding="utf-8")
    with open(pointer, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer, index_dir / "CURRENT")
    _remove_old_versions(index_dir, keep=name)
    return index_dir / name


def tidy(index_dir: Path) -> None:
    """Remove what an interrupted ingest left behind (call with the ingest lock held)."""
    version = current_version(index_dir)
    if version is not None:
        _remove_old_versions(Path(index_dir), keep=version.name)


def _remove_old_versions(index_dir: Path, keep: str) -> None:
    for path in index_dir.iterdir():
        if path.name != keep and (path.name.startswith("v-") or path.name.startswith(".tmp-")
                                  or path.name.startswith(".CURRENT-")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def verify_version(version: Path, manifest: dict) -> None:
    """Check the format and every file's SHA-256 against the manifest; raises IndexProblem."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexProblem(f"index in {version} has format {manifest.get('format')}, this version "
                           f"reads {FORMAT_VERSION}; run `sourceqa ingest` to rebuild it")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexProblem(f"index manifest in {version} lists no files; run `sourceqa ingest` to rebuild")
    for name, digest in files.items():
        path = version / name
        if "/" in name or not path.is_file():
            raise IndexProblem(f"index file {path} is missing; run `sourceqa ingest` to rebuild")
        if file_sha256(path) != digest:
            raise IndexProblem(f"index file {path} is corrupted (checksum mismatch); "
                               "run `sourceqa ingest` to rebuild")


def served_manifest(index_dir: Path) -> dict | None:
    """The served version's manifest if that version is intact, else None (logged)."""
    try:
        version = current_version(index_dir)
        manifest = read_manifest(index_dir)
        if version is None or manifest is None:
            return None
        verify_version(version, manifest)
        return manifest
    except IndexProblem as problem:
        log.warning("the served index is damaged (%s); building a new one", problem)
        return None


def load_index(index_dir: Path) -> LoadedIndex:
    """Load and verify the served version; raises IndexProblem saying how to fix it."""
    index_dir = Path(index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexProblem(f"no index in {index_dir}; run `sourceqa ingest` to build it")
    manifest = read_manifest(index_dir)
    verify_version(version, manifest)
    try:
        documents = json.loads((version / "documents.json").read_text("utf-8"))
        chunk_rows = _read_jsonl(version / "chunks.jsonl")
        chunks = [Chunk(**{k: v for k, v in row.items() if k != "key"}) for row in chunk_rows]
        previews = [Preview(**row) for row in _read_jsonl(version / "previews.jsonl")]
        sentences = [SentenceRow(**{k: v for k, v in row.items() if k != "key"})
                     for row in _read_jsonl(version / "sentences.jsonl")]
        chunk_vectors = np.load(version / "chunk_vectors.npy", allow_pickle=False)
        sentence_vectors = np.load(version / "sentence_vectors.npy", allow_pickle=False)
        dimension = int(manifest["embedder"]["dimension"])
        vectors = load_vector_store(manifest["vector_store"], version, dimension)
        keywords = KeywordIndex.load(version)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexProblem(f"index in {version} cannot be read ({error}); "
                           "run `sourceqa ingest` to rebuild") from error
    if vectors.count != len(chunks) or len(sentences) != len(sentence_vectors):
        raise IndexProblem(f"index in {version} is inconsistent; run `sourceqa ingest` to rebuild")
    return LoadedIndex(manifest, documents, chunks, previews, sentences, sentence_vectors,
                       chunk_vectors, vectors, keywords, version)


def previous_vectors(index_dir: Path) -> dict[str, np.ndarray]:
    """Embedding cache from the served version: embedding key -> vector (empty if none)."""
    if served_manifest(index_dir) is None:
        return {}  # no index yet, or a damaged one: never reuse its vectors
    version = current_version(index_dir)
    cache: dict[str, np.ndarray] = {}
    try:
        for table, matrix in (("chunks.jsonl", "chunk_vectors.npy"),
                              ("sentences.jsonl", "sentence_vectors.npy")):
            rows = _read_jsonl(version / table)
            vectors = np.load(version / matrix, allow_pickle=False)
            cache.update({row["key"]: vectors[i] for i, row in enumerate(rows) if "key" in row})
    except (OSError, ValueError, KeyError, IndexError):
        log.warning("previous index unreadable; every chunk will be embedded again")
        return {}
    return cache
