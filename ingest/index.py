"""The index on disk: versioned folders, a manifest with checksums, an atomic switch.

Layout of the index folder::

    CURRENT            name of the version being served (replaced atomically)
    .lock              held by the one ingest allowed at a time
    v-<time>-<id>/     one complete version: manifest.json and the files it lists

A new version is written in full into a temporary folder, fsync'd, renamed into
place, and only then is CURRENT switched with ``os.replace``. An ingest killed at
any point therefore leaves CURRENT naming the previous, complete version. Loading
checks the manifest's format, that it lists every file an index needs, every file's
SHA-256, and that what was read fits together (dimensions, row counts, offsets); it
never unpickles anything. Whatever is wrong with the index on disk is an
:class:`IndexProblem` with a one-line message that names no absolute path.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import math
import os
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

from core.types import Chunk, Preview, SentenceRow, page_at

from .clean import topic_names
from .keyword import KeywordIndex
from .stores import STORES, VectorStore, load_vector_store

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# The files of every version besides the vector store's and the keyword index's own.
TABLES = ("documents.json", "chunks.jsonl", "previews.jsonl", "sentences.jsonl",
          "chunk_vectors.npy", "sentence_vectors.npy")
# Where each page of a paged document (PDF) begins: source -> offsets. Written by every
# ingest and checked like the rest when the manifest lists it; a version written before
# pages existed has none, and loads with every page unknown.
PAGES = "pages.json"
_VERSION_NAME = re.compile(r"v-[A-Za-z0-9-]{1,100}")
_POINTER_BYTES = 256  # CURRENT holds one version name; anything longer is not one
REBUILD = "run `sourceqa ingest` to rebuild it"


class IndexProblem(RuntimeError):
    """The index is missing, incomplete, corrupted or from another version."""


def _plain(text: str) -> str:
    """One line, with every absolute path cut down to its last component.

    >>> _plain("cannot open /home/u/index/v-1/vectors.faiss\\nfor reading")
    'cannot open vectors.faiss for reading'
    """
    text = re.sub(r"(?<![\w.])/(?:[^\s'\"/]+/)*([^\s'\"/]*)", r"\1", text)
    return " ".join(text.split())[:300]


def _reason(error: BaseException) -> str:
    """What went wrong, in a few words and without paths."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return _plain(str(error)) or type(error).__name__


def _damaged(what: str) -> IndexProblem:
    return IndexProblem(f"{_plain(what)}; {REBUILD}")


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
    keys: dict[str, list[str | None]] = field(default_factory=dict)  # embedding keys per table
    pages: dict[str, list[int]] = field(default_factory=dict)  # source -> page starts (PDFs)

    # -- the read interface (core.index.Index) --------------------------------------------
    @property
    def version(self) -> str:
        return str(self.manifest.get("version", ""))

    @property
    def titles(self) -> dict[str, str]:
        return {source: text.split("\n", 1)[0] for source, text in self.documents.items()}  # line 1

    @property
    def topics(self) -> list[str]:
        return topic_names(self.titles.values(), (chunk.section for chunk in self.chunks))

    def search_dense(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        return self.vectors.search(vector, k)

    def search_keywords(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.keywords.search(query, k)

    def chunk_cosine(self, row: int, vector: np.ndarray) -> float:
        return float(self.chunk_vectors[row] @ vector)

    def idf(self, token: str) -> float:
        known = self.keywords.idf.get(token)
        return known if known is not None else math.log(1 + (len(self.chunks) + 0.5) / 0.5)

    def page_starts(self, source: str) -> tuple[int, ...]:
        return tuple(int(p) for p in self.pages.get(source, ()))

    def sentence_text(self, row: SentenceRow) -> str:
        return self.documents[row.source][row.start:row.end]

    def page_of(self, source: str, offset: int) -> int | None:
        """The 1-based page of ``offset`` in ``source``; None when it has no pages (or the
        index predates pages)."""
        return page_at(self.pages.get(source, ()), offset)


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
        raise _damaged(f"the index pointer CURRENT cannot be read ({_reason(error)})") from error
    name = data.decode("ascii", errors="replace").strip()
    if len(data) > _POINTER_BYTES or not _VERSION_NAME.fullmatch(name):
        raise _damaged("the index pointer CURRENT is corrupted (it names no index version)")
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
        raise _damaged(f"index version {version.name} cannot be listed ({_reason(error)})") from error
    return version.name, files


def read_manifest(index_dir: Path) -> dict | None:
    """The manifest of the served version, unverified, or None when there is no index yet."""
    version = current_version(index_dir)
    if version is None:
        return None
    return _manifest_of(version)


def _manifest_of(version: Path) -> dict:
    if not version.is_dir():
        raise _damaged(f"index version {version.name} is missing")
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise _damaged(f"the manifest of index version {version.name} is unreadable "
                       f"({_reason(error)})") from error
    if not isinstance(manifest, dict):
        raise _damaged(f"the manifest of index version {version.name} is not a JSON object")
    return manifest


def check_compatible(manifest: dict, embedder_name: str, dimension: int) -> None:
    """Raise IndexProblem unless the index was built by this embedder (name and dimension).

    Questions are embedded by the configured embedder; an index of another model's
    vectors cannot be searched with them (and one of another size not at all).
    """
    built = manifest.get("embedder") if isinstance(manifest, dict) else None
    version = str(manifest.get("version", "?")) if isinstance(manifest, dict) else "?"
    if not isinstance(built, dict) or not {"name", "dimension"} <= set(built):
        raise _damaged(f"index version {version} does not say which embedder built it")
    if (built["name"], built["dimension"]) != (embedder_name, dimension):
        raise _damaged(f"index version {version} was built with embedder {built['name']} "
                       f"({built['dimension']} dimensions), settings say {embedder_name} "
                       f"({dimension} dimensions)")


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
                  vectors: VectorStore, keywords: KeywordIndex,
                  pages: dict[str, list[int]] | None = None) -> Path:
    """Write a complete new version and switch CURRENT to it; returns the version folder."""
    index_dir = Path(index_dir)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    temporary = index_dir / f".tmp-{name}"
    temporary.mkdir(parents=True)
    written = False  # a failure at any step removes what was written (finally below)
    try:
        (temporary / "documents.json").write_text(json.dumps(documents, ensure_ascii=False), "utf-8")
        (temporary / PAGES).write_text(json.dumps(pages or {}, ensure_ascii=False), "utf-8")
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
    """Remove every version but ``keep`` and all temporary leftovers (``keep`` None: only those)."""
    for path in index_dir.iterdir():
        old_version = keep is not None and path.name.startswith("v-")
        if path.name != keep and (old_version or path.name.startswith((".tmp-", ".CURRENT-"))):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def verify_version(version: Path, manifest: dict) -> None:
    """Check the format, that every required file is listed and present, and every
    file's SHA-256 against the manifest; raises IndexProblem."""
    where = f"index version {version.name}"
    if manifest.get("format") != FORMAT_VERSION:
        raise _damaged(f"{where} has format {str(manifest.get('format'))[:20]}, this version of "
                       f"sourceqa reads {FORMAT_VERSION}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise _damaged(f"the manifest of {where} lists no files")
    store = STORES.get(str(manifest.get("vector_store")))
    if store is None:
        raise _damaged(f"the manifest of {where} names no known vector store")
    unlisted = sorted({*TABLES, KeywordIndex.FILE, store.FILE} - set(files))
    if unlisted:
        raise _damaged(f"the manifest of {where} does not list {', '.join(unlisted)}")
    for name, digest in files.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
            raise _damaged(f"the manifest of {where} lists a file name that is not one")
        path = version / name
        if not path.is_file():
            raise _damaged(f"index file {name} of {where} is missing")
        try:
            matches = file_sha256(path) == digest
        except OSError as error:
            raise _damaged(f"index file {name} of {where} cannot be read ({_reason(error)})") from error
        if not matches:
            raise _damaged(f"index file {name} of {where} is corrupted (checksum mismatch)")


def served_index(index_dir: Path) -> LoadedIndex | None:
    """The served version, loaded, if it is intact; else None (logged): ingest rebuilds it."""
    try:
        if current_version(index_dir) is None:
            return None
        return load_index(index_dir)
    except IndexProblem as problem:
        log.warning("the served index is damaged (%s); building a new one",
                    str(problem).removesuffix(f"; {REBUILD}"))
        return None


def served_manifest(index_dir: Path) -> dict | None:
    """The served version's manifest if that version loads intact, else None (logged)."""
    index = served_index(index_dir)
    return index.manifest if index else None


# What reading a damaged file can raise: numpy and json raise ValueError, faiss raises
# RuntimeError (and asserts), a row of the wrong shape gives TypeError or KeyError.
_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError,
                AssertionError, RecursionError, MemoryError, EOFError)


def load_index(index_dir: Path) -> LoadedIndex:
    """Load and verify the served version; raises IndexProblem saying how to fix it."""
    index_dir = Path(index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexProblem("there is no index yet; run `sourceqa ingest` to build it")
    manifest = _manifest_of(version)
    verify_version(version, manifest)
    try:
        index = _read_version(version, manifest)
        problem = _inconsistency(index)
    except IndexProblem:
        raise
    except _READ_ERRORS as error:
        raise _damaged(f"index version {version.name} cannot be read ({_reason(error)})") from error
    if problem:
        raise _damaged(f"index version {version.name} is inconsistent ({problem})")
    return index


def _read_version(version: Path, manifest: dict) -> LoadedIndex:
    documents = json.loads((version / "documents.json").read_text("utf-8"))
    chunk_rows = _read_jsonl(version / "chunks.jsonl")
    chunks = [Chunk(**{k: v for k, v in row.items() if k != "key"}) for row in chunk_rows]
    previews = [Preview(**row) for row in _read_jsonl(version / "previews.jsonl")]
    sentence_rows = _read_jsonl(version / "sentences.jsonl")
    sentences = [SentenceRow(**{k: v for k, v in row.items() if k != "key"}) for row in sentence_rows]
    chunk_vectors = np.load(version / "chunk_vectors.npy", allow_pickle=False)
    sentence_vectors = np.load(version / "sentence_vectors.npy", allow_pickle=False)
    dimension = int(manifest["embedder"]["dimension"])
    vectors = load_vector_store(manifest["vector_store"], version, dimension)
    keywords = KeywordIndex.load(version)
    keys = {"chunks": [row.get("key") for row in chunk_rows],
            "sentences": [row.get("key") for row in sentence_rows]}
    pages = json.loads((version / PAGES).read_text("utf-8")) if PAGES in manifest["files"] else {}
    return LoadedIndex(manifest, documents, chunks, previews, sentences, sentence_vectors,
                       chunk_vectors, vectors, keywords, version, keys, pages)


def _inconsistency(index: LoadedIndex) -> str | None:
    """What does not fit together in a loaded index (None when everything does)."""
    manifest = index.manifest
    dimension = manifest["embedder"]["dimension"]
    for name, matrix, rows in (("chunk", index.chunk_vectors, len(index.chunks)),
                               ("sentence", index.sentence_vectors, len(index.sentences))):
        if matrix.ndim != 2 or matrix.dtype != np.float32 or len(matrix) != rows:
            return f"{len(matrix)} {name} vectors of shape {matrix.shape} for {rows} {name}s"
        if rows and matrix.shape[1] != dimension:
            return f"{name} vectors have {matrix.shape[1]} dimensions, the manifest says {dimension}"
    counts = {"document_count": len(index.documents), "chunk_count": len(index.chunks),
              "sentence_count": len(index.sentences), "preview_count": len(index.previews)}
    for key, count in counts.items():
        if manifest.get(key) != count:
            return f"the manifest's {key} is {str(manifest.get(key))[:20]}, the index holds {count}"
    if index.vectors.count != len(index.chunks) or len(index.keywords.lengths) != len(index.chunks):
        return "the vector or keyword index does not hold one row per chunk"
    if not all(isinstance(text, str) for text in index.documents.values()):
        return "a document is not text"
    for chunk in index.chunks:
        text = index.documents.get(chunk.source)
        if text is None or text[chunk.start:chunk.end] != chunk.text:
            return "a chunk's offsets do not match its document"
    for row in index.sentences:
        if not (0 <= row.chunk < len(index.chunks) and row.source in index.documents
                and 0 <= row.start <= row.end):
            return "a sentence points outside the chunk table"
    return pages_problem(index.pages, index.documents)


def pages_problem(pages: object, documents: dict[str, str]) -> str | None:
    """What is wrong with a page table (None when nothing is): every paged document is in
    the index and its page starts are whole offsets that begin at 0 and never go back.

    >>> pages_problem({"a.pdf": [0, 4, 4, 9]}, {"a.pdf": "0123456789"}) is None
    True
    >>> pages_problem({"a.pdf": [0, 12]}, {"a.pdf": "0123456789"})
    'the page table does not fit its documents'
    """
    if not isinstance(pages, dict):
        return "the page table is not a table"
    for source, starts in pages.items():
        text = documents.get(source)
        if (text is None or not isinstance(starts, list) or not starts or starts[0] != 0
                or not all(type(s) is int for s in starts)
                or any(b < a for a, b in itertools.pairwise(starts)) or starts[-1] > len(text)):
            return "the page table does not fit its documents"
    return None


def previous_vectors(index_dir: Path, served: LoadedIndex | None = None) -> dict[str, np.ndarray]:
    """Embedding cache from the served version (``served`` when already loaded):
    embedding key -> vector; empty when there is no intact index to reuse."""
    served = served or served_index(index_dir)
    if served is None:
        return {}  # no index yet, or a damaged one: never reuse its vectors
    cache: dict[str, np.ndarray] = {}
    for table, matrix in (("chunks", served.chunk_vectors), ("sentences", served.sentence_vectors)):
        cache.update({key: matrix[i] for i, key in enumerate(served.keys.get(table, [])) if key})
    return cache
