"""Fresh processes for the real-library benchmark: the probe (ingest, answers) and the
``sourceqa ask`` command, each timed from spawn to exit, in the checkout under test."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = Path(__file__).resolve().parent / "probe.py"
QUIET = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "GRADIO_ANALYTICS_ENABLED": "False"}


class ProbeFailed(RuntimeError):
    """A measured process exited with an error."""


def child_env(repo: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured process: the checkout under test first on the path."""
    return {**os.environ, **QUIET, "PYTHONPATH": str(repo), **(extra or {})}


def python_for(repo: Path) -> str:
    """The checkout's own virtualenv when it has one, else this interpreter."""
    own = repo / ".venv" / "bin" / "python"
    return str(own) if own.exists() else sys.executable


def probe(repo: Path, mode: str, corpus: Path, index: Path, home: Path, cases: Path | None = None,
          timeout: float | None = None) -> dict:
    """Run the probe in a new process; its result, with ``process_s`` (spawn to exit)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        command = [python_for(repo), str(PROBE), mode, "--corpus", str(corpus), "--index", str(index),
                   "--home", str(home), "--out", str(out)] + (["--cases", str(cases)] if cases else [])
        began = time.perf_counter()
        result = subprocess.run(command, cwd=repo, env=child_env(repo), timeout=timeout, check=False)
        seconds = time.perf_counter() - began
        if result.returncode or not out.exists():
            raise ProbeFailed(f"the {mode} probe failed (exit {result.returncode}) on {corpus}")
        return {**json.loads(out.read_text(encoding="utf-8")), "process_s": seconds}


def cli_command(repo: Path) -> list[str]:
    """``sourceqa`` from the checkout's virtualenv, else ``python -m app.cli``."""
    script = repo / ".venv" / "bin" / "sourceqa"
    return [str(script)] if script.exists() else [python_for(repo), "-m", "app.cli"]


def cold_start(repo: Path, corpus: Path, index: Path, home: Path, question: str, runs: int) -> dict:
    """Median wall time of ``sourceqa ask "<question>"`` (extractive) from spawn to exit."""
    env = child_env(repo, {"SOURCEQA_INDEX_DIR": str(index), "SOURCEQA_CORPUS_DIR": str(corpus),
                           "SOURCEQA_HOME": str(home), "SOURCEQA_LLM": "extractive"})
    times, output = [], ""
    for _ in range(runs):
        began = time.perf_counter()
        result = subprocess.run([*cli_command(repo), "ask", question], cwd=repo, env=env,
                                capture_output=True, text=True, timeout=600, check=False)
        times.append(time.perf_counter() - began)
        if result.returncode or not result.stdout.strip():
            raise ProbeFailed(f"sourceqa ask failed (exit {result.returncode}): {result.stderr[-800:]}")
        output = result.stdout
    return {"median_s": statistics.median(times), "times_s": times, "question": question,
            "answer_start": output.strip()[:200]}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list.

    >>> percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 95)
    (2, 4)
    """
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def git_commit(repo: Path) -> str:
    """The checkout's commit, with ``+dirty`` when it has uncommitted changes."""
    def git(*args: str) -> str:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                                check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict:
    """CPU model, cores, memory, Python and the date of this run."""
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
               platform.processor())
    memory = 0.0
    if Path("/proc/meminfo").exists():
        memory = next((int(line.split()[1]) / 1024 / 1024 for line in
                       Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0.0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory, 1),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}
