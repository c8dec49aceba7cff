"""Every bench entry point run for real on a tiny size, so a refactor cannot break one unseen:
``bench.run`` (with ``bench.pipeline`` and ``bench.scale`` under it), ``bench.scale``,
``bench.library``, ``bench.papers`` (on a PDF the test writes), ``bench.attack`` (one cheap
attack) and ``bench.pgscale`` (pgserver), each
a ``python -m bench.X`` process with its real command line, writing into tmp_path only (the
results files in bench/ are checked untouched). About a minute and a half on 2 cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CASES = REPO / "evals" / "data" / "cases.jsonl"


def bench(module: str, *args: str, env: dict[str, str] | None = None,
          timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m bench.<module> args`` from the repository root; fails the test on an error."""
    environ = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    done = subprocess.run([sys.executable, "-m", f"bench.{module}", *args], cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, (f"python -m bench.{module} {' '.join(args)} exited {done.returncode}:\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done


@pytest.fixture(autouse=True)
def bench_results_untouched():
    """The committed results (bench/*.json, *.md, *.svg) are neither written nor added to."""
    def snapshot() -> dict[str, int]:
        return {p.name: p.stat().st_mtime_ns for p in BENCH.iterdir()
                if p.is_file() and p.suffix in {".json", ".md", ".svg"}}

    before = snapshot()
    yield
    assert snapshot() == before


def _positive(*values: float) -> bool:
    return all(isinstance(v, int | float) and v > 0 for v in values)


def test_every_entry_point_says_how_to_run_it_small():
    for module, option in (("run", "--tiny"), ("scale", "--sizes"), ("library", "--tiny"),
                           ("attack", "--only"), ("pgscale", "--rows"), ("one_pass", "--repeats"),
                           ("papers", "--folder")):
        assert option in bench(module, "--help", timeout=120).stdout, module


def test_bench_run_tiny_measures_both_sides_and_scale(tmp_path):
    out = tmp_path / "RESULTS.md"
    bench("run", "--tiny", "--out", str(out), timeout=400)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["tiny"] and results["cases"] == 1 and results["repeats"] == 1
    cases = sum(1 for line in CASES.read_text().splitlines() if line.strip())
    for side in ("sourceqa", "baseline"):
        cold, measured = results["cold_ingest"][side], results[side]
        assert cold["n"] == 1 and cold["chunks"] > 0 and _positive(cold["median"])
        assert measured["side"] == side and measured["ingest_warm"]["chunks"] > 0
        assert _positive(measured["ingest_warm"]["chunks_per_s"], measured["peak_rss_mb"])
        assert measured["retrieval"]["n"] == cases and _positive(measured["retrieval"]["median"])
        assert measured["answer"]["n"] == 1 and _positive(measured["answer"]["median"])
        assert measured["fidelity"]["cases"] == 1 and len(measured["answers"]) == 1
    assert "ingest_unchanged" in results["sourceqa"]
    one_pass = results["one_pass"]  # one text per chunk embedded, against each chunk and sentence
    assert one_pass["one_pass"]["embedded"] == one_pass["one_pass"]["chunks"] < one_pass["alone"]["embedded"]
    assert _positive(one_pass["speedup"]) and "## Ingest: one pass per chunk" in out.read_text()
    [row] = results["scale"]
    assert row["chunks"] == 2000 and row["ivf"]["kind"].startswith("ivf")
    assert set(row["ivf"]["by_nprobe"]) == {"32", "8", "16", "64"}
    assert _positive(row["flat"]["index_mb"], row["ivf"]["index_mb"], row["flat"]["p95_ms"])
    report = out.read_text()
    assert report.startswith("# Benchmarks") and "`--tiny`" in report and "| 2,000 |" in report
    assert ET.parse(tmp_path / "scale.svg").getroot().tag.endswith("svg")


def test_bench_scale_saves_through_the_product_and_nprobe_reaches_the_index(tmp_path):
    out = tmp_path / "scale.json"
    bench("scale", "--sizes", "2000", "--nprobe", "1", "64", "--out", str(out))
    [row] = json.loads(out.read_text())
    assert row["chunks"] == 2000 and row["ivf"]["kind"] == "ivf44"  # ivf_lists(2000)
    assert row["flat"]["index_mb"] == pytest.approx(2000 * 384 * 4 / 1e6, rel=0.01)  # float32 rows
    assert row["ivf"]["index_mb"] > row["flat"]["index_mb"]  # the same rows, plus the centroids
    one, every = row["ivf"]["by_nprobe"]["1"], row["ivf"]["by_nprobe"]["64"]
    assert every["recall_at_10"] >= 0.99  # 64 >= 44 lists probed: exhaustive, as exact as flat
    assert one["recall_at_10"] < every["recall_at_10"]
    assert _positive(row["flat"]["build_s"], row["ivf"]["build_s"], one["p50_ms"], row["peak_rss_mb"])


def test_bench_library_tiny_builds_from_the_repository_alone(tmp_path):
    # apt-get and dpkg that fail loudly: the tiny library must not fetch Debian packages.
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("apt-get", "dpkg"):
        (tools / name).write_text(f"#!/bin/sh\necho called > {tmp_path / 'fetched'}\nexit 97\n")
        (tools / name).chmod(0o755)
    cases = tmp_path / "cases.jsonl"
    lines = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    picked = [next(c for c in lines if c["answerable"]), next(c for c in lines if not c["answerable"])]
    cases.write_text("".join(json.dumps(c) + "\n" for c in picked))
    out = tmp_path / "library.json"
    bench("library", "--tiny", "--cases", str(cases), "--cache", str(tmp_path / "cache"),
          "--data", str(tmp_path / "no-shared-data"), "--out", str(out),
          env={"PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"})
    assert not (tmp_path / "fetched").exists()
    results = json.loads(out.read_text())
    assert results["tiny"] and results["runs"] == 1 and results["cases"] == 2
    assert set(results["sizes"]) == {"seed", "100"}
    library = results["sizes"]["100"]
    assert 70 <= library["corpus"]["chunks"] <= 130
    assert {"seed", "repo-docs", "repo-squad2"} >= set(library["corpus"]["sources"]) > {"seed"}
    for label, row in results["sizes"].items():
        assert row["ingest"]["chunks"] == row["corpus"]["chunks"] and row["ingest"]["embedded"] > 0, label
        assert row["reingest"]["all_unchanged"], label
        assert len(row["answering"]["answers"]) == 2 and _positive(row["answering"]["first_answer_s"]), label
    stock = library["stock_ingest"]  # the stock llama-index pipeline on the same folder (--tiny: not the seed)
    assert stock["chunks"] > 0 and _positive(stock["chunks_per_s"], stock["vs_stock"], stock["peak_rss_mb"])
    assert stock["chunk_overlap"] == 200 and stock["tokens"] > library["ingest"]["tokens"] > 0
    assert "stock_no_overlap" not in library  # --tiny leaves it to bench.papers' smoke test, below
    assert "stock_ingest" not in results["sizes"]["seed"]
    assert _positive(results["sizes"]["seed"]["cold_start"]["median_s"])
    assert library["identical"]["total"] == 2


def test_bench_papers_measures_the_product_and_both_stock_pipelines_on_a_pdf_folder(tmp_path):
    from tests.test_formats import write_pdf

    folder = tmp_path / "papers"
    folder.mkdir()
    write_pdf(folder / "handbook.pdf")
    out = tmp_path / "papers.json"
    done = bench("papers", "--folder", str(folder), "--rounds", "1", "--cache", str(tmp_path / "cache"),
                 "--out", str(out), timeout=400)
    results = json.loads(out.read_text())
    assert results["documents"] == 1 and results["pages"] == 3 and len(results["rounds"]) == 1
    [row] = results["rounds"]
    ours, stock, lean = row["sourceqa"], row["stock"], row["stock_no_overlap"]
    assert ours["chunks"] > 0 and ours["tokens"] > 0 and _positive(ours["process_s"], ours["cpu_s"])
    assert stock["documents"] == 3  # a Document per page, read with pypdf (not the file's raw bytes)
    assert stock["chunk_overlap"] == 200 and lean["chunk_overlap"] == 0
    assert stock["tokens"] >= lean["tokens"] > 0 and _positive(stock["vs_stock"], lean["vs_stock_cpu"])
    assert "| stock llama-index, no overlap |" in done.stdout
    assert not (tmp_path / "cache" / "papers-run").exists()


def test_bench_attack_runs_one_cheap_attack(tmp_path):
    out = tmp_path / "attack.json"
    done = bench("attack", "--repo", str(REPO), "--out", str(out), "--only", "8")
    report = json.loads(out.read_text())
    [attack] = report["attacks"]
    assert attack["attack"] == "file names as HTML" and "error" not in attack
    assert attack["tries"] >= 1 and attack["failures"] == 0
    assert Path(report["imports_from"]).is_relative_to(REPO) and report["commit"]
    assert "| file names as HTML | 1 | 0 |" in done.stdout


def test_bench_pgscale_tiny(tmp_path):
    pytest.importorskip("pgserver")
    out = tmp_path / "pgscale.json"
    bench("pgscale", "--rows", "1000", "--queries", "10", "--out", str(out))
    [row] = json.loads(out.read_text())
    assert row["rows"] == 1000
    assert _positive(row["load_s"], row["exact_p50_ms"], row["hnsw_build_s"], row["table_mb"], row["indexes_mb"])
    for ef in (40, 100, 200):
        assert 0 < row[f"hnsw_ef{ef}"]["recall_at_10"] <= 1 and _positive(row[f"hnsw_ef{ef}"]["p95_ms"])
    assert row["hnsw_ef200"]["recall_at_10"] >= 0.9
