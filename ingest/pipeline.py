"""corpus/ -> clean -> chunk -> embed (incrementally) -> FAISS + keyword index on disk."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .chunk import CHUNKING_VERSION, chunk_document, preview_chunks
from .clean import CLEANING_VERSION, clean_page
from .embedders import Embedder, make_embedder
from .index import SentenceRow
from .keyword import KeywordIndex
from .readers import read_corpus
from .sentences import split_sentences
from .settings import Settings, load_settings
from .storage import storage_for
from .types import Chunk, CleanDocument

log = logging.getLogger(__name__)
EMBED_BATCH = 256


@dataclass(frozen=True)
class IngestReport:
    documents: int
    sections: int
    chunks: int
    previews_removed: int
    embedded: int  # texts sent to the embedder in this run
    reused: int  # vectors taken over from the previous version
    unchanged: bool  # nothing to do: the served index already matches the corpus
    seconds: float
    index: str  # the index folder, or the database (without its password)

    def summary(self) -> str:
        state = ("corpus unchanged, nothing re-embedded" if self.unchanged
                 else f"embedded {self.embedded}, reused {self.reused}")
        return (f"{self.documents} documents, {self.sections} sections, {self.chunks} chunks, "
                f"{self.previews_removed} previews removed; {state}; "
                f"{self.seconds:.2f} s -> {self.index}")


def embedding_key(embedder_name: str, text: str) -> str:
    return hashlib.sha256(f"{embedder_name}\0{text}".encode()).hexdigest()[:32]


def _signature(settings: Settings, embedder_name: str, corpus: dict[str, str]) -> dict:
    """What the served index must match for an ingest to be a no-op."""
    return {"cleaning_version": CLEANING_VERSION, "chunking_version": CHUNKING_VERSION,
            "chunk_max_words": settings.chunk_max_words, "index_previews": settings.index_previews,
            "embedder_setting": embedder_name, "vector_store": settings.vector_store,
            "ann_min_vectors": settings.ann_min_vectors, "ann_nprobe": settings.ann_nprobe,
            "corpus": corpus}


def _embed(texts: list[str], keys: list[str], cache: dict[str, np.ndarray],
           embedder: Callable[[], Embedder], progress: bool) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``, embedding only those whose key is not cached yet."""
    missing = [i for i, key in enumerate(keys) if key not in cache]
    if missing:
        model = embedder()
        batches = range(0, len(missing), EMBED_BATCH)
        if progress:
            batches = tqdm(batches, desc="embedding", unit="batch")
        for first in batches:
            rows = missing[first:first + EMBED_BATCH]
            for i, vector in zip(rows, model.embed([texts[i] for i in rows])):
                cache[keys[i]] = vector
    if not keys:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.stack([cache[k] for k in keys]).astype(np.float32), len(missing)


def ingest(settings: Settings | None = None, *, corpus_dir: Path | None = None,
           index_dir: Path | None = None, embedder: Embedder | None = None,
           progress: bool = False) -> IngestReport:
    """Build or update the index; a no-op when the corpus and settings are unchanged."""
    began = time.perf_counter()
    settings = settings or load_settings()
    corpus_dir = Path(corpus_dir or settings.corpus_dir)
    storage = storage_for(settings, index_dir)
    where = storage.describe()
    raw_documents = read_corpus(corpus_dir, int(settings.max_document_mb * 1_000_000))
    signature = _signature(settings, settings.embedder, {d.source: d.sha256 for d in raw_documents})

    with storage.lock():
        served = storage.served_manifest()  # None when missing or damaged: rebuild
        documents = [clean_page(d.text, d.source) for d in raw_documents]
        if served and all(served.get(k) == v for k, v in signature.items()):
            storage.tidy()
            return _report(documents, served["chunk_count"], 0, 0, True, began, where)

        loaded: list[Embedder] = [embedder] if embedder else []

        def get_embedder() -> Embedder:
            if not loaded:
                loaded.append(make_embedder(settings.embedder))
            return loaded[0]

        chunks = _chunks(documents, settings)
        sentences = _sentences(documents, chunks)
        name = embedder.name if embedder else (served or {}).get("embedder", {}).get("name")
        cache = storage.previous_vectors() if name else {}
        name = name or get_embedder().name
        chunk_keys = [embedding_key(name, c.embed_text) for c in chunks]
        texts = {d.source: d.text for d in documents}
        sentence_texts = [f"{chunks[s.chunk].section}: {texts[s.source][s.start:s.end]}"
                          for s in sentences]
        sentence_keys = [embedding_key(name, t) for t in sentence_texts]
        chunk_vectors, new_chunks = _embed([c.embed_text for c in chunks], chunk_keys, cache,
                                           get_embedder, progress)
        sentence_vectors, new_sentences = _embed(sentence_texts, sentence_keys, cache,
                                                 get_embedder, progress)
        dimension = int(chunk_vectors.shape[1])
        keywords = KeywordIndex.from_texts([c.embed_text for c in chunks])
        manifest = {
            **signature,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "embedder": {"name": name, "dimension": dimension},
            "document_count": len(documents),
            "section_count": sum(len(d.sections) for d in documents),
            "chunk_count": len(chunks),
            "sentence_count": len(sentences),
            "preview_count": sum(len(d.previews) for d in documents),
        }
        storage.write_version(manifest, {d.source: d.text for d in documents}, chunks,
                              [p for d in documents for p in d.previews], sentences,
                              {"chunks": chunk_keys, "sentences": sentence_keys},
                              chunk_vectors, sentence_vectors, keywords)
        embedded = new_chunks + new_sentences
        reused = len(chunks) + len(sentences) - embedded
        return _report(documents, len(chunks), embedded, reused, False, began, where)


def _chunks(documents: list[CleanDocument], settings: Settings) -> list[Chunk]:
    chunks = []
    for document in documents:
        chunks.extend(chunk_document(document, settings.chunk_max_words))
        if settings.index_previews:
            chunks.extend(preview_chunks(document))
    return chunks


def _sentences(documents: list[CleanDocument], chunks: list[Chunk]) -> list[SentenceRow]:
    """Every sentence of every body chunk; preview chunks are never cited, so have none."""
    rows = []
    for row, chunk in enumerate(chunks):
        if chunk.kind != "body":
            continue
        for sentence in split_sentences(chunk.text, offset=chunk.start):
            rows.append(SentenceRow(chunk.source, sentence.start, sentence.end, row))
    return rows


def _report(documents: list[CleanDocument], chunks: int, embedded: int, reused: int,
            unchanged: bool, began: float, index_dir: str) -> IngestReport:
    return IngestReport(len(documents), sum(len(d.sections) for d in documents), chunks,
                        sum(len(d.previews) for d in documents), embedded, reused, unchanged,
                        time.perf_counter() - began, index_dir)
