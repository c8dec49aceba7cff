"""Ingest stage: read, clean, chunk, embed and index the corpus, and store the index.

This is the stage's public surface: ``qa``, ``app`` and ``evals`` import from here, never
from a module inside. Where things live:

* ``readers``, ``formats``, ``pdf``, ``word``: corpus files to text; ``clean`` and
  ``headings``: text to a document with sections; ``chunk``; ``embedders``;
  ``suggest``: candidate questions; ``pipeline``: :func:`ingest`, all of it in order.
* ``dense`` and ``keywords``: the two searches over chunks (FAISS or pgvector; one BM25);
  ``loaded``: :class:`LoadedIndex`, an index version in memory (``core.index.Index``).
* ``storage``: where versions are kept (:func:`storage_for`): ``storage.folders`` and
  ``storage.files`` on disk, ``storage.postgres`` and ``storage.pgdb`` in PostgreSQL.
"""

from . import pending
from .bounded import Cancelled
from .clean import clean_page
from .embedders import make_embedder, packaged_minilm_path
from .formats import Unreadable
from .loaded import LoadedIndex
from .pipeline import IngestReport, ingest
from .readers import KINDS, READERS, CorpusError, parse_checked, read_corpus
from .storage import IndexProblem, Storage, check_compatible, index_manifest, storage_for
from .storage.files import load_index, read_manifest
from .storage.pgdb import postgres_engine, redact_url

__all__ = ["KINDS", "READERS", "Cancelled", "CorpusError", "IndexProblem", "IngestReport", "LoadedIndex", "Storage",
           "Unreadable", "check_compatible", "clean_page", "index_manifest", "ingest", "load_index", "make_embedder",
           "packaged_minilm_path", "parse_checked", "pending", "postgres_engine", "read_corpus", "read_manifest", "redact_url",
           "storage_for"]
