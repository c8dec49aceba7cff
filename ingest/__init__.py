"""Ingest stage: read, clean, chunk, embed and index the corpus."""

from .index import IndexProblem, LoadedIndex, load_index, read_manifest
from .pipeline import IngestReport, ingest
from .readers import CorpusError

__all__ = ["CorpusError", "IndexProblem", "IngestReport", "LoadedIndex", "ingest", "load_index",
           "read_manifest"]
