"""Raw HTTP to the server under attack, the server process, and the shared context."""

from __future__ import annotations

import http.client
import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .harness import MB, QUESTION, TIMEOUT, Product, free_port, kill, say, short, spawn


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
