"""bench/library without models or apt: the library's assembly counts chunks as the ingest
does, is deterministic, nests smaller sizes in larger ones and always holds the seed; the
answers comparison; the RESULTS.md section rewrite; the table's targets; the plot."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

import pytest

from bench.library import corpus as corpus_module
from bench.library.assemble import assemble, chunk_counter, prefix
from bench.library.compare import compare
from bench.library.debian import Package
from bench.library.measure import percentile
from bench.library.plot import plot_svg
from bench.library.render import (
    BEGIN,
    END,
    keep_section,
    marked_section,
    replace_section,
    section,
    targets,
)
from bench.library.sources import Doc, Source, corpus_path
from core.settings import load_settings
from ingest.clean import clean_page
from ingest.pipeline import _chunks
from ingest.readers import scan_corpus

SENTENCE = "The {what} number {n} runs past the old mill and feeds the lake below the town."


def _text(title: str, paragraphs: int, n: int) -> bytes:
    body = "\n\n".join(" ".join(SENTENCE.format(what=title.lower(), n=n * 100 + p + k)
                                for k in range(6)) for p in range(paragraphs))
    return f"{title} {n}\n\n{body}\n".encode()


def _source(name: str, count: int, sizes: tuple[int, ...] = (1, 3, 8)) -> Source:
    def docs():
        for n in range(count):
            yield Doc(f"{name}/doc-{n:03d}.txt", _text(name.capitalize(), sizes[n % len(sizes)], n))
    return Source(name, f"{name} licence", f"{name} origin", docs)


SEED = [Doc("seed_article.txt", _text("Seed", 4, 0))]
COUNT = chunk_counter(120, False, 50_000_000)


def test_the_library_reaches_its_size_mixes_sources_and_puts_the_seed_first():
    entries = assemble(SEED, [_source("river", 40), _source("canal", 40)], 200, COUNT)
    library = prefix(entries, 60)
    total = sum(e.chunks for e in library)
    assert abs(total - 60) <= 4
    for other in (len(library) - 1, len(library) + 1):  # no other prefix is closer
        assert abs(sum(e.chunks for e in entries[:other]) - 60) >= abs(total - 60)
    assert library[0].doc == SEED[0] and library[0].source == "seed"
    assert {e.source for e in library} == {"seed", "river", "canal"}


def test_the_assembly_is_deterministic_and_smaller_sizes_are_prefixes():
    def paths(target: int) -> list[str]:
        entries = assemble(SEED, [_source("river", 40), _source("canal", 40)], 80, COUNT)
        return [e.doc.path for e in prefix(entries, target)]

    small, large = paths(20), paths(80)
    assert paths(80) == large
    assert len(small) < len(large) and large[:len(small)] == small


def test_the_seed_is_kept_whole_even_above_the_size_and_copies_are_left_out():
    seeds = [Doc("a.txt", _text("Alpha", 8, 1)), Doc("b.txt", _text("Beta", 8, 2))]
    copy = Source("copies", "", "", lambda: iter([Doc("copies/a.txt", seeds[0].data)]))
    entries = assemble(seeds, [copy, _source("river", 5)], 1, COUNT)
    assert [e.doc.path for e in prefix(entries, 1)] == ["a.txt", "b.txt"]
    assert "copies/a.txt" not in [e.doc.path for e in assemble(seeds, [copy], 10_000, COUNT)]


def test_the_counter_gives_nothing_for_what_the_ingest_skips():
    assert COUNT(Doc("x.pdf.bin", b"not a corpus file")) == 0
    assert COUNT(Doc("x.txt", b"\x00\x01binary")) == 0
    assert chunk_counter(120, False, 10)(Doc("x.txt", _text("Big", 3, 0))) == 0


def test_built_folders_hold_what_the_product_counts_and_are_reused(tmp_path, monkeypatch):
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    (seed_dir / "seed_article.txt").write_bytes(SEED[0].data)
    monkeypatch.setattr(corpus_module, "debian_sources", lambda cache: [_source("river", 30)])
    cache = tmp_path / "cache"
    records = corpus_module.build([30, 90], cache, None, seed_dir)
    assert list(records) == ["seed", "30", "90"]
    settings = load_settings()
    for label, record in records.items():
        documents, skipped = scan_corpus(cache / f"corpus-{label}")
        cleaned = [clean_page(d.text, d.source, d.page_starts) for d in documents]
        assert not skipped and len(documents) == record["documents"]
        assert len(_chunks(cleaned, settings)) == record["chunks"]
        assert (cache / f"corpus-{label}" / "seed_article.txt").read_bytes() == SEED[0].data
    assert records["seed"]["documents"] == 1
    assert set(records["30"]["files"]) < set(records["90"]["files"])
    assert records["90"]["sources"]["river"]["licence"] == "river licence"
    again = corpus_module.build([30, 90], cache, None, seed_dir)
    assert again["90"]["built"] == records["90"]["built"] and again["90"]["files"] == records["90"]["files"]
    (cache / "corpus-30" / "seed_article.txt").write_text("tampered")
    assert corpus_module.reusable(cache, "30", records["30"]["recipe_sha"]) is None


def test_package_files_skip_link_lists_and_gz_text_is_renamed_to_txt():
    package = Package("docs", "x-doc", "html", (".html", ".rst.gz"), "")
    assert package.wanted(PurePosixPath("library/json.html"))
    assert package.wanted(PurePosixPath("howto/index.html"))
    assert not package.wanted(PurePosixPath("index.html"))
    assert not package.wanted(PurePosixPath("genindex-A.html"))
    assert not package.wanted(PurePosixPath("_static/page.html"))
    assert not package.wanted(PurePosixPath("library/json.css"))
    assert corpus_path("linux", "PCI/pci.rst.gz") == "linux/PCI/pci.rst.txt"


def _answer(ident: str, text: str, cites: list) -> dict:
    return {"id": ident, "text": text, "abstained": not text, "citations": cites}


def test_answers_are_identical_only_with_the_same_text_and_citations():
    reference = [_answer("a", "It is calcium.", [["s.txt", 1, 9]]), _answer("b", "Rare.", [["s.txt", 20, 30]]),
                 _answer("c", "", []), _answer("d", "Skin.", [["s.txt", 40, 50]])]
    answers = [_answer("a", "It is calcium.", [["s.txt", 1, 9]]), _answer("b", "Rare.", [["s.txt", 20, 31]]),
               _answer("c", "", [])]
    assert compare(reference, answers) == {"identical": 2, "total": 4, "differ": ["b", "d"],
                                           "kinds": {"answer changed": 1, "missing": 1}}
    assert compare(reference, reference)["identical"] == 4
    declined = [_answer("c", "", []) | {"text": "Not in the source; nearest: Causes."}]
    flipped = [_answer("a", "", [])]
    assert compare(reference[2:3], declined)["kinds"] == {"declined, worded differently": 1}
    assert compare(reference[:1], flipped)["kinds"] == {"abstention changed": 1}


def test_the_section_is_replaced_between_its_markers_and_everything_else_kept():
    text = f"# Benchmarks\n\nabove\n\n{BEGIN}\nold section\n{END}\n\nbelow\n"
    replaced = replace_section(text, "## Real library\n\nnew")
    assert replaced == f"# Benchmarks\n\nabove\n\n{BEGIN}\n## Real library\n\nnew\n{END}\n\nbelow\n"
    assert replace_section(replaced, "## Real library\n\nnew") == replaced
    appended = replace_section("# Benchmarks\n", "fresh")
    assert appended == f"# Benchmarks\n\n{BEGIN}\nfresh\n{END}\n"
    assert keep_section(text, "# Benchmarks\n\nrerendered\n") == (
        f"# Benchmarks\n\nrerendered\n\n{BEGIN}\nold section\n{END}\n")
    assert keep_section("# no section\n", "# new\n") == "# new\n"
    both = replace_section(text, "twelve papers", "papers")  # bench.papers' section beside it
    assert replace_section(both, "twelve papers", "papers") == both
    kept = keep_section(both, "# Benchmarks\n\nrerendered\n")
    assert marked_section(kept) == "old section" and marked_section(kept, "papers") == "twelve papers"
    noted = keep_section(replace_section(both, "by hand", "notes"), "# Benchmarks\n\nrerendered\n")
    assert marked_section(noted, "notes") == "by hand"  # the hand-written notes outlive make bench


def _row(chunks: int, p50: float, p95: float, rss: float, rate: float | None, same: int) -> dict:
    return {"corpus": {"chunks": chunks, "documents": chunks // 10, "sources": {
                "seed": {"documents": 1, "chunks": 17, "licence": "CC BY-SA"}}},
            "ingest": {"chunks": chunks, "seconds": chunks / (rate or 100), "chunks_per_s": rate,
                       "peak_rss_mb": rss * 1.5},
            "reingest": {"median_s": 0.4}, "identical": {"identical": same, "total": 3, "differ": ["x"] * (3 - same),
                         "kinds": {"answer changed": 3 - same} if same < 3 else {}},
            "answering": {"first_answer_s": 3.0, "p50_ms": p50, "p95_ms": p95, "peak_rss_mb": rss}}


RESULTS = {"machine": {"date": "today", "cpu": "a CPU", "cores": 2, "memory_gb": 8, "python": "3.11"},
           "commit": "abc", "label": "current", "runs": 1, "cases": 3, "seconds": 60,
           "sizes": {"seed": {**_row(17, 20, 40, 900, 50, 3), "cold_start": {"median_s": 2.5}},
                     "1000": _row(1001, 60, 120, 950, 350, 3), "100000": _row(100036, 170, 280, 1400, 320, 2)}}
RESULTS["sizes"]["seed"]["answering"]["answers"] = [
    {"id": "x", "question": "Which two?", "text": "One is here. [1] Two is there. [2]", "abstained": False}]
RESULTS["sizes"]["100000"]["answering"]["answers"] = [
    {"id": "x", "question": "Which two?", "text": "One is here. [1] Three is | far. [2]", "abstained": False}]


def test_the_table_says_which_targets_were_met():
    goals = targets(RESULTS)
    assert goals["ingest"].endswith(": met")  # the seed's 50 chunks/s does not count
    assert goals["latency"].endswith("**missed**")  # p50 170 ms at 100k
    assert goals["rss"].endswith(": met") and goals["cold_start"].endswith(": met")
    assert goals["reingest"].endswith(": met")
    assert goals["identical"].endswith("**missed**")
    without_100k = {**RESULTS, "sizes": {k: v for k, v in RESULTS["sizes"].items() if k != "100000"}}
    assert targets(without_100k)["latency"].endswith("not measured")
    text = section(RESULTS)
    assert "| measure | seed | 1,000 | 100,000 | target / met? |" in text
    assert "| 170 / 280 ms |" in text and "- 100,000 chunks: 1 answer changed." in text
    assert '`x` (Which two?) the library\'s answer drops "Two is there."; adds "Three is / far."' in text


def test_the_stock_pipeline_is_shown_beside_the_ingest_and_its_target_read_at_10k():
    from bench.library.stock import too_big

    stock = {"chunks": 1500, "seconds": 90.0, "chunks_per_s": 16.7, "peak_rss_mb": 900.0, "vs_stock": 2.5}
    results = json.loads(json.dumps(RESULTS))
    results["sizes"]["10000"] = {**results["sizes"]["1000"], "stock_ingest": stock}
    assert targets(results)["vs_stock"] == ">= 2x at 10k: met"
    assert targets(RESULTS)["vs_stock"] == ">= 2x at 10k: not measured"
    text = section(results)
    assert "| 17 (1,500 chunks, 90.0 s) |" in text and "| 2.50x | - | >= 2x at 10k: met |" in text
    assert "| 900 MB |" in text
    assert not too_big("seed") and not too_big("10000") and too_big("100000")
    lean = {"chunks": 700, "seconds": 40.0, "chunks_per_s": 17.5, "vs_stock": 1.25, "vs_stock_cpu": 1.5,
            "tokens": 150_000}
    results["sizes"]["10000"].update(stock_no_overlap=lean, ingest={**results["sizes"]["10000"]["ingest"],
                                                                  "tokens": 140_000})
    results["sizes"]["10000"]["stock_ingest"]["tokens"] = 380_000
    text = section(results)
    assert "| 18 (700 chunks, 40.0 s) |" in text and "| 1.25x (1.50x) |" in text
    assert "| 140,000 / 380,000 / 150,000 |" in text


def test_an_older_checkout_is_shown_before_and_after_on_the_libraries_both_measured():
    before = json.loads(json.dumps(RESULTS))
    del before["sizes"]["100000"]
    before["sizes"]["1000"]["answering"].update(p50_ms=90, p95_ms=200)
    before.update(label="before", commit="0123456789abcdef")
    text = section(RESULTS, before)
    assert "before (commit 0123456789ab" in text
    assert "| measure | seed | 1,000 |\n" in text  # 100k: measured by one run only
    assert "| answer latency p50 / p95 (extractive) | 20 / 40 ms -> 20 / 40 ms | 90 / 200 ms -> 60 / 120 ms |" in text
    assert "| answers identical between the two runs (same library) | 1/1 | 0/0 |" in text
    before["sizes"]["1000"]["corpus"]["chunks"] = 990  # another library of about 1k chunks
    assert "| measure | seed |\n" in section(RESULTS, before)
    before["sizes"]["seed"]["corpus"]["digest"] = "other files"  # a digest wins over the counts
    with_digest = json.loads(json.dumps(RESULTS))
    with_digest["sizes"]["seed"]["corpus"]["digest"] = "these files"
    assert "Before and after" not in section(with_digest, before)
    assert "Before and after" not in section(RESULTS)


class _Place:
    """Answers of three runs: the same ones, with the latencies given."""

    def __init__(self, latencies: list[list[float]], texts: list[str]) -> None:
        self.runs, self.texts = iter(latencies), iter(texts)

    def probe(self, mode: str, cases=None) -> dict:
        seconds, text = next(self.runs), next(self.texts)
        return {"answers": [{"id": str(i), "seconds": s, "text": text, "abstained": False, "citations": []}
                            for i, s in enumerate(seconds)], "peak_rss_mb": 100 + len(text), "process_s": 1.0}


def test_answering_reports_the_median_of_its_runs_and_whether_they_agree():
    from bench.library.__main__ import answer_step

    runs = [[9.0, 0.1, 0.2, 0.3], [8.0, 0.2, 0.3, 0.4], [7.0, 0.3, 0.4, 0.5]]
    result = answer_step(_Place(runs, ["a", "a", "a"]), Path("cases"), runs=3)
    assert result["p50_ms"] == pytest.approx(300) and result["first_answer_s"] == 8.0
    assert result["p95_ms"] == pytest.approx(400) and len(result["runs"]) == 3
    assert result["stable"] and result["peak_rss_mb"] == 101
    assert not answer_step(_Place(runs, ["a", "b", "a"]), Path("cases"), runs=3)["stable"]


def test_the_plot_draws_latency_and_memory_against_size(tmp_path):
    svg = plot_svg(json.loads(json.dumps(RESULTS)))
    root = ET.fromstring(svg)
    tag = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{tag}polyline")) == 4
    assert len(root.findall(f"{tag}circle")) == 12  # 4 lines x 3 sizes
    labels = [t.text for t in root.findall(f"{tag}text")]
    assert "100,036" in labels and "answer latency (ms)" in labels
    assert plot_svg({"sizes": {}}).startswith("<svg")


@pytest.mark.parametrize("values, q, expected", [([5], 95, 5), ([1, 2, 3, 4], 50, 2),
                                                 (list(range(1, 101)), 95, 95)])
def test_percentile_is_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected


def test_the_probe_runs_by_path_without_bench_on_its_path():
    probe = Path(__file__).resolve().parent.parent / "bench" / "library" / "probe.py"
    source = probe.read_text(encoding="utf-8")
    assert "from bench" not in source and "import bench" not in source
