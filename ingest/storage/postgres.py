"""The postgres storage: the index in PostgreSQL with pgvector, shared by any number of app
processes (the schema and the connection: :mod:`.pgdb`).

Each version's chunks live in their own table, written through llama-index's
``PGVectorStore`` (embedding column with an HNSW index above ``pg_hnsw_min_rows`` chunks,
and a ``tsvector`` column with a GIN index for the keyword side of hybrid retrieval).
The rest of a version (manifest, cleaned documents, chunk and sentence tables, sentence
vectors, keyword statistics) is one row of ``sourceqa_versions``. A version becomes the
served one when ``sourceqa_current`` points at it, in the same transaction that inserts
its row: a reader sees the old version or the new one, never a half-written one. An
advisory lock makes ingests from any machine run one at a time. The previous version is
kept after a switch, so replicas still answering from it finish their questions.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from dataclasses import asdict

import numpy as np

from core.settings import Settings, SettingsError
from core.types import Chunk, Preview, SentenceRow

from ..dense import PgvectorDense
from ..keywords import KeywordIndex, PgKeywords
from ..loaded import LoadedIndex, pages_problem
from . import FORMAT, REBUILD, IndexProblem, new_version_name
from .pgdb import LOCK_KEY, postgres_engine, redact_url, urls
from .pgsearch import SubsetSearch

log = logging.getLogger(__name__)

INSERT_BATCH = 2000
# The served version's row: every read of what is served goes through this join.
SERVED = "FROM sourceqa_versions v JOIN sourceqa_current c ON c.version = v.version"
CURRENT = "SELECT version FROM sourceqa_current WHERE id = 1"


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def _array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(bytes(data)), allow_pickle=False)


def chunk_table(version: str) -> str:
    """The llama-index table name for a version (llama-index adds the ``data_`` prefix).

    >>> chunk_table("v-20261126T120000-ab12cd34")
    'sq_v_20261126t120000_ab12cd34'
    """
    return "sq_" + re.sub(r"[^a-z0-9]+", "_", version.lower())


class PostgresStorage:
    """See the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.engine = postgres_engine(self.url)

    @classmethod
    def for_settings(cls, settings: Settings) -> PostgresStorage:
        if not settings.database_url:
            raise SettingsError("vector_store 'postgres' needs the database_url setting "
                                "(SOURCEQA_DATABASE_URL=postgresql://user:password@host:5432/db)")
        return cls(settings)

    def describe(self) -> str:
        return redact_url(self.url)

    def _vector_store(self, table: str, dimension: int, rows: int = 0, create: bool = True):
        """llama-index's store for one version's table; ``create`` sets the table up (ingest),
        otherwise it is only read (a replica never recreates a table a newer ingest dropped)."""
        from llama_index.vector_stores.postgres import PGVectorStore

        sync, asynchronous = urls(self.url)
        hnsw = None
        if rows and rows >= self.settings.pg_hnsw_min_rows:
            hnsw = {"hnsw_m": 16, "hnsw_ef_construction": 64, "hnsw_ef_search": self.settings.pg_ef_search,
                    "hnsw_dist_method": "vector_cosine_ops"}
        return PGVectorStore.from_params(connection_string=sync, async_connection_string=asynchronous,
                                         table_name=table, embed_dim=dimension, hybrid_search=True,
                                         text_search_config="english", hnsw_kwargs=hnsw,
                                         perform_setup=create)

    @staticmethod
    def _served(connection, *columns: str):
        """The served version's ``columns`` (a row), or None when nothing is served."""
        return connection.exec_driver_sql(f"SELECT {', '.join('v.' + c for c in columns)} {SERVED}").first()

    # -- the lock, and what is served ------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, wait: bool = True):
        with self.engine.connect() as connection:
            if wait:
                connection.exec_driver_sql(f"SELECT pg_advisory_lock({LOCK_KEY})")
            elif not connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({LOCK_KEY})").scalar():
                raise IndexProblem(f"another ingest is running on {self.describe()}")
            connection.commit()
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_KEY})")
                connection.commit()

    def state(self) -> str | None:
        return self.current()  # rows of a version are never changed in place

    def current(self) -> str | None:
        with self.engine.connect() as connection:
            return connection.exec_driver_sql(CURRENT).scalar()

    def manifest(self) -> dict | None:
        with self.engine.connect() as connection:
            row = self._served(connection, "manifest")
        manifest = row[0] if row else None
        if manifest is not None and not isinstance(manifest, dict):
            raise IndexProblem(f"the served index in {self.describe()} has a manifest that is not a JSON "
                               f"object; {REBUILD}")
        return manifest

    def served_manifest(self) -> dict | None:
        import sqlalchemy

        with self.engine.connect() as connection:
            row = self._served(connection, "manifest", "chunk_table")
            if row is None:
                return None
            manifest, table = row
            if not isinstance(manifest, dict):
                log.warning("the served index in %s has no readable manifest; building a new one",
                            self.describe())
                return None
            try:
                count = connection.execute(sqlalchemy.text(f'SELECT count(*) FROM "data_{table}"')).scalar()
            except sqlalchemy.exc.ProgrammingError:
                count = None
        if count != manifest.get("chunk_count"):
            log.warning("the served index in %s is damaged (chunk table %s); building a new one",
                        self.describe(), table)
            return None
        return manifest

    def intact_manifest(self) -> dict | None:
        return self.served_manifest()  # one query: the manifest and its chunk table's size

    def previous_vectors(self) -> dict[str, np.ndarray]:
        if self.served_manifest() is None:
            return {}
        with self.engine.connect() as connection:
            keys, chunk_vectors, sentence_vectors = self._served(connection, "keys", "chunk_vectors",
                                                                 "sentence_vectors")
        cache = dict(zip(keys["chunks"], _array(chunk_vectors)))
        cache.update(zip(keys["sentences"], _array(sentence_vectors)))
        return cache

    # -- writing a version -----------------------------------------------------------------
    def write_version(self, manifest: dict, documents: dict[str, str], chunks: list[Chunk],
                      previews: list[Preview], sentences: list[SentenceRow], keys: dict[str, list[str]],
                      chunk_vectors: np.ndarray, sentence_vectors: np.ndarray, keywords: KeywordIndex,
                      pages: dict[str, list[int]] | None = None) -> str:
        import sqlalchemy
        from llama_index.core.schema import TextNode

        version = new_version_name()
        table = chunk_table(version)
        dimension = int(chunk_vectors.shape[1])
        manifest = {**manifest, "format": FORMAT, "version": version, "chunk_metadata": ["row", "source"],
                    "vector_index": "pgvector-hnsw" if len(chunks) >= self.settings.pg_hnsw_min_rows
                    else "pgvector-exact"}
        try:
            store = self._vector_store(table, dimension, len(chunks))
            for first in range(0, len(chunks), INSERT_BATCH):
                store.add([TextNode(id_=f"{row}-{chunks[row].id}", text=chunks[row].embed_text,
                                    embedding=chunk_vectors[row].tolist(),
                                    metadata={"row": row, "source": chunks[row].source})
                           for row in range(first, min(first + INSERT_BATCH, len(chunks)))])
            row = {
                "version": version, "chunk_table": table, "manifest": json.dumps(manifest),
                "documents": json.dumps(documents), "chunks": json.dumps([asdict(c) for c in chunks]),
                "previews": json.dumps([asdict(p) for p in previews]),
                "sentences": json.dumps([asdict(s) for s in sentences]), "keys": json.dumps(keys),
                "idf": json.dumps(keywords.statistics), "chunk_vectors": _npy(chunk_vectors),
                "sentence_vectors": _npy(sentence_vectors), "pages": json.dumps(pages or {}),
            }
            with self.engine.begin() as connection:  # the switch: one transaction
                connection.execute(sqlalchemy.text(
                    "INSERT INTO sourceqa_versions (version, chunk_table, manifest, documents, chunks, previews, "
                    "sentences, keys, idf, chunk_vectors, sentence_vectors, pages) VALUES (:version, "
                    ":chunk_table, CAST(:manifest AS jsonb), CAST(:documents AS jsonb), CAST(:chunks AS jsonb), "
                    "CAST(:previews AS jsonb), CAST(:sentences AS jsonb), CAST(:keys AS jsonb), "
                    "CAST(:idf AS jsonb), :chunk_vectors, :sentence_vectors, CAST(:pages AS jsonb))"), row)
                connection.execute(sqlalchemy.text(
                    "INSERT INTO sourceqa_current (id, version) VALUES (1, :version) "
                    "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version"), {"version": version})
        except BaseException:
            self._drop(table)
            raise
        self.tidy()
        return version

    def _drop(self, table: str) -> None:
        import sqlalchemy

        try:
            with self.engine.begin() as connection:
                connection.execute(sqlalchemy.text(f'DROP TABLE IF EXISTS "data_{table}"'))
        except sqlalchemy.exc.SQLAlchemyError:
            log.warning("could not drop table data_%s; the next ingest will", table)

    def tidy(self) -> None:
        """Keep the served version and the one before it; drop the rest and orphan tables.

        Called with the ingest lock held, so no table being written is dropped."""
        import sqlalchemy

        with self.engine.begin() as connection:
            current = connection.exec_driver_sql(CURRENT).scalar()
            ordered = connection.exec_driver_sql(
                "SELECT version, chunk_table FROM sourceqa_versions ORDER BY created DESC, version DESC").all()
            keep = {current, *[v for v, _ in ordered if v != current][:1]}
            for version, table in ordered:
                if version not in keep:
                    connection.execute(sqlalchemy.text("DELETE FROM sourceqa_versions WHERE version = :v"),
                                       {"v": version})
            kept_tables = {f"data_{t}" for v, t in ordered if v in keep}
            tables = connection.execute(sqlalchemy.text(
                r"SELECT tablename FROM pg_tables WHERE tablename LIKE 'data\_sq\_v\_%'")).scalars().all()
            for name in tables:
                if name not in kept_tables:
                    connection.execute(sqlalchemy.text(f'DROP TABLE IF EXISTS "{name}"'))

    # -- reading -----------------------------------------------------------------------------
    def load(self) -> LoadedIndex:
        with self.engine.connect() as connection:
            row = self._served(connection, "version", "chunk_table", "manifest", "documents", "chunks",
                               "sentences", "idf", "chunk_vectors", "sentence_vectors", "pages")
        if row is None:
            raise IndexProblem(f"no index in {self.describe()}; run `sourceqa ingest` to build it")
        (version, table, manifest, documents, chunks, sentences, idf, chunk_vectors, sentence_vectors,
         pages) = row
        try:
            chunk_rows = [Chunk(**c) for c in chunks]
            vectors, sentence_matrix = _array(chunk_vectors), _array(sentence_vectors)
            dimension = int(manifest["embedder"]["dimension"])
            if (len(vectors) != len(chunk_rows) or len(sentence_matrix) != len(sentences)
                    or any(len(m) and m.shape[1] != dimension for m in (vectors, sentence_matrix))):
                raise ValueError(f"vectors do not match the chunk and sentence tables ({dimension} dimensions)")
            problem = pages_problem(pages or {}, documents)
            if problem:
                raise ValueError(problem)
            store = self._vector_store(table, dimension, len(chunk_rows), create=False)
            subset = SubsetSearch(self.engine, table, by_source="source" in manifest.get("chunk_metadata", ()),
                                  hnsw=manifest.get("vector_index") == "pgvector-hnsw")
            return LoadedIndex(manifest, documents, chunk_rows, [SentenceRow(**s) for s in sentences],
                               sentence_vectors=sentence_matrix, chunk_vectors=vectors,
                               vectors=PgvectorDense(store, len(chunk_rows), subset),
                               keywords=PgKeywords(store, idf, chunk_rows, subset), pages=pages or {})
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            reason = " ".join(str(error).split())[:300]
            raise IndexProblem(f"index {version} in {self.describe()} cannot be read ({reason}); "
                               f"{REBUILD}") from error
