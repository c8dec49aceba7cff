"""The file storage: :class:`FileStorage`, and reading a version folder back verified.

Loading checks the manifest's format, that it lists every file an index needs, every
file's SHA-256, and that what was read fits together (dimensions, row counts, offsets);
it never unpickles anything. The layout and the writing are :mod:`.folders`'.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from core.settings import Settings
from core.types import Chunk, Preview, SentenceRow

from ..dense import FaissDense
from ..keywords import KeywordIndex
from ..loaded import LoadedIndex, pages_problem
from ..texts import DocumentTexts
from . import FORMAT, REBUILD, IndexProblem, damaged, folders, reason
from .folders import DENSE, PAGES, SENTENCE_DTYPE, TABLES, current_version, file_sha256

log = logging.getLogger(__name__)

# What reading a damaged file can raise: numpy and json raise ValueError, faiss raises
# RuntimeError (and asserts), a row of the wrong shape gives TypeError or KeyError.
_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError,
                AssertionError, RecursionError, MemoryError, EOFError)


def read_manifest(index_dir: Path) -> dict | None:
    """The manifest of the served version, unverified, or None when there is no index yet."""
    version = current_version(index_dir)
    if version is None:
        return None
    return _manifest_of(version)


def _manifest_of(version: Path) -> dict:
    if not version.is_dir():
        raise damaged(f"index version {version.name} is missing")
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise damaged(f"the manifest of index version {version.name} is unreadable "
                      f"({reason(error)})") from error
    if not isinstance(manifest, dict):
        raise damaged(f"the manifest of index version {version.name} is not a JSON object")
    return manifest


def verified_manifest(version: Path) -> dict:
    """The version's manifest, after checking the format, that every required file is
    listed and present, and every file's SHA-256 against it; raises IndexProblem."""
    manifest = _manifest_of(version)
    where = f"index version {version.name}"
    if manifest.get("format") != FORMAT:
        raise damaged(f"{where} has format {str(manifest.get('format'))[:20]}, this version of "
                      f"sourceqa reads {FORMAT}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise damaged(f"the manifest of {where} lists no files")
    dense = DENSE.get(str(manifest.get("vector_store")))
    if dense is None:
        raise damaged(f"the manifest of {where} names no known vector store")
    unlisted = sorted({*TABLES, *KeywordIndex.FILES, dense.FILE} - set(files))
    if unlisted:
        raise damaged(f"the manifest of {where} does not list {', '.join(unlisted)}")
    for name, digest in files.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
            raise damaged(f"the manifest of {where} lists a file name that is not one")
        path = version / name
        if not path.is_file():
            raise damaged(f"index file {name} of {where} is missing")
        try:
            matches = file_sha256(path) == digest
        except OSError as error:
            raise damaged(f"index file {name} of {where} cannot be read ({reason(error)})") from error
        if not matches:
            raise damaged(f"index file {name} of {where} is corrupted (checksum mismatch)")
    return manifest


def load_index(index_dir: Path, keys: bool = False) -> LoadedIndex:
    """Load and verify the served version; raises IndexProblem saying how to fix it.
    ``keys``: also the embedding key of each row (what an ingest reuses vectors by);
    serving does not need them."""
    index_dir = Path(index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexProblem("there is no index yet; run `sourceqa ingest` to build it")
    manifest = verified_manifest(version)
    try:
        index, previews = _read_version(version, manifest, with_keys=keys)
        problem = _inconsistency(index, previews)
    except IndexProblem:
        raise
    except _READ_ERRORS as error:
        folders.note_inconsistent(index_dir, version.name)
        raise damaged(f"index version {version.name} cannot be read ({reason(error)})") from error
    if problem:
        folders.note_inconsistent(index_dir, version.name)
        raise damaged(f"index version {version.name} is inconsistent ({problem})")
    return index


def served_index(index_dir: Path) -> LoadedIndex | None:
    """The served version, loaded with its keys, if it is intact; else None (logged):
    ingest rebuilds it."""
    try:
        if current_version(index_dir) is None:
            return None
        return load_index(index_dir, keys=True)
    except IndexProblem as problem:
        log.warning("the served index is damaged (%s); building a new one",
                    str(problem).removesuffix(f"; {REBUILD}"))
        return None


def _read_rows(path: Path, make, keys: list[str | None] | None, shared: dict[str, str]) -> list:
    """A table, one object per line, built as it is read (never all rows as dicts at once:
    that doubled the peak memory of a 100k-chunk load). Sources and section paths repeat
    on every row, so each distinct one is kept once (``shared``); each row's embedding
    key goes to ``keys`` when given."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            key = row.pop("key", None)
            if keys is not None:
                keys.append(key)
            for name in ("source", "section"):
                value = row.get(name)
                if isinstance(value, str):
                    row[name] = shared.setdefault(value, value)
            rows.append(make(**row))
    return rows


def _read_version(version: Path, manifest: dict, *, with_keys: bool) -> tuple[LoadedIndex, int]:
    """The version's index, and how many link previews its ``previews.jsonl`` holds (the
    table is kept for the manifest's count; nothing reads the previews themselves)."""
    documents = DocumentTexts(version)
    keys: dict[str, list[str | None]] = {"chunks": [], "sentences": []} if with_keys else {}
    shared: dict[str, str] = {}
    chunks = _read_rows(version / "chunks.jsonl", Chunk, keys.get("chunks"), shared)
    previews = len(_read_rows(version / "previews.jsonl", Preview, None, shared))
    sentences = _read_rows(version / "sentences.jsonl", SentenceRow, keys.get("sentences"), shared)
    # Memory-mapped: a served library costs the pages its questions touch, not its size.
    chunk_vectors = np.load(version / "chunk_vectors.npy", allow_pickle=False, mmap_mode="r")
    sentence_vectors = np.load(version / "sentence_vectors.npy", allow_pickle=False, mmap_mode="r")
    dimension = int(manifest["embedder"]["dimension"])
    vectors = DENSE[manifest["vector_store"]].load(version, dimension)
    pages = json.loads((version / PAGES).read_text("utf-8")) if PAGES in manifest["files"] else {}
    index = LoadedIndex(manifest, documents, chunks, sentences, sentence_vectors=sentence_vectors,
                        chunk_vectors=chunk_vectors, vectors=vectors, keywords=KeywordIndex.load(version),
                        keys=keys, pages=pages)
    return index, previews


def _inconsistency(index: LoadedIndex, previews: int) -> str | None:
    """What does not fit together in a loaded index (None when everything does)."""
    manifest = index.manifest
    dimension = manifest["embedder"]["dimension"]
    for name, matrix, rows, dtype in (("chunk", index.chunk_vectors, len(index.chunks), np.float32),
                                      ("sentence", index.sentence_vectors, len(index.sentences),
                                       SENTENCE_DTYPE)):
        if matrix.ndim != 2 or matrix.dtype != dtype or len(matrix) != rows:
            return f"{len(matrix)} {name} vectors of shape {matrix.shape} for {rows} {name}s"
        if rows and matrix.shape[1] != dimension:
            return f"{name} vectors have {matrix.shape[1]} dimensions, the manifest says {dimension}"
    counts = {"document_count": len(index.documents), "chunk_count": len(index.chunks),
              "sentence_count": len(index.sentences), "preview_count": previews}
    for key, count in counts.items():
        if manifest.get(key) != count:
            return f"the manifest's {key} is {str(manifest.get(key))[:20]}, the index holds {count}"
    if index.vectors.count != len(index.chunks) or index.keywords.count != len(index.chunks):
        return "the vector or keyword index does not hold one row per chunk"
    for chunk in index.chunks:
        text = index.documents.get(chunk.source)
        if text is None or text[chunk.start:chunk.end] != chunk.text:
            return "a chunk's offsets do not match its document"
    for row in index.sentences:
        if not (0 <= row.chunk < len(index.chunks) and row.source in index.documents
                and 0 <= row.start <= row.end):
            return "a sentence points outside the chunk table"
    return pages_problem(index.pages, index.documents)


def previous_vectors(served: LoadedIndex | None) -> dict[str, np.ndarray]:
    """Embedding cache from an intact served version: embedding key -> vector; empty
    when there is none to reuse (no index yet, or a damaged one)."""
    if served is None:
        return {}
    cache: dict[str, np.ndarray] = {}
    for table, matrix in (("chunks", served.chunk_vectors), ("sentences", served.sentence_vectors)):
        cache.update({key: matrix[i] for i, key in enumerate(served.keys.get(table, [])) if key})
    return cache


def salvaged_vectors(index_dir: Path) -> dict[str, np.ndarray]:
    """Embedding cache from a served version that does not load (an older format, say):
    its chunk and sentence tables' keys and their vector files, when those four files
    are intact by the manifest's checksums. Keys hash the embedder and the text, so a
    vector is only ever reused for the same text by the same model; nothing else of the
    version is trusted. Empty when nothing can be salvaged."""
    try:
        version = current_version(index_dir)
        if version is None:
            return {}
        manifest = _manifest_of(version)
        files, dimension = manifest.get("files") or {}, int(manifest["embedder"]["dimension"])
        cache: dict[str, np.ndarray] = {}
        for table, matrix in (("chunks.jsonl", "chunk_vectors.npy"), ("sentences.jsonl", "sentence_vectors.npy")):
            if any(not isinstance(files.get(n), str) or file_sha256(version / n) != files[n] for n in (table, matrix)):
                return {}
            keys = [json.loads(line).get("key") for line in (version / table).read_text("utf-8").splitlines()
                    if line.strip()]
            vectors = np.load(version / matrix, allow_pickle=False, mmap_mode="r")
            if vectors.ndim != 2 or len(vectors) != len(keys) or vectors.shape[1] != dimension:
                return {}
            cache.update({key: np.asarray(vectors[i], dtype=np.float32) for i, key in enumerate(keys)
                          if isinstance(key, str)})
    except (IndexProblem, *_READ_ERRORS):
        return {}
    if cache:
        log.warning("reusing %d vectors of the index being replaced", len(cache))
    return cache


class FileStorage:
    """Versioned folders under ``index_dir`` with a FAISS vector index."""

    def __init__(self, settings: Settings, index_dir: Path | None = None) -> None:
        self.settings = settings
        self.index_dir = Path(index_dir or settings.index_path)
        self._served: LoadedIndex | None = None  # loaded by served_manifest, for previous_vectors

    def lock(self, wait: bool = True):
        return folders.ingest_lock(self.index_dir, wait)

    def current(self) -> str | None:
        version = current_version(self.index_dir)
        return version.name if version else None

    def state(self) -> tuple | None:
        return folders.served_state(self.index_dir)

    def manifest(self) -> dict | None:
        return read_manifest(self.index_dir)

    def intact_manifest(self) -> dict | None:
        """The served version's manifest when it matches its own checksum and every file its
        checksum (well under a second for 100k chunks), and no reader has found it
        inconsistent (``folders.INCONSISTENT``); the tables are not loaded."""
        try:
            version = current_version(self.index_dir)
            manifest = None if version is None else verified_manifest(version)
        except IndexProblem:
            return None  # served_manifest says what is wrong, and the ingest rebuilds
        if manifest is None or folders.noted_inconsistent(self.index_dir, version.name):
            return None
        if manifest.get(folders.MANIFEST_DIGEST) != folders.manifest_digest(manifest):  # edited, or old:
            return None  # the full path loads (so checks) the index, and rebuilds it if need be
        return manifest

    def served_manifest(self) -> dict | None:
        """Loads the served version in full (the check that it is intact) and keeps it
        for the next :meth:`previous_vectors`."""
        self._served = served_index(self.index_dir)
        return self._served.manifest if self._served else None

    def previous_vectors(self) -> dict[str, np.ndarray]:
        served, self._served = self._served, None
        served = served or served_index(self.index_dir)
        return previous_vectors(served) if served else salvaged_vectors(self.index_dir)

    def describe(self) -> str:
        return str(self.index_dir)

    def write_version(self, manifest, documents, chunks, previews, sentences, keys, chunk_vectors,
                      sentence_vectors, keywords, pages=None) -> str:
        vectors = FaissDense(int(chunk_vectors.shape[1]), ann_min_vectors=self.settings.ann_min_vectors,
                             ann_nprobe=self.settings.ann_nprobe)
        vectors.add(chunk_vectors)
        manifest = {**manifest, "vector_index": vectors.kind}
        return folders.write_version(self.index_dir, manifest, documents, chunks, previews, sentences, keys,
                                     chunk_vectors, sentence_vectors, vectors, keywords, pages).name

    def tidy(self) -> None:
        folders.tidy(self.index_dir)

    def load(self) -> LoadedIndex:
        return load_index(self.index_dir)
