"""Searches of one postgres version's chunk table limited to some documents, in SQL.

The filter is part of the query (``WHERE source = ANY(:sources)``), so ranking only ever
sees the chosen documents' chunks: top-k are all theirs while they have k chunks. Rows
written before chunks carried their source in the metadata are filtered by row number
(``row = ANY(:rows)``). The values are bound parameters, never spliced into the SQL
(llama-index's own metadata filters quote them by hand). An HNSW index scan with a
filter can stop short of k rows, so a filtered dense query scans the index
iteratively (pgvector 0.8 and later) or, on older pgvector, exactly.
"""

from __future__ import annotations

import numpy as np

from ..dense import Within


class SubsetSearch:
    """Dense and keyword candidates within some documents, in the table ``data_<table>``."""

    def __init__(self, engine, table: str, by_source: bool, hnsw: bool) -> None:
        self._engine = engine  # the storage's SQLAlchemy engine
        self._table = f"data_{table}"
        self._by_source = by_source  # the rows' metadata holds "source"
        self._hnsw = hnsw
        self._iterative: bool | None = None

    def _where(self, within: Within) -> tuple[str, dict]:
        if self._by_source:
            return "metadata_->>'source' = ANY(:sources)", {"sources": list(within.sources)}
        return "(metadata_->>'row')::int = ANY(:rows)", {"rows": [int(r) for r in within.rows]}

    def _scan_settings(self, connection) -> None:
        if not self._hnsw:
            return
        if self._iterative is None:
            version = connection.exec_driver_sql(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'").scalar() or "0"
            self._iterative = tuple(int(p) for p in version.split(".")[:2] if p.isdigit()) >= (0, 8)
        if self._iterative:
            connection.exec_driver_sql("SET LOCAL hnsw.iterative_scan = strict_order")
        else:
            connection.exec_driver_sql("SET LOCAL enable_indexscan = off")

    def dense(self, vector: np.ndarray, k: int, within: Within) -> list[tuple[int, float]]:
        import sqlalchemy

        if k <= 0 or not len(within.rows):
            return []
        where, parameters = self._where(within)
        query = "[" + ",".join(f"{float(x):.8g}" for x in np.asarray(vector, dtype=float)) + "]"
        sql = (f"SELECT (metadata_->>'row')::int AS row, embedding <=> CAST(:q AS vector) AS distance "
               f'FROM "{self._table}" WHERE {where} ORDER BY distance, row LIMIT :k')
        with self._engine.begin() as connection:
            self._scan_settings(connection)
            found = connection.execute(sqlalchemy.text(sql), {**parameters, "q": query, "k": int(k)}).all()
        return [(int(row), 1.0 - float(distance)) for row, distance in found]

    def keyword_rows(self, words: list[str], depth: int, within: Within) -> list[int]:
        """Rows whose text matches any of ``words`` (full-text search), best ``ts_rank`` first."""
        import sqlalchemy

        if not words or not len(within.rows):
            return []
        where, parameters = self._where(within)
        sql = (f"SELECT (metadata_->>'row')::int FROM \"{self._table}\", to_tsquery('english', :words) query "
               f"WHERE text_search_tsv @@ query AND {where} "
               "ORDER BY ts_rank(text_search_tsv, query) DESC LIMIT :depth")
        with self._engine.connect() as connection:
            found = connection.execute(sqlalchemy.text(sql), {**parameters, "words": "|".join(words),
                                                              "depth": int(depth)}).scalars().all()
        return [int(row) for row in found]
