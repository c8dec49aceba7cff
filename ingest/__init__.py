"""Ingest stage: read, clean, chunk, embed and index the corpus."""

from .index import IndexProblem, LoadedIndex, load_index, read_manifest
from .pipeline import IngestReport, ingest
from .readers import CorpusError
from .settings import Settings, SettingsError, load_settings
from .types import Chunk, CleanDocument, Preview, Section

__all__ = ["Chunk", "CleanDocument", "CorpusError", "IndexProblem", "IngestReport", "LoadedIndex",
           "Preview", "Section", "Settings", "SettingsError", "ingest", "load_index", "load_settings",
           "read_manifest"]
