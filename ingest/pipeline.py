"""corpus/ -> clean -> chunk -> embed (incrementally) -> a new index version in the storage."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from core.settings import Settings, load_settings
from core.text import split_sentences
from core.types import Chunk, CleanDocument, SentenceRow

from .bounded import Limits
from .chunk import CHUNKING_VERSION, CITABLE, chunk_document, preview_chunks
from .clean import CLEANING_VERSION, clean_page
from .embed import embed_rows
from .embed import identity as _identity
from .embedders import Embedder, live_served, make_embedder
from .keywords import KeywordIndex
from .parse_cache import ParseCache
from .pending import discard_unfinished
from .progress import Callback, Reporter
from .readers import CorpusError, CorpusFingerprint, Skipped, fingerprint_corpus, scan_corpus
from .spill import Spill, spill_folder
from .storage import storage_for
from .suggest import SUGGESTIONS_VERSION, suggestion_fields

log = logging.getLogger(__name__)
# More new text than this and the ingest warns before it even cleans it (about a minute
# of embedding per MB on 2 cores; the attack run: 30 MB, 55,067 chunks, 30+ minutes).
EARLY_WARN_BYTES = 2_000_000


@dataclass(frozen=True)
class FileCount:
    """What one corpus file gave the index; ``note`` says why it gave nothing."""

    source: str
    sections: int
    chunks: int
    sentences: int
    note: str = ""  # "" when the file gave text

    def line(self) -> str:
        if self.note:
            return f"{self.source}: {self.note}"
        return f"{self.source}: {self.sections} sections, {self.chunks} chunks, {self.sentences} sentences"


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
    files: tuple[FileCount, ...] = ()  # every document read, in corpus order
    skipped: tuple[Skipped, ...] = ()  # files not read (too large, binary, not UTF-8, a copy)

    @property
    def without_text(self) -> int:
        """Files that gave the index nothing: skipped, or without indexable text."""
        return len(self.skipped) + sum(1 for f in self.files if f.note)

    def summary(self) -> str:
        state = ("corpus unchanged, nothing re-embedded" if self.unchanged
                 else f"embedded {self.embedded}, reused {self.reused}")
        lost = f"; {self.without_text} file(s) gave no text (see --files)" if self.without_text else ""
        return (f"{self.documents} documents, {self.sections} sections, {self.chunks} chunks, "
                f"{self.previews_removed} previews removed; {state}; "
                f"{self.seconds:.2f} s -> {self.index}{lost}")

    def file_lines(self) -> list[str]:
        """One line per corpus file, by name: its counts, or why it gave no text."""
        lines = {f.source: f.line() for f in self.files}
        lines.update({s.source: f"{s.source}: skipped ({s.reason})" for s in self.skipped})
        return [lines[source] for source in sorted(lines)]


def _signature(settings: Settings, embedder: Embedder | None, corpus: dict[str, str] | None,
               corpus_dir: Path, fingerprint: str) -> dict:
    """What the served index must match for an ingest to be a no-op; ``corpus_dir`` (the
    folder read, absolute) tells ``sourceqa serve`` which folder the index was built from.
    ``fingerprint`` (every file's name and bytes, see :func:`fingerprint_corpus`) is what
    an unchanged ingest compares before reading anything; ``corpus`` (the digest of each
    document read) is left out when None.

    ``embedder_setting`` is the configured embedder, or None when the caller passed
    one in (its name and dimension are compared then, see :func:`_up_to_date`).
    """
    return {"cleaning_version": CLEANING_VERSION, "chunking_version": CHUNKING_VERSION,
            "chunk_max_words": settings.chunk_max_words, "index_previews": settings.index_previews,
            "parse_limits": Limits.of(settings).key(), "follow_outside_links": settings.follow_outside_links,
            "embedder_setting": settings.embedder if embedder is None else None,
            "judge": settings.judge, "vector_store": settings.vector_store,
            "ann_min_vectors": settings.ann_min_vectors, "ann_nprobe": settings.ann_nprobe,
            "corpus_dir": str(corpus_dir.resolve()), "suggestions_version": SUGGESTIONS_VERSION,
            "corpus_fingerprint": fingerprint, **({} if corpus is None else {"corpus": corpus})}


def _up_to_date(served: dict | None, signature: dict, embedder: Embedder | None) -> bool:
    if not served or any(served.get(k) != v for k, v in signature.items()):
        return False
    if not isinstance(served.get("file_counts"), dict) or _unread(served) is None:
        return False  # an index written before the counts were kept: write it again
    return embedder is None or served.get("embedder") == _identity(embedder)


def _unread(manifest: dict) -> list[Skipped] | None:
    """The files the served index's ingest hashed but could not read as documents (a
    copy, a PDF without text, ...), with why; None when the manifest does not say."""
    rows = manifest.get("unread")
    if not isinstance(rows, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r) for r in rows):
        return None
    return [Skipped(source, why) for source, why in rows]


def _unchanged_skips(served: dict, fingerprint: CorpusFingerprint) -> list[Skipped]:
    """What a full read of an unchanged corpus would skip, in corpus order: the files that
    cannot be read at all (found again) and those its documents could not be made of."""
    order = {source: i for i, source in enumerate(fingerprint.files)}
    skipped = [*fingerprint.skipped, *(_unread(served) or [])]
    return sorted(skipped, key=lambda s: order.get(s.source, len(order)))


def _embedder_identity(settings: Settings, served: dict | None, embedder: Embedder | None,
                       get_embedder: Callable[[], Embedder]) -> dict:
    """Name and dimension of the embedder of this ingest: the one passed in, else the
    configured one. When the served index was built from the same embedder setting its
    manifest says which model that is, so an ingest with nothing to embed loads none."""
    if embedder is not None:
        return _identity(embedder)
    built = (served or {}).get("embedder")
    if (served and served.get("embedder_setting") == settings.embedder and isinstance(built, dict)
            and isinstance(built.get("name"), str) and isinstance(built.get("dimension"), int)):
        return {"name": built["name"], "dimension": built["dimension"],
                "sentence_vectors": built.get("sentence_vectors", "alone")}  # alone: before one-pass vectors
    return _identity(get_embedder())


def _warn_if_large(documents, served: dict | None) -> None:
    """Warn at once when much new text is to be indexed (the measured estimate follows
    with the first embedding batch)."""
    known = set((served or {}).get("corpus", {}).values())
    new = sum(len(d.text.encode("utf-8")) for d in documents if d.sha256 not in known)
    if new > EARLY_WARN_BYTES:
        log.warning("%.1f MB of new text to index: expect about a minute per MB on 2 CPU cores "
                    "(a measured estimate follows once embedding starts); if that is more than the "
                    "corpus should hold, stop and check its files (`sourceqa ingest --files`)", new / 1e6)


def ingest(settings: Settings | None = None, *, corpus_dir: Path | None = None,
           index_dir: Path | None = None, embedder: Embedder | None = None,
           progress: bool | Callback = False, cancelled: threading.Event | None = None) -> IngestReport:
    """Build or update the index; a no-op when the corpus and settings are unchanged and
    the served index loads intact (a damaged one is rebuilt).

    PDF and Word files are parsed in a bounded child process (:mod:`ingest.bounded`), and
    parses are cached by content (:mod:`ingest.parse_cache`): only changed files are parsed.
    ``cancelled``, set by another thread (a client gone), stops its parse or embedding.
    ``progress``: True shows files read and chunks embedded on stderr, a callable gets
    each step as a :class:`~ingest.progress.Progress`."""
    began, reporter = time.perf_counter(), Reporter(progress)
    settings = settings or load_settings()
    corpus_dir = Path(corpus_dir or settings.corpus_dir)
    storage = storage_for(settings, index_dir)
    where = storage.describe()
    max_bytes = int(settings.max_document_mb * 1_000_000)
    discard_unfinished(settings.home, corpus_dir)  # uploads whose server stopped during their ingest
    fingerprint = fingerprint_corpus(corpus_dir, max_bytes, outside_links=settings.follow_outside_links, ocr=settings.ocr)

    with storage.lock():
        # Unchanged: the same files, settings and code as the intact served version. Its
        # counts are the manifest's; nothing is parsed, cleaned or loaded.
        intact = storage.intact_manifest()
        if _up_to_date(intact, _signature(settings, embedder, None, corpus_dir, fingerprint.digest), live := embedder or live_served(settings)):
            storage.tidy()
            return _unchanged_report(intact, began, where, _unchanged_skips(intact, fingerprint))
        parsed = ParseCache.of(settings)
        raw_documents, skipped = scan_corpus(corpus_dir, max_bytes, limits=Limits.of(settings), cache=parsed,
                                             outside_links=settings.follow_outside_links, cancelled=cancelled,
                                             progress=reporter)
        log.info("%d file(s) taken from the parse cache, %d parsed", parsed.hits, parsed.misses)
        parsed.prune()
        if any(fingerprint.digests.get(d.source) != d.sha256 for d in raw_documents):
            log.warning("corpus files changed while being read; the next ingest reads them again")
            fingerprint = replace(fingerprint, digest="changed while read")
        signature = _signature(settings, embedder, {d.source: d.sha256 for d in raw_documents}, corpus_dir,
                               fingerprint.digest)
        served = storage.served_manifest()  # None when missing or damaged: rebuild
        _warn_if_large(raw_documents, served)
        documents = [clean_page(d.text, d.source, d.page_starts) for d in raw_documents]
        chunks = _chunks(documents, settings)
        sentences = _sentences(documents, chunks)
        counts = _file_counts(documents, chunks, sentences)
        if not chunks:
            raise CorpusError(f"no indexable text in the {len(documents)} readable document(s) of "
                              f"{corpus_dir}; see the warnings above")

        loaded: list[Embedder] = [live] if live else []

        def get_embedder() -> Embedder:
            if not loaded:
                loaded.append(make_embedder(settings.embedder, settings.model_runtime, settings))
            return loaded[0]

        identity = _embedder_identity(settings, served, live, get_embedder)
        cache = storage.previous_vectors()  # the served version's, or what can be salvaged of it
        texts = {d.source: d.text for d in documents}
        spill = Spill(spill_folder(settings.home, where))
        identity, work, vectors, embedded, made = embed_rows(chunks, sentences, texts, identity, cache, get_embedder,
                                                             reporter, spill, cancelled)
        if vectors.shape[1] != identity["dimension"]:
            raise ValueError(f"embedder {identity['name']} says it gives {identity['dimension']} "
                             f"dimensions but gave {vectors.shape[1]}")
        keywords = KeywordIndex.from_texts([c.embed_text for c in chunks])
        manifest = {
            **signature,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "embedder": identity,
            "document_count": len(documents),
            "section_count": sum(len(d.sections) for d in documents),
            "chunk_count": len(chunks),
            "sentence_count": len(sentences),
            "preview_count": sum(len(d.previews) for d in documents),
            "file_counts": {c.source: [c.sections, c.chunks, c.sentences, c.note] for c in counts},
            "unread": [[s.source, s.reason] for s in skipped if s not in fingerprint.skipped],
            "ocr_sources": sorted(d.source for d in raw_documents if d.ocr),  # an answer citing one says so
            **suggestion_fields(documents),  # candidates and where each is from; qa shows the answered
        }
        storage.write_version(manifest, texts, chunks, [p for d in documents for p in d.previews],
                              sentences, {"chunks": work.keys[:len(chunks)], "sentences": work.keys[len(chunks):]},
                              vectors[:len(chunks)], vectors[len(chunks):], keywords,
                              pages={d.source: list(d.pages) for d in documents if d.pages})
        spill.clear()  # written: nothing to resume
        return _report(documents, len(chunks), embedded, len(work.keys) - made, False, began, where, counts, skipped)


def _chunks(documents: list[CleanDocument], settings: Settings) -> list[Chunk]:
    chunks = []
    for document in documents:
        chunks.extend(chunk_document(document, settings.chunk_max_words))
        if settings.index_previews:
            chunks.extend(preview_chunks(document))
    return chunks


def _sentences(documents: list[CleanDocument], chunks: list[Chunk]) -> list[SentenceRow]:
    """Every sentence of every citable chunk; preview chunks are never cited, so have none."""
    rows = []
    for row, chunk in enumerate(chunks):
        if chunk.kind not in CITABLE:
            continue
        for sentence in split_sentences(chunk.text, offset=chunk.start):
            rows.append(SentenceRow(chunk.source, sentence.start, sentence.end, row))
    return rows


def _file_counts(documents: list[CleanDocument], chunks: list[Chunk],
                 sentences: list[SentenceRow]) -> tuple[FileCount, ...]:
    """Sections, chunks and sentences per document; one without body text is warned about."""
    chunk_counts = Counter(c.source for c in chunks)
    body_counts = Counter(c.source for c in chunks if c.kind == "body")
    sentence_counts = Counter(s.source for s in sentences)
    counts = []
    for document in documents:
        note = ""
        if not body_counts[document.source]:
            note = "no text: skipped (nothing but a title, or empty)"
            log.warning("%s has no text to index (nothing but a title, or empty); skipped",
                        document.source)
        counts.append(FileCount(document.source, len(document.sections), chunk_counts[document.source],
                                sentence_counts[document.source], note))
    return tuple(counts)


def _unchanged_report(manifest: dict, began: float, where: str, skipped: list[Skipped]) -> IngestReport:
    """The report of an ingest with nothing to do, from what the served manifest counted."""
    files = tuple(FileCount(source, *row) for source, row in manifest["file_counts"].items())
    return IngestReport(manifest["document_count"], manifest["section_count"], manifest["chunk_count"],
                        manifest["preview_count"], 0, 0, True, time.perf_counter() - began, where, files,
                        tuple(skipped))


def _report(documents: list[CleanDocument], chunks: int, embedded: int, reused: int, unchanged: bool,
            began: float, index_dir: str, files: tuple[FileCount, ...],
            skipped: list[Skipped]) -> IngestReport:
    return IngestReport(len(documents), sum(len(d.sections) for d in documents), chunks,
                        sum(len(d.previews) for d in documents), embedded, reused, unchanged,
                        time.perf_counter() - began, index_dir, files, tuple(skipped))
