"""``python -m bench.papers``: ingest from nothing of twelve whole scientific papers (PDF),
the product against the stock llama-index pipeline on the same folder, cold processes in
turn, ``--rounds`` times (issue 29: "12 whole scientific papers ... we are at parity").

The papers are articles shipped as R package vignettes (most of them published in the
Journal of Statistical Software or R News), taken from Debian's ``r-cran-*`` packages by
``apt-get download`` without root (:mod:`bench.library.debian`; cached in
bench/.cache/library, so a second run needs no network); they are measured with, never
redistributed. ``--folder`` measures any folder instead (the smoke test's: one PDF it
writes).

Each round runs the product's ingest (:mod:`bench.library.probe`, a fresh index), then
the stock pipeline as :mod:`bench.library.stock` defines it (256-token chunks with
llama-index's default overlap of 200 tokens), then the same pipeline without overlap
(``--chunk-overlap 0``: each word embedded about once, the engine against the engine).
The ratio of a round is the stock process's time over the product's, spawn to exit, and
likewise in CPU seconds; the report gives each round and the medians, and the tokens each
side ran through the model, which is the work the ratio is made of.

    python -m bench.papers [--rounds 3] [--folder DIR] [--no-stock] [--out bench/papers.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from .library import BENCH, CACHE, REPO, stock
from .library.debian import download, unpack
from .library.measure import git_commit, machine, probe
from .library.render import replace_section

# (Debian package, the vignette inside /usr/lib/R/site-library/<folder>/doc/): twelve
# articles, about 400 KB of text, 191 pages.
PAPERS = (
    ("r-cran-sandwich", "sandwich", "sandwich.pdf"),
    ("r-cran-sandwich", "sandwich", "sandwich-OOP.pdf"),
    ("r-cran-pscl", "pscl", "countreg.pdf"),
    ("r-cran-party", "party", "MOB.pdf"),
    ("r-cran-party", "party", "party.pdf"),
    ("r-cran-strucchange", "strucchange", "strucchange-intro.pdf"),
    ("r-cran-zoo", "zoo", "zoo.pdf"),
    ("r-cran-xts", "xts", "xts.pdf"),
    ("r-cran-lmtest", "lmtest", "lmtest-intro.pdf"),
    ("r-cran-aer", "AER", "AER.pdf"),
    ("r-cran-mvtnorm", "mvtnorm", "MVT_Rnews.pdf"),
    ("r-cran-lme4", "lme4", "Theory.pdf"),
)
LICENCE = "GPL-2 or GPL-3 (each paper's R package, as Debian ships it)"
DEFAULT_OUT = BENCH / "papers.json"
SECTION = "papers"


def build(cache: Path = CACHE) -> Path:
    """The twelve papers in ``cache/corpus-papers`` (fetched once, then reused)."""
    folder = cache / "corpus-papers"
    if all((folder / name).is_file() for _, _, name in PAPERS):
        return folder
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for package, library, name in PAPERS:
        root = unpack(download(package, cache), cache)
        found = root / "usr" / "lib" / "R" / "site-library" / library / "doc" / name
        if not found.is_file():
            raise SystemExit(f"bench.papers: {package} has no {found.relative_to(root)}; the package changed")
        shutil.copyfile(found, scratch / name)
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    return folder


def product_tokens(index: Path, corpus: Path) -> int:
    """The tokens of the product's chunk passes (each chunk's text as embedded, up to the
    256 the model keeps), read back from the index it built."""
    from core.settings import load_settings
    from ingest import load_index
    from ingest.embedders import make_embedder

    settings = load_settings(corpus_dir=corpus, index_dir=index, llm="extractive")
    chunks = load_index(settings.index_path).chunks
    return sum(make_embedder("minilm").token_counts([c.embed_text for c in chunks]))


def one_round(corpus: Path, scratch: Path, with_stock: bool) -> dict:
    """The product's ingest from nothing, then the stock pipeline's two ways."""
    index, home = scratch / "index", scratch / "home"
    shutil.rmtree(index, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    ours = probe(REPO, "ingest", corpus, index, home)
    row = {"sourceqa": {**ours, "tokens": product_tokens(index, corpus)}}
    if with_stock:
        row["stock"] = stock.step(corpus, ours)
        row["stock_no_overlap"] = stock.step(corpus, ours, chunk_overlap=0)
    return row


def summary(rounds: list[dict]) -> dict:
    """Medians over the rounds of each side's time, CPU, chunks/s and the ratios."""
    def median(side: str, key: str) -> float | None:
        values = [r[side][key] for r in rounds if side in r and r[side].get(key) is not None]
        return statistics.median(values) if values else None

    out = {"sourceqa": {k: median("sourceqa", k) for k in ("process_s", "seconds", "cpu_s", "peak_rss_mb",
                                                          "chunks", "tokens")}}
    for side in ("stock", "stock_no_overlap"):
        if any(side in r for r in rounds):
            out[side] = {k: median(side, k) for k in ("process_s", "seconds", "cpu_s", "peak_rss_mb", "chunks",
                                                      "tokens", "vs_stock", "vs_stock_cpu", "vs_stock_in_process")}
    return out


def render(results: dict) -> str:
    """The "Twelve papers" section of bench/RESULTS.md."""
    m, med = results["machine"], results["median"]
    ours = med["sourceqa"]
    lines = ["## Twelve papers: ingest against the stock pipeline", "",
             (f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores; commit {results['commit']}; "
             f"{len(results['rounds'])} round(s), each a cold process per side from nothing, in turn; "
             f"{results['seconds'] / 60:.1f} minutes in all. Reproduce: `python -m bench.papers`; raw numbers: "
             "`bench/papers.json`."), "",
             (f"The folder: {results['documents']} whole papers as PDF ({results['pages']} pages), R package "
             f"vignettes from Debian's r-cran-* packages ({LICENCE}), fetched by the bench. The stock pipeline "
             "(`bench/library/stock.py`) reads each PDF page with pypdf as llama-index's PDFReader does, "
             "splits with `SentenceSplitter(chunk_size=256)` and embeds with the same packaged MiniLM "
             "through `HuggingFaceEmbedding` (torch); 'no overlap' sets `chunk_overlap=0`."), "",
             ("| side | chunks | tokens through the model | time, spawn to exit | CPU s | peak RSS | "
             "its time / sourceqa's | its CPU / sourceqa's |"), "| --- | --- | --- | --- | --- | --- | --- | --- |",
             (f"| sourceqa | {ours['chunks']:,.0f} | {ours['tokens']:,.0f} | {ours['process_s']:.1f} s | "
             f"{ours['cpu_s']:.1f} | {ours['peak_rss_mb']:,.0f} MB | 1.00x | 1.00x |")]
    for side, label in (("stock", "stock llama-index (overlap 200, its default)"),
                        ("stock_no_overlap", "stock llama-index, no overlap")):
        if side in med:
            s = med[side]
            lines.append(f"| {label} | {s['chunks']:,.0f} | {s['tokens']:,.0f} | {s['process_s']:.1f} s | "
                         f"{s['cpu_s']:.1f} | {s['peak_rss_mb']:,.0f} MB | **{s['vs_stock']:.2f}x** | "
                         f"{s['vs_stock_cpu']:.2f}x |")
    lines += ["", "Medians over the rounds; each round's ratios:", ""]
    for number, r in enumerate(results["rounds"], start=1):
        parts = [f"sourceqa {r['sourceqa']['process_s']:.1f} s"]
        for side in ("stock", "stock_no_overlap"):
            if side in r:
                parts.append(f"{side.replace('_', ' ')} {r[side]['process_s']:.1f} s "
                             f"({r[side]['vs_stock']:.2f}x wall, {r[side]['vs_stock_cpu']:.2f}x CPU)")
        lines.append(f"- round {number}: " + "; ".join(parts))
    return "\n".join(lines)


def pages(corpus: Path) -> int:
    import pypdf

    return sum(len(pypdf.PdfReader(str(p)).pages) for p in sorted(corpus.glob("*.pdf")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.papers", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="product, stock, stock without overlap: this many times")
    parser.add_argument("--folder", type=Path, help="measure this folder instead of the twelve papers")
    parser.add_argument("--no-stock", action="store_true", help="the product's ingest only")
    parser.add_argument("--cache", type=Path, default=CACHE, help="packages, the papers and the indexes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON (the default also "
                        "rewrites the Twelve papers section of bench/RESULTS.md)")
    args = parser.parse_args(argv)
    corpus = (args.folder or build(args.cache)).resolve()
    began = time.perf_counter()
    results: dict = {"machine": machine(), "commit": git_commit(REPO), "corpus": str(corpus),
                     "documents": len(list(corpus.glob("*.pdf"))), "pages": pages(corpus), "rounds": []}
    scratch = args.cache / "papers-run"
    for number in range(1, args.rounds + 1):
        print(f"bench.papers: round {number} of {args.rounds}", flush=True)
        results["rounds"].append(one_round(corpus, scratch, not args.no_stock))
        results["median"] = summary(results["rounds"])
        results["seconds"] = time.perf_counter() - began
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    shutil.rmtree(scratch, ignore_errors=True)
    print(render(results), flush=True)
    if args.out.resolve() == DEFAULT_OUT and not args.no_stock:
        markdown = BENCH / "RESULTS.md"
        old = markdown.read_text(encoding="utf-8") if markdown.exists() else ""
        markdown.write_text(replace_section(old, render(results), SECTION), encoding="utf-8")
        print(f"bench.papers: wrote the Twelve papers section of {markdown}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
