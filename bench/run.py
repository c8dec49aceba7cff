"""``make bench``: sourceqa against the llama-index quick start, then scale; writes bench/RESULTS.md.

Every number in one run on one machine; each side runs in its own process so that
peak memory is its own. ``--quick`` answers 6 questions and stops the scale part at
100k chunks (a few minutes); the full run answers 20 and goes to 1M (about 15 minutes);
``--tiny`` (the smoke test's) answers 1, once, and scales to 2,000 chunks only (about a
minute). The raw numbers (results.json) and the plot (scale.svg) are written beside
``--out``: into bench/ by default.

    python -m bench.run [--quick | --tiny] [--out bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .library.render import keep_section
from .report import render, scale_plot_svg

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def _python(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run([sys.executable, "-m", *args], check=False, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"bench: `python -m {' '.join(args)}` failed (exit {result.returncode})")
    return result


def cold_ingest(side: str, repeats: int) -> dict:
    """A new process that imports everything, loads the embedder and ingests the seed."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        result = _python("bench.pipeline", "cold-ingest", side)
        times.append(time.perf_counter() - began)
    chunks = int(result.stdout.strip().splitlines()[-1])
    return {"median": statistics.median(times), "p95": max(times), "n": repeats, "chunks": chunks}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) / 1024 / 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    from importlib.metadata import version

    packages = {name: version(name) for name in ("llama-index-core", "faiss-cpu", "llama-cpp-python",
                                                 "sentence-transformers", "torch")}
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory, 1),
            "python": platform.python_version(), "packages": packages,
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="6 questions, scale up to 100k chunks")
    size.add_argument("--tiny", action="store_true",
                      help="1 question, once, scale at 2,000 chunks (a smoke test)")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md",
                        help="the report; results.json and scale.svg go beside it")
    args = parser.parse_args(argv)
    cases, repeats = (1, 1) if args.tiny else (6, 2) if args.quick else (20, 3)
    sizes = ([2_000] if args.tiny else [10_000, 50_000, 100_000] if args.quick
             else [10_000, 50_000, 100_000, 1_000_000])
    began = time.perf_counter()
    results: dict = {"machine": machine(), "quick": args.quick, "tiny": args.tiny, "cases": cases,
                     "repeats": repeats}
    with tempfile.TemporaryDirectory() as scratch:
        for side in ("sourceqa", "baseline"):
            print(f"bench: {side}: cold ingest, warm ingest, retrieval, {cases} answers", flush=True)
            results.setdefault("cold_ingest", {})[side] = cold_ingest(side, repeats)
            out = Path(scratch) / f"{side}.json"
            _python("bench.pipeline", side, "--cases", str(cases), "--repeats", str(repeats), "--out", str(out))
            results[side] = json.loads(out.read_text())
        print("bench: ingest, one pass per chunk against every sentence embedded again", flush=True)
        out = Path(scratch) / "one_pass.json"
        _python("bench.one_pass", "--repeats", str(repeats), "--out", str(out),
                *(["--corpus", str(REPO / "corpus")] if args.tiny else []))
        results["one_pass"] = json.loads(out.read_text())
        print(f"bench: scale at {', '.join(f'{s:,}' for s in sizes)} chunks", flush=True)
        out = Path(scratch) / "scale.json"
        _python("bench.scale", "--sizes", *map(str, sizes), "--out", str(out))
        results["scale"] = json.loads(out.read_text())
    results["seconds"] = time.perf_counter() - began
    folder = args.out.resolve().parent
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    (folder / "scale.svg").write_text(scale_plot_svg(results["scale"]))
    # The "Real library" section (python -m bench.library) is carried over, never clobbered.
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    args.out.write_text(keep_section(old, render(results)))
    print(f"bench: done in {results['seconds'] / 60:.1f} min; wrote {args.out}, {folder / 'results.json'}, "
          f"{folder / 'scale.svg'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
