"""The index in PostgreSQL with pgvector, shared by any number of app processes.

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
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.settings import Settings, SettingsError
from core.text import STOPWORDS, tokenize
from core.types import Chunk, Preview, SentenceRow

from .index import IndexProblem, LoadedIndex, pages_problem
from .keyword import KeywordIndex

log = logging.getLogger(__name__)

LOCK_KEY = 7_361_002_911  # pg_advisory_lock key of sourceqa ingests
INSERT_BATCH = 2000
SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS sourceqa_versions (
    version text PRIMARY KEY,
    created timestamptz NOT NULL DEFAULT now(),
    chunk_table text NOT NULL,
    manifest jsonb NOT NULL,
    documents jsonb NOT NULL,
    chunks jsonb NOT NULL,
    previews jsonb NOT NULL,
    sentences jsonb NOT NULL,
    keys jsonb NOT NULL,
    idf jsonb NOT NULL,  -- BM25 statistics: idf, k1, b, average length
    chunk_vectors bytea NOT NULL,
    sentence_vectors bytea NOT NULL
);
-- Page starts of paged documents (PDFs), source -> offsets; NULL in versions written
-- before pages existed (their pages are unknown).
ALTER TABLE sourceqa_versions ADD COLUMN IF NOT EXISTS pages jsonb;
CREATE TABLE IF NOT EXISTS sourceqa_current (
    id int PRIMARY KEY CHECK (id = 1),
    version text NOT NULL REFERENCES sourceqa_versions (version)
);
CREATE TABLE IF NOT EXISTS sourceqa_feedback (
    id bigserial PRIMARY KEY,
    answer_id text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    entry jsonb NOT NULL
);
"""

_engines: dict[str, object] = {}
_ready: set[str] = set()
_engines_lock = threading.Lock()


def urls(url: str) -> tuple[str, str]:
    """SQLAlchemy URLs for psycopg2 and asyncpg from a plain postgresql:// URL.

    >>> urls("postgresql://u:p@db:5432/sq")
    ('postgresql+psycopg2://u:p@db:5432/sq', 'postgresql+asyncpg://u:p@db:5432/sq')
    """
    rest = re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "", url)
    return f"postgresql+psycopg2://{rest}", f"postgresql+asyncpg://{rest}"


def redact(url: str) -> str:
    """The URL without its password.

    >>> redact("postgresql://u:secret@db/sq")
    'postgresql://u:***@db/sq'
    """
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def _require() -> None:
    try:
        import llama_index.vector_stores.postgres  # noqa: F401
        import psycopg2  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as error:
        raise ImportError("the postgres vector store is not installed - pip install 'sourceqa[postgres]' "
                          f"({error})") from error


def engine_for(url: str):
    """One SQLAlchemy engine per URL and process (connection pool), schema set up once."""
    _require()
    import sqlalchemy

    with _engines_lock:
        if url not in _engines:
            _engines[url] = sqlalchemy.create_engine(urls(url)[0], pool_pre_ping=True, pool_size=5,
                                                     max_overflow=10)
        engine = _engines[url]
        if url not in _ready:
            try:
                with engine.begin() as connection:
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY + 1})")
                    connection.exec_driver_sql(SCHEMA)
            except sqlalchemy.exc.SQLAlchemyError as error:
                raise IndexProblem(f"cannot use PostgreSQL at {redact(url)}: {error.__class__.__name__}: "
                                   f"{str(error).splitlines()[0]}; check the database_url setting and that "
                                   "the server runs with the pgvector extension") from error
            _ready.add(url)
        return engine


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


class PgDense:
    """Dense search in one version's pgvector table (cosine similarity)."""

    name = "postgres"

    def __init__(self, store, count: int) -> None:
        self._store = store
        self._count = count

    @property
    def count(self) -> int:
        return self._count

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        if not self._count:
            return []
        result = self._store.query(VectorStoreQuery(query_embedding=np.asarray(vector, dtype=float).tolist(),
                                                    similarity_top_k=min(k, self._count)))
        return [(int(node.metadata["row"]), float(score)) for node, score in zip(result.nodes, result.similarities)]


class PgKeywords:
    """Keyword search: Postgres full-text search (the tsvector column and its GIN index)
    finds the candidates, and the same BM25 as the file index ranks them, so hybrid
    retrieval orders passages as it does with FAISS (exactly so while the candidates
    cover every matching chunk)."""

    CANDIDATES = 200

    def __init__(self, store, statistics: dict, chunks: list[Chunk]) -> None:
        self._store = store
        self.idf: dict[str, float] = statistics["idf"]
        self._k1, self._b, self._average = statistics["k1"], statistics["b"], statistics["average"]
        self._chunks = chunks

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

        words = [w for w in re.findall(r"[a-z0-9]+", query.lower()) if w not in STOPWORDS]
        if not words:
            return []
        depth = max(k, self.CANDIDATES)
        result = self._store.query(VectorStoreQuery(query_str=" ".join(words), mode=VectorStoreQueryMode.TEXT_SEARCH,
                                                    sparse_top_k=depth, similarity_top_k=depth))
        terms = set(tokenize(query))
        scores = []
        for node in result.nodes:
            row = int(node.metadata["row"])
            tokens = tokenize(self._chunks[row].embed_text)
            counts = {t: tokens.count(t) for t in terms if t in self.idf}
            norm = self._k1 * (1 - self._b + self._b * len(tokens) / (self._average or 1))
            score = sum(self.idf[t] * tf * (self._k1 + 1) / (tf + norm) for t, tf in counts.items() if tf)
            if score > 0:
                scores.append((row, score))
        return sorted(scores, key=lambda item: (-item[1], item[0]))[:k]


class PostgresStorage:
    """See the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.engine = engine_for(self.url)

    @classmethod
    def for_settings(cls, settings: Settings) -> PostgresStorage:
        if not settings.database_url:
            raise SettingsError("vector_store 'postgres' needs the database_url setting "
                                "(SOURCEQA_DATABASE_URL=postgresql://user:password@host:5432/db)")
        return cls(settings)

    def describe(self) -> str:
        return redact(self.url)

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
            return connection.exec_driver_sql("SELECT version FROM sourceqa_current WHERE id = 1").scalar()

    def manifest(self) -> dict | None:
        with self.engine.connect() as connection:
            manifest = connection.exec_driver_sql(
                "SELECT v.manifest FROM sourceqa_versions v JOIN sourceqa_current c ON c.version = v.version"
            ).scalar()
        if manifest is not None and not isinstance(manifest, dict):
            raise IndexProblem(f"the served index in {self.describe()} has a manifest that is not a JSON "
                               "object; run `sourceqa ingest` to rebuild it")
        return manifest

    def served_manifest(self) -> dict | None:
        import sqlalchemy

        with self.engine.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT v.manifest, v.chunk_table FROM sourceqa_versions v "
                "JOIN sourceqa_current c ON c.version = v.version").first()
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

    def previous_vectors(self) -> dict[str, np.ndarray]:
        if self.served_manifest() is None:
            return {}
        with self.engine.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT v.keys, v.chunk_vectors, v.sentence_vectors FROM sourceqa_versions v "
                "JOIN sourceqa_current c ON c.version = v.version").first()
        keys, chunk_vectors, sentence_vectors = row
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

        version = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        table = chunk_table(version)
        dimension = int(chunk_vectors.shape[1])
        manifest = {**manifest, "format": 1, "version": version, "vector_index":
                    "pgvector-hnsw" if len(chunks) >= self.settings.pg_hnsw_min_rows else "pgvector-exact"}
        try:
            store = self._vector_store(table, dimension, len(chunks))
            for first in range(0, len(chunks), INSERT_BATCH):
                store.add([TextNode(id_=f"{row}-{chunks[row].id}", text=chunks[row].embed_text,
                                    embedding=chunk_vectors[row].tolist(), metadata={"row": row})
                           for row in range(first, min(first + INSERT_BATCH, len(chunks)))])
            row = {
                "version": version, "chunk_table": table, "manifest": json.dumps(manifest),
                "documents": json.dumps(documents), "chunks": json.dumps([asdict(c) for c in chunks]),
                "previews": json.dumps([asdict(p) for p in previews]),
                "sentences": json.dumps([asdict(s) for s in sentences]), "keys": json.dumps(keys),
                "idf": json.dumps({"idf": keywords.idf, "k1": keywords.k1, "b": keywords.b,
                                   "average": keywords.average}), "chunk_vectors": _npy(chunk_vectors),
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
            current = connection.exec_driver_sql("SELECT version FROM sourceqa_current WHERE id = 1").scalar()
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
            row = connection.exec_driver_sql(
                "SELECT v.version, v.chunk_table, v.manifest, v.documents, v.chunks, v.previews, v.sentences, "
                "v.idf, v.chunk_vectors, v.sentence_vectors, v.pages FROM sourceqa_versions v "
                "JOIN sourceqa_current c ON c.version = v.version").first()
        if row is None:
            raise IndexProblem(f"no index in {self.describe()}; run `sourceqa ingest` to build it")
        (version, table, manifest, documents, chunks, previews, sentences, idf, chunk_vectors,
         sentence_vectors, pages) = row
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
            return LoadedIndex(manifest, documents, chunk_rows, [Preview(**p) for p in previews],
                               [SentenceRow(**s) for s in sentences], sentence_matrix, vectors,
                               PgDense(store, len(chunk_rows)), PgKeywords(store, idf, chunk_rows), Path(version),
                               pages=pages or {})
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            reason = " ".join(str(error).split())[:300]
            raise IndexProblem(f"index {version} in {self.describe()} cannot be read ({reason}); "
                               "run `sourceqa ingest` to rebuild it") from error
