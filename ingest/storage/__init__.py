"""Where a built index lives, chosen by the ``vector_store`` setting.

``faiss`` (the embedded default): versioned folders on local disk
(:mod:`.folders` writes them, :mod:`.files` reads them back: :class:`FileStorage`).
``postgres``: PostgreSQL with pgvector (:mod:`.postgres`: :class:`PostgresStorage`;
:mod:`.pgdb` connects and holds the schema), so that any number of app processes on any
machines serve the same index.

Both keep the same promises: one ingest at a time, a new version becomes visible whole
or not at all, readers can always tell which version they serve, and ``load`` returns a
:class:`~ingest.loaded.LoadedIndex`. Both name versions with :func:`new_version_name`
and write the index format :data:`FORMAT` into the manifest. Whatever is wrong with a
stored index is an :class:`IndexProblem` with a one-line message that names no absolute
path and says how to fix it.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.settings import Settings
from core.types import Chunk, Manifest, Preview, SentenceRow

if TYPE_CHECKING:
    from ..keywords import KeywordIndex
    from ..loaded import LoadedIndex

FORMAT = 2  # the manifest's "format": what this version of sourceqa writes and reads
REBUILD = "run `sourceqa ingest` to rebuild it"


class IndexProblem(RuntimeError):
    """The index is missing, incomplete, corrupted or from another version."""


def new_version_name() -> str:
    """A new version's name: ``v-<time>-<random id>``, sortable by time.

    >>> import re; bool(re.fullmatch(r"v-\\d{8}T\\d{6}-[0-9a-f]{8}", new_version_name()))
    True
    """
    return f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def plain(text: str) -> str:
    """One line, with every absolute path cut down to its last component.

    >>> plain("cannot open /home/u/index/v-1/vectors.faiss\\nfor reading")
    'cannot open vectors.faiss for reading'
    """
    text = re.sub(r"(?<![\w.])/(?:[^\s'\"/]+/)*([^\s'\"/]*)", r"\1", text)
    return " ".join(text.split())[:300]


def reason(error: BaseException) -> str:
    """What went wrong, in a few words and without paths."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return plain(str(error)) or type(error).__name__


def damaged(what: str) -> IndexProblem:
    """The problem ``what`` (paths cut), with the fix: rebuild the index."""
    return IndexProblem(f"{plain(what)}; {REBUILD}")


def check_compatible(manifest: dict, embedder_name: str, dimension: int) -> None:
    """Raise IndexProblem unless the index was built by this embedder (name and dimension).

    Questions are embedded by the configured embedder; an index of another model's
    vectors cannot be searched with them (and one of another size not at all).
    """
    built = manifest.get("embedder") if isinstance(manifest, dict) else None
    version = str(manifest.get("version", "?")) if isinstance(manifest, dict) else "?"
    if not isinstance(built, dict) or not {"name", "dimension"} <= set(built):
        raise damaged(f"index version {version} does not say which embedder built it")
    if (built["name"], built["dimension"]) != (embedder_name, dimension):
        raise damaged(f"index version {version} was built with embedder {built['name']} "
                      f"({built['dimension']} dimensions), settings say {embedder_name} "
                      f"({dimension} dimensions)")


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

    def intact_manifest(self) -> dict | None:
        """The served version's manifest if its data verifies (checksums, or row counts),
        without loading it; else None (call under the lock). Cheap: an unchanged ingest
        stops here."""
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

    def tidy(self) -> None:
        """Remove what an interrupted ingest left and versions no longer kept (under the lock)."""
        ...

    def load(self) -> LoadedIndex:
        """The served version, verified; raises IndexProblem saying how to fix it."""
        ...

    def describe(self) -> str:
        """Where the index is, for messages (no password)."""
        ...


def storage_for(settings: Settings, index_dir: Path | None = None) -> Storage:
    """The storage the settings name: 'faiss' (files) or 'postgres' (``database_url``)."""
    if settings.vector_store == "faiss":
        from .files import FileStorage

        return FileStorage(settings, index_dir)
    if settings.vector_store == "postgres":
        from .postgres import PostgresStorage

        return PostgresStorage.for_settings(settings)
    raise ValueError(f"unknown vector store {settings.vector_store!r}; use 'faiss' or 'postgres'")


def index_manifest(settings: Settings) -> Manifest | None:
    """What the served index says about itself (its manifest, read but not verified: a
    few file reads or one query), or None when there is no index yet. Raises IndexProblem
    when what is served cannot be read."""
    data = storage_for(settings).manifest()
    return Manifest.from_dict(data) if data else None
