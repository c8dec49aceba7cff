"""Where a built index lives, chosen by the ``vector_store`` setting.

``faiss`` (the embedded default): versioned folders on local disk (see ``index.py``).
``postgres``: PostgreSQL with pgvector (see ``pgstore.py``), so that any number of app
processes on any machines serve the same index.

Both keep the same promises: one ingest at a time, a new version becomes visible
whole or not at all, and readers can always tell which version they serve.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Protocol

import numpy as np

from core.settings import Settings
from core.types import Chunk, Preview, SentenceRow

from . import index as files
from .index import LoadedIndex
from .keyword import KeywordIndex
from .stores import new_vector_store


class Storage(Protocol):
    def lock(self, wait: bool = True) -> contextlib.AbstractContextManager: ...

    def current(self) -> str | None:
        """The served version's name (cheap: called on every question)."""
        ...

    def state(self) -> object:
        """A cheap fingerprint of what is served (called on every question): it changes
        when a new version is served or the served one changes on disk."""
        ...

    def manifest(self) -> dict | None:
        """The served version's manifest, unverified; None when there is no index.

        Raises IndexProblem (never another error) when what is served cannot be read."""
        ...

    def served_manifest(self) -> dict | None:
        """The served version's manifest if it loads intact, else None (call under the lock)."""
        ...

    def previous_vectors(self) -> dict[str, np.ndarray]:
        """Embedding key -> vector of the served version; empty unless it is intact."""
        ...

    def write_version(self, manifest: dict, documents: dict[str, str], chunks: list[Chunk],
                      previews: list[Preview], sentences: list[SentenceRow], keys: dict[str, list[str]],
                      chunk_vectors: np.ndarray, sentence_vectors: np.ndarray,
                      keywords: KeywordIndex, pages: dict[str, list[int]] | None = None) -> str:
        """Write a complete new version and make it the served one; returns its name.

        ``pages``: for each paged document (PDF), the offset where each page begins."""
        ...

    def tidy(self) -> None: ...

    def load(self) -> LoadedIndex: ...

    def describe(self) -> str:
        """Where the index is, for messages (no password)."""
        ...


class FileStorage:
    """Versioned folders under ``index_dir`` with a FAISS vector index."""

    def __init__(self, settings: Settings, index_dir: Path | None = None) -> None:
        self.settings = settings
        self.index_dir = Path(index_dir or settings.index_path)
        self._served: LoadedIndex | None = None  # loaded by served_manifest, for previous_vectors

    def lock(self, wait: bool = True):
        return files.ingest_lock(self.index_dir, wait)

    def current(self) -> str | None:
        version = files.current_version(self.index_dir)
        return version.name if version else None

    def state(self) -> tuple | None:
        return files.served_state(self.index_dir)

    def manifest(self) -> dict | None:
        return files.read_manifest(self.index_dir)

    def served_manifest(self) -> dict | None:
        """Loads the served version in full (the check that it is intact) and keeps it
        for the next :meth:`previous_vectors`."""
        self._served = files.served_index(self.index_dir)
        return self._served.manifest if self._served else None

    def previous_vectors(self) -> dict[str, np.ndarray]:
        served, self._served = self._served, None
        return files.previous_vectors(self.index_dir, served)

    def describe(self) -> str:
        return str(self.index_dir)

    def write_version(self, manifest, documents, chunks, previews, sentences, keys, chunk_vectors,
                      sentence_vectors, keywords, pages=None) -> str:
        store = new_vector_store("faiss", int(chunk_vectors.shape[1]),
                                 ann_min_vectors=self.settings.ann_min_vectors,
                                 ann_nprobe=self.settings.ann_nprobe)
        store.add(chunk_vectors)
        manifest = {**manifest, "vector_index": store.kind}
        return files.write_version(self.index_dir, manifest, documents, chunks, previews, sentences, keys,
                                   chunk_vectors, sentence_vectors, store, keywords, pages).name

    def tidy(self) -> None:
        files.tidy(self.index_dir)

    def load(self) -> LoadedIndex:
        return files.load_index(self.index_dir)


def storage_for(settings: Settings, index_dir: Path | None = None) -> Storage:
    """The storage the settings name: 'faiss' (files) or 'postgres' (``database_url``)."""
    if settings.vector_store == "faiss":
        return FileStorage(settings, index_dir)
    if settings.vector_store == "postgres":
        from .pgstore import PostgresStorage

        return PostgresStorage.for_settings(settings)
    raise ValueError(f"unknown vector store {settings.vector_store!r}; use 'faiss' or 'postgres'")
