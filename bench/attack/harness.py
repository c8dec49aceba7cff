"""The harness: constants, logging, the tally of tries, child processes and the checkout."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

TIMEOUT = 60  # seconds, every HTTP request unless said otherwise
MB = 1_000_000
QUESTION = "What is calcinosis cutis?"
TOKEN = "t0ken"


def say(message: str) -> None:
    print(f"[attack {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def short(value: object, limit: int = 160) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


# -- results --------------------------------------------------------------------------------
@dataclass
class Tally:
    """One attack's count; kept even when the attack stops halfway with an exception."""

    name: str
    tries: int = 0
    failures: int = 0
    examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def check(self, failed: bool, what: str) -> bool:
        """Count one try; ``what`` describes it (kept as an example when it failed)."""
        self.tries += 1
        return self.record(failed, what)

    def record(self, failed: bool, what: str) -> bool:
        """Log a try's outcome, counting it as a failure when it failed (not as a try)."""
        if failed:
            self.failures += 1
            if len(self.examples) < 3:
                self.examples.append(short(what, 300))
        say(f"  {'FAIL' if failed else 'ok  '} {short(what, 140)}")
        return failed

    def as_dict(self) -> dict:
        data = {"attack": self.name, "tries": self.tries, "failures": self.failures,
                "examples": self.examples, "seconds": round(self.seconds, 1)}
        if self.notes:
            data["notes"] = self.notes
        if self.error:
            data["error"] = self.error
        return data


# -- processes ------------------------------------------------------------------------------
_children: set[subprocess.Popen] = set()


def spawn(args: list[str], *, cwd: Path, env: dict, **popen) -> subprocess.Popen:
    """Start a process in its own group (so that all it starts can be killed with it)."""
    process = subprocess.Popen(args, cwd=cwd, env=env, start_new_session=True, **popen)
    _children.add(process)
    return process


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    else:  # the leader is gone; its group may not be
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    _children.discard(process)


def kill_all() -> None:
    for process in list(_children):
        kill(process)


@dataclass
class Run:
    rc: int | None  # None: killed at the timeout
    out: str
    err: str
    seconds: float

    @property
    def both(self) -> str:
        return self.out + self.err


def run(args: list[str], *, cwd: Path, env: dict, timeout: float) -> Run:
    """Run a command to the end or to ``timeout`` (then its whole group is killed)."""
    began = time.monotonic()
    process = spawn(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL, text=True, errors="replace")
    try:
        out, err = process.communicate(timeout=timeout)
        rc = process.returncode
    except subprocess.TimeoutExpired:
        kill(process)
        out, err = process.communicate()
        rc = None
    finally:
        kill(process)
    return Run(rc, out or "", err or "", time.monotonic() - began)


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` from /proc (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakRss(threading.Thread):
    """Samples a process's RSS every 50 ms while in a ``with`` block."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.before = rss_bytes(pid)
        self.peak = self.before
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._done.wait(0.05)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.5)  # memory still held by a request that has just been answered
        self._done.set()
        self.join()

    @property
    def rise_mb(self) -> float:
        return (self.peak - self.before) / MB


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the checkout under attack --------------------------------------------------------------
class Product:
    """A checkout of sourceqa and the environment its processes run in."""

    def __init__(self, repo: Path, work: Path) -> None:
        self.repo = repo
        self.work = work

    def env(self, home: Path, corpus: Path, **settings: str) -> dict:
        """The process environment: no inherited SOURCEQA_* variable, then ours."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCEQA_")}
        env.update({
            "PYTHONPATH": str(self.repo), "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
            "TOKENIZERS_PARALLELISM": "false", "SOURCEQA_HOME": str(home),
            "SOURCEQA_CORPUS_DIR": str(corpus), "SOURCEQA_LLM": "extractive",
        })
        env.update({f"SOURCEQA_{k.upper()}": v for k, v in settings.items()})
        return env

    def cli(self, args: list[str], env: dict, timeout: float = 300, cwd: Path | None = None) -> Run:
        return run([sys.executable, "-m", "app.cli", *args], cwd=cwd or self.repo, env=env, timeout=timeout)

    def python(self, code: str, env: dict, timeout: float = 300) -> Run:
        return run([sys.executable, "-c", code], cwd=self.repo, env=env, timeout=timeout)

    def folder(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))
        return path

    def corpus_copy(self) -> Path:
        corpus = self.folder("corpus")
        shutil.copytree(self.repo / "corpus", corpus, dirs_exist_ok=True)
        return corpus

    def commit(self) -> str:
        done = subprocess.run(["git", "-C", str(self.repo), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=False)
        return done.stdout.strip() or "unknown"

    def dirty(self) -> bool:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(self.repo), "status", "--porcelain",
                               "--untracked-files=no"], capture_output=True, text=True, check=False)
        return bool(done.stdout.strip())
