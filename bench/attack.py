"""A black-box attack on any checkout of sourceqa (issue 13): tries, and failures seen.

    cd /work/main && .venv/bin/python -m bench.attack --repo DIR --out FILE.json [--only 1,3,10]

The product is launched *from* ``--repo`` (its CLI in subprocesses with ``cwd`` and
``PYTHONPATH`` there, run by this interpreter), never imported here, so the same script
measures an old commit (a ``git worktree``) and the current tree alike. Each run gets its
own temporary home (``SOURCEQA_HOME``), a copy of the repo's ``corpus/``, the extractive
backend, a free port, offline model loading, and a fresh temporary folder as the server's
working directory; every process it starts is killed at the end, on Ctrl-C too.

Each attack is a list of *tries*; a try *fails* when the defect it looks for is observed
(the docstring of each ``attack_*`` function says exactly when). The JSON written to
``--out`` is ``{"repo", "commit", "attacks": [{"attack", "tries", "failures",
"examples"}]}``; an attack that could not run has an ``"error"`` field instead of a crash.
A markdown table ``| attack | tries | failures |`` is printed at the end; progress goes to
stderr. One run takes about 6 to 10 minutes on 2 cores.

Versions differ in their internals; the script depends only on the CLI (``ingest``,
``ask --json``, ``serve --port``), the HTTP API, the settings both versions know, the
index layout (``CURRENT``, ``manifest.json``), and three Python entry points named by the
issue: ``qa.llms.packaged_smollm2``, ``core.text.split_sentences`` and
``app.web.ChatSession(...).status()``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

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


# -- raw HTTP -------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int | None  # None: no HTTP answer (the connection was closed or reset)
    headers: dict[str, str]
    body: bytes
    note: str = ""

    def json(self) -> object:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error(self) -> str | None:
        data = self.json()
        return data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), str) else None

    def __str__(self) -> str:
        if self.status is None:
            return f"no answer ({self.note})"
        return f"{self.status} {short(self.body, 120)}"


REFUSED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected)


class Client:
    """Raw requests to one server: any path, any Host header, streamed bodies."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = headers or {}

    def _open(self, method: str, path: str, headers: dict[str, str], timeout: float):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        merged = {"Host": f"127.0.0.1:{self.port}", **self.headers, **headers}
        for name, value in merged.items():
            conn.putheader(name, value)
        return conn

    @staticmethod
    def _answer(conn, note: str = "", timeout: float = TIMEOUT) -> Reply:
        """The status, headers and body, reading the body for at most ``timeout`` seconds
        and 8 MB (an event stream never ends; what came by then is the body)."""
        sock, deadline = conn.sock, time.monotonic() + timeout
        try:
            response = conn.getresponse()
        except REFUSED as error:
            conn.close()
            return Reply(None, {}, b"", note or f"refused early ({type(error).__name__})")
        except TimeoutError:
            conn.close()
            return Reply(None, {}, b"", (note + "; " if note else "") + "no answer within the timeout")
        headers = {k.lower(): v for k, v in response.getheaders()}
        body = bytearray()
        try:
            while len(body) < 8 * MB:
                left = deadline - time.monotonic()
                if left <= 0:
                    note = (note + "; " if note else "") + "body still streaming at the timeout"
                    break
                sock.settimeout(left)
                piece = response.read1(65536)
                if not piece:
                    break
                body += piece
        except (TimeoutError, *REFUSED, http.client.IncompleteRead) as error:
            note = (note + "; " if note else "") + f"body cut short ({type(error).__name__})"
        finally:
            conn.close()
            response.close()
        return Reply(response.status, headers, bytes(body), note)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = TIMEOUT) -> Reply:
        headers = dict(headers or {})
        if body is not None:
            headers.setdefault("Content-Length", str(len(body)))
        conn = self._open(method, path, headers, timeout)
        try:
            conn.endheaders(body)
        except REFUSED as error:
            conn.close()
            return Reply(None, {}, b"", f"refused early ({type(error).__name__})")
        return self._answer(conn, timeout=timeout)

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post_json(self, path: str, data: object, headers: dict[str, str] | None = None,
                  timeout: float = TIMEOUT) -> Reply:
        return self.request("POST", path, json.dumps(data).encode(),
                            {"Content-Type": "application/json", **(headers or {})}, timeout)

    def ask(self, question: str = QUESTION, timeout: float = TIMEOUT, **extra) -> Reply:
        return self.post_json("/api/ask", {"question": question, **extra}, timeout=timeout)

    def stream_body(self, path: str, pieces: Iterable[bytes], *, chunked: bool, length: int | None = None,
                    headers: dict[str, str] | None = None, timeout: float = TIMEOUT) -> Reply:
        """POST a body piece by piece; stop as soon as the server answers or hangs up."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        headers["Transfer-Encoding" if chunked else "Content-Length"] = "chunked" if chunked else str(length)
        conn = self._open("POST", path, headers, timeout)
        conn.endheaders()
        sent, note = 0, ""
        try:
            for piece in pieces:
                if select.select([conn.sock], [], [], 0)[0]:
                    note = f"server answered after {sent / MB:.1f} MB"
                    break
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            else:
                if chunked:
                    conn.send(b"0\r\n\r\n")
                note = f"all {sent / MB:.1f} MB sent"
        except REFUSED as error:
            note = f"refused early after {sent / MB:.1f} MB ({type(error).__name__})"
        except TimeoutError:
            note = f"sending stalled after {sent / MB:.1f} MB"
        return self._answer(conn, note, timeout)


def pieces_of(total: int, size: int = MB, fill: bytes = b"A", head: bytes = b"", tail: bytes = b"") -> Iterator[bytes]:
    """``head``, then ``fill`` repeated to ``total`` bytes in all, then ``tail``."""
    if head:
        yield head
    left = total - len(head) - len(tail)
    block = fill * size
    while left > 0:
        yield block[:min(size, left)]
        left -= size
    if tail:
        yield tail


# -- the server -----------------------------------------------------------------------------
class Server:
    """``python -m app.cli serve`` from the checkout, in a fresh working folder."""

    def __init__(self, product: Product, env: dict, label: str) -> None:
        self.product = product
        self.env = env
        self.label = label
        self.port = free_port()
        self.cwd = product.folder(f"{label}-cwd")
        self.log = product.work / f"{label}.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, ready: Callable[[Reply], bool], timeout: float = 420) -> None:
        say(f"starting the {self.label} server on port {self.port}")
        with open(self.log, "wb") as log:
            self.process = spawn([sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                                 cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        client = Client(self.port)
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.label} server exited ({self.process.returncode}): {self.log_tail()}")
            reply = client.get("/healthz", timeout=10) if self._listening() else None
            if reply is not None and ready(reply):
                say(f"the {self.label} server is up after {time.monotonic() - began:.0f} s")
                return
            time.sleep(1)
        raise RuntimeError(f"the {self.label} server was not ready in {timeout:.0f} s: {self.log_tail()}")

    def _listening(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def log_tail(self, chars: int = 600) -> str:
        try:
            return short(self.log.read_text("utf-8", "replace")[-chars:], chars)
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None:
            kill(self.process)


# -- the context shared by the attacks ------------------------------------------------------
@dataclass
class Context:
    product: Product
    server: Server | None = None
    client: Client | None = None
    home: Path | None = None
    corpus: Path | None = None
    env: dict = field(default_factory=dict)
    token_server: Server | None = None


MAIN_SETTINGS = {  # settings both versions know; they bound the time a stray backend can take
    "llm_max_tokens": "24",
    "openai_base_url": "http://127.0.0.1:9/v1",  # the discard port: an 'openai' answer fails at once
    "openai_retries": "0",
}


# -- 1. model loading -----------------------------------------------------------------------
def attack_model_loading(t: Tally, ctx: Context) -> None:
    """A client names the packaged GGUF file under six spellings (fails: 200, so the server
    loaded a model file a client chose); RSS over those six grows > 300 MB (fails); the
    errors for /etc/passwd and a missing file differ once the path is replaced by X (fails:
    it tells which files exist); a 5,000-character path gets a 5xx (fails)."""
    found = ctx.product.python("from qa.llms import packaged_smollm2; print(packaged_smollm2())", ctx.env, 120)
    if found.rc != 0:
        raise RuntimeError(f"packaged_smollm2() failed: {short(found.err[-300:])}")
    model = Path(found.out.strip().splitlines()[-1])
    folder, name = model.parent, model.name
    spellings = [f"{folder}/./{name}", f"{folder}//{name}", f"{folder}/././{name}",
                 f"{folder}/../{folder.name}/{name}", f"{folder}///{name}", f"{folder}/.//{name}"]
    before = rss_bytes(ctx.server.pid)
    for path in spellings:
        reply = ctx.client.ask(llm=f"gguf:{path}", timeout=180)
        t.check(reply.status == 200, f"llm=gguf:{path} -> {reply}")
    grown = (rss_bytes(ctx.server.pid) - before) / MB
    t.check(grown > 300, f"RSS grew {grown:.0f} MB over the six gguf requests")

    passwd = ctx.client.ask(llm="gguf:/etc/passwd")
    missing = ctx.client.ask(llm="gguf:/no/such/file.gguf")
    a = (passwd.error() or passwd.body.decode("utf-8", "replace")).replace("/etc/passwd", "X")
    b = (missing.error() or missing.body.decode("utf-8", "replace")).replace("/no/such/file.gguf", "X")
    t.check(a != b or passwd.status != missing.status,
            f"gguf:/etc/passwd -> {passwd.status} {short(a, 100)!r} vs gguf:/no/such/file.gguf -> "
            f"{missing.status} {short(b, 100)!r}")
    long = ctx.client.ask(llm="gguf:/" + "a" * 5000)
    t.check(long.status is None or long.status >= 500, f"llm=gguf:/aaa...(5000) -> {long}")


# -- 2. body limit --------------------------------------------------------------------------
def attack_body_limit(t: Tally, ctx: Context) -> None:
    """(a) 50 MB chunked feedback with a huge comment (fails: 200, or feedback.jsonl grew
    > 1 MB); (b) 100 MB chunked junk to /api/ask (fails: the server's peak RSS rose > 200 MB,
    or an answer that is not 4xx; a hang-up is fine); (c) 50 MB with Content-Length to
    /api/ask (fails unless 413)."""
    log = ctx.home / "feedback.jsonl"
    size = log.stat().st_size if log.exists() else 0
    head = b'{"answer_id": "attack", "question": "q", "answer": "a", "comment": "'
    reply = ctx.client.stream_body("/api/feedback", pieces_of(50 * MB, head=head, tail=b'"}'), chunked=True)
    grown = ((log.stat().st_size if log.exists() else 0) - size) / MB
    t.check(reply.status == 200 or grown > 1,
            f"50 MB chunked feedback -> {reply} [{reply.note}]; feedback.jsonl grew {grown:.1f} MB")

    with PeakRss(ctx.server.pid) as memory:
        reply = ctx.client.stream_body("/api/ask", pieces_of(100 * MB, fill=b"x"), chunked=True)
    bad_status = reply.status is not None and not 400 <= reply.status < 500
    hung = reply.status is None and "refused early" not in reply.note and "answered" not in reply.note
    t.check(memory.rise_mb > 200 or bad_status or hung,
            f"100 MB chunked junk to /api/ask -> {reply} [{reply.note}]; peak RSS +{memory.rise_mb:.0f} MB")

    reply = ctx.client.stream_body("/api/ask", pieces_of(50 * MB, fill=b"x"), chunked=False, length=50 * MB)
    t.check(reply.status != 413, f"50 MB with Content-Length to /api/ask -> {reply} [{reply.note}]")


# -- 3. host header and CORS ----------------------------------------------------------------
def attack_host_and_cors(t: Tally, ctx: Context) -> None:
    """Requests with ``Host: attacker.example`` (and with the port) fail when answered 2xx;
    GET /config and a preflight OPTIONS /api/ask from a foreign Origin fail when any
    access-control-allow-origin header comes back."""
    body = json.dumps({"question": QUESTION}).encode()
    for host in ("attacker.example", f"attacker.example:{ctx.server.port}"):
        for method, path, data in (("GET", "/", None), ("GET", "/healthz", None), ("POST", "/api/ask", body)):
            reply = ctx.client.request(method, path, data, {"Host": host, "Content-Type": "application/json"})
            t.check(reply.status is not None and 200 <= reply.status < 300,
                    f"{method} {path} with Host: {host} -> {reply}")
    for origin in ("http://localhost:1234", "http://evil.example"):
        for method, path, extra in (
                ("GET", "/config", {}),
                ("OPTIONS", "/api/ask", {"Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type"})):
            reply = ctx.client.request(method, path, None, {"Origin": origin, **extra})
            allowed = reply.headers.get("access-control-allow-origin")
            t.check(allowed is not None,
                    f"{method} {path} with Origin: {origin} -> {reply.status}, "
                    f"access-control-allow-origin: {allowed}")


# -- 4. gradio file routes ------------------------------------------------------------------
def attack_gradio_files(t: Tally, ctx: Context) -> None:
    """Gradio's file, proxy, upload and developer routes: each fails when answered 200 or
    when a canary file's random content comes back. The canaries lie in the server's own
    working folder (``.gradio/cached_examples``) and in its GRADIO_TEMP_DIR."""
    token = secrets.token_hex(16)
    cached = ctx.server.cwd / ".gradio" / "cached_examples" / "canary.txt"
    temp = Path(ctx.env["GRADIO_TEMP_DIR"]) / "canary.txt"
    for canary in (cached, temp):
        canary.parent.mkdir(parents=True, exist_ok=True)
        canary.write_text(token)
    port = ctx.server.port
    gets = []
    for canary in (cached, temp):
        gets += [f"/gradio_api/file/{canary}", f"/gradio_api/file={canary}", f"/file={canary}"]
    gets += ["/gradio_api/file/.gradio/cached_examples/canary.txt",
             f"/gradio_api/proxy=http://127.0.0.1:{port}/healthz",
             f"/gradio_api/file=http://127.0.0.1:{port}/healthz",
             "/gradio_api/custom_component/1/dev/js/x.js", "/monitoring", "/gradio_api/openapi.json",
             "/gradio_api/dev/reload"]
    for path in gets:
        reply = ctx.client.get(path, timeout=15)
        t.check(reply.status == 200 or token.encode() in reply.body, f"GET {path} -> {reply}")
    boundary = "attackboundary7c1"
    upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.txt\"\r\n"
              f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n").encode()
    reply = ctx.client.request("POST", "/gradio_api/upload", upload,
                               {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    t.check(reply.status == 200, f"POST /gradio_api/upload (multipart) -> {reply}")
    reply = ctx.client.request("POST", "/gradio_api/stream/x/close", b"")
    t.check(reply.status == 200, f"POST /gradio_api/stream/x/close -> {reply}")
    for canary in (cached, temp):
        canary.unlink(missing_ok=True)


# -- 5. index damage ------------------------------------------------------------------------
def _version(index: Path) -> Path:
    return index / (index / "CURRENT").read_text("utf-8").strip()


def _edit_manifest(index: Path, change: Callable[[dict], None]) -> None:
    path = _version(index) / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2), "utf-8")


def _wrong_dimension(index: Path) -> None:
    def change(manifest: dict) -> None:
        old = int(manifest["embedder"]["dimension"])
        manifest["embedder"]["dimension"] = 284 if old == 384 else old - 100
    _edit_manifest(index, change)


def _garbage_current(index: Path) -> None:
    (index / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")


def _unlisted_truncated_vectors(index: Path) -> None:
    vectors = _version(index) / "vectors.faiss"
    if not vectors.is_file():
        raise RuntimeError(f"no vectors.faiss in {vectors.parent}")
    _edit_manifest(index, lambda manifest: manifest["files"].pop("vectors.faiss", None))
    os.truncate(vectors, 10)


def _half_chunks(index: Path) -> None:
    chunks = _version(index) / "chunks.jsonl"
    os.truncate(chunks, chunks.stat().st_size // 2)


DAMAGE = {
    "manifest dimension 384 -> 284": _wrong_dimension,
    "garbage bytes in CURRENT": _garbage_current,
    "vectors.faiss unlisted and cut to 10 bytes": _unlisted_truncated_vectors,
    "chunks.jsonl cut to half": _half_chunks,
}


def attack_index_damage(t: Tally, ctx: Context) -> None:
    """Damage the served index four ways; for each, three tries from the issue: POST /api/ask
    must be 503 with a one-line JSON error that does not name the home folder; GET /healthz
    must be 503; `ingest` must exit 0 and the next ask be 200. A fourth try per kind: after
    that ingest, a new process (`ask --json`) must answer from the index on disk (the
    server may still hold the undamaged index in memory, which hides an ingest that
    repaired nothing). Nothing is restored by hand unless ingest did not repair, and then
    only so that the next kind starts from a sound index."""
    index = ctx.home / "index"
    backup = ctx.product.folder("index-backup")
    homes = {str(ctx.home), str(ctx.home.resolve())}
    for kind, damage in DAMAGE.items():
        shutil.rmtree(backup)
        shutil.copytree(index, backup, ignore=shutil.ignore_patterns(".lock"))
        damage(index)
        reply = ctx.client.ask()
        message = reply.error()
        ok = (reply.status == 503 and message is not None and "\n" not in message
              and not any(home in message for home in homes))
        t.check(not ok, f"[{kind}] POST /api/ask -> {reply}")
        reply = ctx.client.get("/healthz")
        t.check(reply.status != 503, f"[{kind}] GET /healthz -> {reply}")
        ingest = ctx.product.cli(["ingest"], ctx.env, timeout=300)
        after = ctx.client.ask(timeout=120)
        t.check(ingest.rc != 0 or after.status != 200,
                f"[{kind}] ingest rc={ingest.rc} {short(ingest.err[-200:], 200)!r}; then POST /api/ask -> {after}")
        fresh = ctx.product.cli(["ask", "--json", QUESTION], ctx.env, timeout=300)
        answered = fresh.rc == 0 and '"citations"' in fresh.out
        t.check(not answered, f"[{kind}] after ingest, a new `ask --json` process -> rc={fresh.rc} "
                              f"{short((fresh.out if answered else fresh.err)[-160:], 160)!r}")
        if after.status != 200 or not answered:
            t.notes.append(f"[{kind}] ingest did not repair the index; restored it from a copy for the next kind")
            shutil.rmtree(index)
            shutil.copytree(backup, index)


# -- 6. document loss -----------------------------------------------------------------------
DOCUMENTS = {
    "a.txt": "Zorblat crystals form only in deep caves under high pressure.\n\n"
             "Miners have searched for them for two centuries, and the largest ones are kept in museums.\n",
    "b.txt": "Quibbles are small blue birds that nest in reeds.",
    "c.txt": "",
    "d.html": "<html><body>" + "<div>" * 3000 + "Frobnic acid dissolves copper quickly."
              + "</div>" * 3000 + "</body></html>\n",
}
DOCUMENT_QUESTIONS = [("Where do zorblat crystals form?", "caves"), ("What are quibbles?", "blue birds"),
                      ("What does frobnic acid dissolve?", "copper")]


def attack_document_loss(t: Tally, ctx: Context) -> None:
    """Ingest four small documents (a first line that is a whole sentence, a file of one
    line, an empty file, a sentence inside 3,000 nested <div>s) and ask the CLI about each:
    fails when the answer abstains or lacks the key words; ingest's output must name c.txt
    (fails when it does not)."""
    corpus, home = ctx.product.folder("docs-corpus"), ctx.product.folder("docs-home")
    index = home / "built-index"
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, "utf-8")
    env = ctx.product.env(home, corpus)
    ingest = ctx.product.cli(["ingest", "--corpus", str(corpus), "--index", str(index)], env, timeout=300)
    say(f"  ingest rc={ingest.rc}: {short(ingest.both[-300:], 300)}")
    helptext = ctx.product.cli(["ask", "--help"], env, timeout=60).out
    extra = ["--corpus", str(corpus)] if "--corpus" in helptext else []
    for question, words in DOCUMENT_QUESTIONS:
        done = ctx.product.cli(["ask", "--index", str(index), *extra, "--llm", "extractive", "--json", question],
                               env, timeout=300)
        try:
            answer = json.loads(done.out[done.out.index("{"):])
        except ValueError:
            t.check(True, f"ask {question!r} -> rc={done.rc}, no JSON: {short(done.err[-200:], 200)}")
            continue
        found = words in answer.get("text", "").lower()
        t.check(bool(answer.get("abstained")) or not found,
                f"ask {question!r} -> abstained={answer.get('abstained')} text={short(answer.get('text'), 120)!r}")
    t.check("c.txt" not in ingest.both, f"ingest output does not name the empty c.txt: {short(ingest.both[-200:])!r}")


# -- 7. ingest cost -------------------------------------------------------------------------
SPLIT_TIMING = """
import sys, time
from core.text import split_sentences
for n in (4000, 16000):
    best = None
    for _ in range(3):
        began = time.perf_counter()
        split_sentences("A. " * n)
        took = time.perf_counter() - began
        best = took if best is None else min(best, took)
        if took > 0.5:
            break
    print(n, best, flush=True)
"""


def _english_like(total: int, seed: int = 13) -> Iterator[str]:
    """Deterministic pseudo-English paragraphs, about ``total`` characters in all."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "sto", "tha", "vel", "qui", "dor", "an", "e", "ing", "pra", "sul"]
    vocabulary = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(3000)]
    vocabulary += ["the", "of", "and", "in", "is", "a", "to", "with", "for", "by"] * 50
    written = 0
    while written < total:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            words = rng.choices(vocabulary, k=rng.randint(6, 22))
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        paragraph = " ".join(sentences) + "\n\n"
        written += len(paragraph)
        yield paragraph


def attack_ingest_cost(t: Tally, ctx: Context) -> None:
    """(a) split_sentences on "A. " * n: fails when t(16000)/t(4000) > 8 (quadratic is ~16);
    (b) ingest of a 30 MB text file, killed after 25 s: fails when no line of its output
    mentions an estimate ("minute" or "estimate") by then."""
    timing = ctx.product.python(SPLIT_TIMING, ctx.env, timeout=180)
    times = dict(line.split() for line in timing.out.splitlines() if len(line.split()) == 2)
    if "4000" not in times:
        raise RuntimeError(f"timing split_sentences failed: {short(timing.err[-300:])}")
    small = float(times["4000"])
    if "16000" in times:
        large = float(times["16000"])
        t.check(large / small > 8, f"split_sentences: t(16000)/t(4000) = {large:.3f}/{small:.3f} s "
                                   f"= {large / small:.1f}")
    else:
        t.check(True, f"split_sentences: t(4000) = {small:.2f} s, n=16000 not done in 180 s")

    corpus, home = ctx.product.folder("big-corpus"), ctx.product.folder("big-home")
    with open(corpus / "big.txt", "w", encoding="utf-8") as handle:
        handle.writelines(_english_like(30 * MB))
    done = ctx.product.cli(["ingest"], ctx.product.env(home, corpus), timeout=25)
    said = [line for line in done.both.splitlines() if re.search(r"minute|estimate", line, re.IGNORECASE)]
    t.check(not said, f"ingest of 30 MB (rc={done.rc}, {done.seconds:.0f} s): "
                      + (f"said {short(said[0], 120)!r}" if said else f"no estimate; output: {short(done.both[-160:])!r}"))
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)


# -- 8. file names as HTML ------------------------------------------------------------------
STATUS = ("from app.web import ChatSession; from core.settings import load_settings; "
          "print(ChatSession(load_settings()).status())")


def attack_file_names(t: Tally, ctx: Context) -> None:
    """A corpus file named like an HTML tag: fails when the chat's status line (the
    Markdown above the chat) contains "<img" unescaped."""
    corpus, home = ctx.product.folder("html-corpus"), ctx.product.folder("html-home")
    (corpus / "<img src=x onerror=alert(1)>.txt").write_text("Glimmerfish live in cold mountain lakes.\n")
    env = ctx.product.env(home, corpus)
    ingest = ctx.product.cli(["ingest"], env, timeout=300)
    if ingest.rc != 0:
        raise RuntimeError(f"ingest failed (rc={ingest.rc}): {short(ingest.err[-300:])}")
    status = ctx.product.python(STATUS, env, timeout=180)
    if status.rc != 0:
        raise RuntimeError(f"ChatSession(...).status() failed: {short(status.err[-300:])}")
    t.check("<img" in status.out, f"ChatSession.status() -> {short(status.out, 200)!r}")


# -- 9. gradio malformed calls --------------------------------------------------------------
def attack_gradio_calls(t: Tally, ctx: Context) -> None:
    """Malformed calls to Gradio's API: fail when answered 5xx (or not at all), or not JSON."""
    calls = [("/gradio_api/call/v2/respond", {}),
             ("/gradio_api/queue/join", {"fn_index": 999, "data": [], "session_hash": "x"}),
             ("/gradio_api/queue/join", {"fn_index": -1, "data": [], "session_hash": "x"}),
             ("/gradio_api/run/respond", {"data": [1, 2, 3]})]
    for path, body in calls:
        reply = ctx.client.post_json(path, body)
        is_json = reply.body.strip() != b"" and reply.json() is not None
        t.check(reply.status is None or reply.status >= 500 or not is_json,
                f"POST {path} {json.dumps(body)} -> {reply}")


# -- 10. smaller items ----------------------------------------------------------------------
def attack_smaller_items(t: Tally, ctx: Context) -> None:
    """(a) bytes that are not UTF-8 in the question and (b) 50,000 nested brackets: fail
    when 5xx or the JSON has no "error"; (e) /api/docs fails when it loads anything from a
    CDN. (c) and (d) run on a second server with SOURCEQA_API_TOKEN=t0ken and
    SOURCEQA_FEEDBACK_FILE naming a folder: feedback that cannot be written must be 503;
    GET //evil.example/?token=t0ken fails when redirected to another host."""
    headers = {"Content-Type": "application/json"}
    for label, body in (("question bytes \\xff\\xfe", b'{"question": "\xff\xfe"}'),
                        ("50,000 nested brackets", b"[" * 50000 + b"]" * 50000)):
        reply = ctx.client.request("POST", "/api/ask", body, headers)
        t.check(reply.status is None or reply.status >= 500 or reply.error() is None,
                f"POST /api/ask with {label} -> {reply}")
    docs = ctx.client.get("/api/docs")
    html = docs.body.decode("utf-8", "replace")
    t.check(docs.status != 200 or "cdn." in html or "https://" in html,
            f"GET /api/docs -> {docs.status}; " + short(
                ", ".join(sorted(set(re.findall(r"https?://[^\"' >]+", html)))) or "no absolute URL", 160))

    server = ctx.token_server
    server.start(ready=lambda reply: reply.status in (200, 503))
    try:
        client = Client(server.port, {"Authorization": f"Bearer {TOKEN}"})
        reply = client.post_json("/api/feedback", {"answer_id": "attack", "question": "q", "answer": "a",
                                                   "rating": "down", "comment": "unwritable log"})
        t.check(reply.status != 503, f"POST /api/feedback with the log unwritable -> {reply}")
        reply = Client(server.port).get("//evil.example/?token=" + TOKEN)
        location = reply.headers.get("location", "")
        foreign = (location.replace("\\", "/").startswith("//")
                   or urlsplit(location).hostname == "evil.example")
        t.check(foreign, f"GET //evil.example/?token=... -> {reply.status}, Location: {location!r}")
    finally:
        server.stop()


# -- 11. python API types -------------------------------------------------------------------
PYTHON_API = r"""
import json
from core.settings import load_settings
from qa import ask

settings = load_settings()

def history():
    yield "What is calcinosis cutis?"

class Bad:
    name = "bad"
    def stream(self, messages):
        raise RuntimeError("the backend fails at once")

cases = [("llm=123", {"llm": 123}), ("llm=b'local'", {"llm": b"local"}), ("llm=object()", {"llm": object()}),
         ("history=<generator>", {"history": history()}), ("history={'a': 1}", {"history": {"a": 1}}),
         ("history=7", {"history": 7}), ("llm=<backend whose stream() raises RuntimeError>", {"llm": Bad()})]
for label, kwargs in cases:
    try:
        answer = ask("What is calcinosis cutis?", settings=settings, **kwargs)
        outcome = {"raised": None, "abstained": answer.abstained, "text": answer.text[:100], "note": answer.note}
    except Exception as error:
        outcome = {"raised": type(error).__name__, "value_error": isinstance(error, ValueError),
                   "message": str(error)[:150]}
    print("RESULT " + json.dumps([label, outcome]), flush=True)
"""


def attack_python_api(t: Tally, ctx: Context) -> None:
    """``qa.ask`` with a wrong-typed ``llm`` or ``history``: fails unless it raises ValueError
    (another exception, or an answer as if the value were fine); with a backend whose
    stream() raises at once: fails when ask raises (it must fall back to the source text)."""
    done = ctx.product.python(PYTHON_API, ctx.env, timeout=300)
    results = [json.loads(line[7:]) for line in done.out.splitlines() if line.startswith("RESULT ")]
    if not results:
        raise RuntimeError(f"the Python API run printed nothing (rc={done.rc}): {short(done.err[-300:])}")
    for label, outcome in results:
        raised = outcome["raised"]
        described = (f"raised {raised}: {outcome['message']}" if raised
                     else f"returned an answer (abstained={outcome['abstained']}, note={outcome['note']!r})")
        if label.startswith("llm=<backend"):
            t.check(raised is not None, f"ask({label}) {described}")
        else:
            t.check(not outcome.get("value_error"), f"ask({label}) {described}")
    if done.rc != 0 and len(results) < 7:
        t.notes.append(f"the run stopped early (rc={done.rc}): {short(done.err[-200:])}")


# -- 12. schemathesis -----------------------------------------------------------------------
def _fuzz(operation, base: str, t: Tally, raised: list[str]) -> int:
    """Run one operation's generated cases; returns how many got an answer."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings

    label = f"{operation.method.upper()} {operation.path}"
    answered = [0]

    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=100, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    def attack(case) -> None:
        try:
            response = case.call(base_url=base, timeout=TIMEOUT)
        except Exception as error:  # noqa: BLE001 - keep counting
            raised.append(f"{label}: {type(error).__name__}: {short(error, 100)}")
            return
        answered[0] += 1
        if response.status_code >= 500:
            t.record(True, f"{label} body={short(json.dumps(case.body, default=str), 100)} -> "
                           f"{response.status_code} {short(response.text, 100)}")

    attack()
    return answered[0]


def attack_schemathesis(t: Tally, ctx: Context) -> None:
    """Every operation of /api/openapi.json gets 100 derandomised generated requests: a
    try fails when answered 5xx (a request that raises is noted, and not counted as a try)."""
    import schemathesis

    base = f"http://127.0.0.1:{ctx.server.port}"
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    raised: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        failures = t.failures
        answered = _fuzz(operation, base, t, raised)
        t.tries += answered
        say(f"  {operation.method.upper()} {operation.path}: {answered} cases, {t.failures - failures} 5xx")
    if raised:
        t.notes.append(f"{len(raised)} case(s) raised instead of getting an answer, e.g. {raised[0]}")


# -- the run --------------------------------------------------------------------------------
ATTACKS: list[tuple[str, Callable[[Tally, Context], None], bool]] = [  # (name, function, needs server)
    ("model loading", attack_model_loading, True),
    ("body limit", attack_body_limit, True),
    ("host header and CORS", attack_host_and_cors, True),
    ("gradio file routes", attack_gradio_files, True),
    ("index damage", attack_index_damage, True),
    ("document loss", attack_document_loss, False),
    ("ingest cost", attack_ingest_cost, False),
    ("file names as HTML", attack_file_names, False),
    ("gradio malformed calls", attack_gradio_calls, True),
    ("smaller items", attack_smaller_items, True),
    ("python API types", attack_python_api, False),
    ("schemathesis", attack_schemathesis, True),
]
# Cheap and harmless first; the 6 model loads and 200 generated asks later; damage last.
ORDER = [3, 4, 9, 10, 2, 1, 12, 11, 5, 6, 7, 8]


def perform(number: int, ctx: Context) -> dict:
    name, function, needs_server = ATTACKS[number - 1]
    tally = Tally(name)
    say(f"attack {number}: {name}")
    began = time.monotonic()
    try:
        if needs_server and ctx.client is None:
            raise RuntimeError("the server did not start")
        function(tally, ctx)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - one attack's crash is its result, not the run's
        tally.error = f"{type(error).__name__}: {short(error, 400)}"
        say(f"  error: {tally.error}")
    tally.seconds = time.monotonic() - began
    return tally.as_dict()


def setup(product: Product) -> Context:
    """The home, corpus and environment of the main server, and the token server's."""
    home, corpus = product.folder("home"), product.corpus_copy()
    gradio_temp = product.folder("gradio-temp")
    env = {**product.env(home, corpus, **MAIN_SETTINGS), "GRADIO_TEMP_DIR": str(gradio_temp)}
    ctx = Context(product, home=home, corpus=corpus, env=env)
    ctx.server = Server(product, env, "main")
    token_home = product.folder("token-home")
    unwritable = product.folder("feedback-is-a-folder")
    token_env = {**product.env(token_home, corpus, **MAIN_SETTINGS, api_token=TOKEN,
                               feedback_file=str(unwritable)),
                 "GRADIO_TEMP_DIR": str(gradio_temp)}
    ctx.token_server = Server(product, token_env, "token")
    return ctx


def check_imports(product: Product, ctx: Context) -> str:
    """Where `app` is imported from in the server's setting; must be the checkout."""
    done = run([sys.executable, "-c", "import app, qa; print(app.__file__)"], cwd=ctx.server.cwd,
               env=ctx.env, timeout=60)
    where = done.out.strip()
    if not where or not Path(where).resolve().is_relative_to(product.repo.resolve()):
        raise SystemExit(f"attack: `app` imports from {where or done.err[-300:]!r}, not from {product.repo}")
    return where


def start_main_server(ctx: Context) -> None:
    ctx.server.start(ready=lambda reply: reply.status == 200)
    client = Client(ctx.server.port)
    warm = client.ask(timeout=300)
    say(f"warm-up ask -> {warm.status}")
    if warm.status != 200:
        raise RuntimeError(f"warm-up ask -> {warm}")
    ctx.client = client
    # The token server serves a copy of this index, so that its start builds nothing.
    token_home = Path(ctx.token_server.env["SOURCEQA_HOME"])
    shutil.copytree(ctx.home / "index", token_home / "index", ignore=shutil.ignore_patterns(".lock"),
                    dirs_exist_ok=True)


def public_env(env: dict, product: Product) -> dict:
    """The settings a server ran with, temporary paths shortened for the report."""
    shown = {k: v for k, v in env.items() if k.startswith(("SOURCEQA_", "GRADIO_", "HF_", "TOKENIZERS"))}
    return {k: v.replace(str(product.work), "$TMP") for k, v in sorted(shown.items())}


def table(report: dict) -> str:
    lines = ["| attack | tries | failures |", "| --- | --- | --- |"]
    for item in report["attacks"]:
        error = short(item["error"], 60).replace("|", "/") if item.get("error") else ""
        failures = str(item["failures"]) + (f" (error: {error})" if error else "")
        lines.append(f"| {item['attack']} | {item['tries']} | {failures} |")
    total_tries = sum(item["tries"] for item in report["attacks"])
    total_failures = sum(item["failures"] for item in report["attacks"])
    lines.append(f"| **total** | **{total_tries}** | **{total_failures}** |")
    return "\n".join(lines)


def attack_repo(repo: Path, only: list[int], keep: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sourceqa-attack-"))
    product = Product(repo, work)
    began = time.monotonic()
    results: dict[int, dict] = {}
    report = {"repo": str(repo), "commit": product.commit(), "dirty": product.dirty(), "python": sys.executable}
    say(f"attacking {repo} at {report['commit']}{' (with uncommitted changes)' if report['dirty'] else ''}; "
        f"temporary files in {work}")
    try:
        ctx = setup(product)
        report["imports_from"] = check_imports(product, ctx)
        report["server_env"] = {"main": public_env(ctx.env, product),
                                "token (smaller items c, d)": public_env(ctx.token_server.env, product)}
        wanted = [n for n in ORDER if n in only]
        if any(ATTACKS[n - 1][2] for n in wanted) or 11 in wanted:
            try:
                start_main_server(ctx)
            except RuntimeError as error:
                say(f"error: {error}")
                report["server_error"] = short(error, 600)
        for number in wanted:
            if number in (6, 7, 8) and ctx.server.process is not None:
                ctx.server.stop()  # the CLI attacks need no server; give them the CPUs
            results[number] = perform(number, ctx)
    finally:
        kill_all()
        if keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report["attacks"] = [results[n] for n in sorted(results)]
    report["seconds"] = round(time.monotonic() - began)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="the checkout to attack")
    parser.add_argument("--out", type=Path, required=True, help="JSON report to write")
    parser.add_argument("--only", help="comma-separated attack numbers (1-12; default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, homes)")
    args = parser.parse_args(argv)
    only = [int(n) for n in args.only.split(",")] if args.only else list(range(1, len(ATTACKS) + 1))

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        report = attack_repo(args.repo.resolve(), only, args.keep)
    except KeyboardInterrupt:
        say("interrupted; every process started was killed")
        return 130
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(table(report))
    say(f"wrote {args.out} after {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
