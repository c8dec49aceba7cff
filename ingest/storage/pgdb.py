"""PostgreSQL for the index and the feedback log: the schema and the connection to it.

:func:`postgres_engine` gives one SQLAlchemy engine (a connection pool) per URL and
process and sets the schema up once; the postgres storage (:mod:`.postgres`) and the
app's feedback log share it. :func:`redact_url` is a URL fit for messages.
"""

from __future__ import annotations

import re
import threading

from . import IndexProblem

LOCK_KEY = 7_361_002_911  # pg_advisory_lock key of sourceqa ingests (LOCK_KEY + 1: schema setup)
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


def redact_url(url: str) -> str:
    """The URL without its password.

    >>> redact_url("postgresql://u:secret@db/sq")
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


def postgres_engine(url: str):
    """One SQLAlchemy engine per URL and process (connection pool), schema set up once.

    Raises IndexProblem, saying what to check, when the database cannot be used."""
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
                raise IndexProblem(f"cannot use PostgreSQL at {redact_url(url)}: {error.__class__.__name__}: "
                                   f"{str(error).splitlines()[0]}; check the database_url setting and that "
                                   "the server runs with the pgvector extension") from error
            _ready.add(url)
        return engine
