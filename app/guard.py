"""The server's front door: one pure ASGI middleware that every request passes first.

In order, it

1. answers only to known host names while bound to loopback (``localhost``, ``127.0.0.1``,
   ``::1`` and the ``allowed_hosts`` setting), which stops DNS rebinding: a page on
   ``attacker.example`` that re-points its name at 127.0.0.1 still sends
   ``Host: attacker.example``;
2. serves only the routes the API and the chat use (:mod:`app.routes`), so no file,
   upload or proxy route of Gradio is reachable, and refuses path traversal;
3. refuses state-changing requests from another origin (cross-site requests), and strips
   every ``Access-Control-*`` header from responses, so CORS stays closed whatever a
   framework below would allow;
4. checks the bearer token (the ``api_token`` setting) and turns ``/?token=`` into a cookie;
5. reads the body itself, counting bytes as they arrive (``Content-Length`` or chunked),
   and answers 413 as soon as a route's limit is passed: a client cannot make the server
   hold more than the limit in memory;
6. turns any exception below into a JSON 500 without a traceback.

Errors are JSON ``{"error": ...}`` with a 4xx status; nothing is read past a refusal.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from core.settings import Settings

from .routes import RoutePolicy

log = logging.getLogger(__name__)

TOKEN_COOKIE = "sourceqa_token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the service on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name part of a Host header, lower case, without port or IPv6 brackets.

    >>> host_name("LocalHost:7860"), host_name("[::1]:80"), host_name("127.0.0.1")
    ('localhost', '::1', '127.0.0.1')
    """
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(header: str, settings: Settings) -> bool:
    """Whether a request's Host header names this server.

    >>> from core.settings import Settings
    >>> host_allowed("localhost:7860", Settings()), host_allowed("attacker.example", Settings())
    (True, False)
    >>> host_allowed("qa.example", Settings(allowed_hosts=("qa.example",)))
    True
    """
    name = host_name(header)
    allowed = {h.lower() for h in settings.allowed_hosts}
    if name in LOOPBACK_NAMES or name in allowed:
        return True
    return not is_loopback(settings.host) and not allowed


def same_origin(origin: str, host_header: str) -> bool:
    """Whether an Origin header names the host the request was sent to.

    >>> same_origin("http://localhost:7860", "localhost:7860"), same_origin("http://evil.example", "localhost:7860")
    (True, False)
    """
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    return bool(netloc) and netloc == host_header.strip().lower()


def token_matches(given: str, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def local_redirect(path: str) -> str:
    """A redirect target on this server: ``//evil.example/`` becomes ``/evil.example/``.

    >>> local_redirect("//evil.example/"), local_redirect("/\\\\evil.example"), local_redirect("/")
    ('/evil.example/', '/evil.example', '/')
    """
    return "/" + path.replace("\\", "/").lstrip("/")


async def send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


class Guard:
    """The middleware described in the module docstring; ``create_app`` puts it outermost."""

    def __init__(self, app, settings: Settings, routes: RoutePolicy) -> None:
        self.app = app
        self.settings = settings
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # neither the API nor the chat uses one
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, body, extra = refusal
            await send_json(send, status, body, extra)
            return
        path = scope.get("path", "")
        limit = self.routes.body_limit(path)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await send_json(send, 413, {"error": f"request body over {limit} bytes"})
            return
        try:
            body = await _read_body(receive, limit)
        except BodyTooLarge:
            await send_json(send, 413, {"error": f"request body over {limit} bytes"})
            return
        except ClientGone:  # nothing to answer, and a half body is never handed on
            return
        problem = self.routes.body_problem(path, scope.get("method", ""), body)
        if problem is not None:
            await send_json(send, 400, {"error": problem})
            return
        await self._forward(scope, _replay(body, receive), send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, dict, list] | None:
        """Why the request is refused before its body is read, or None."""
        host = headers.get("host", "")
        if not host_allowed(host, self.settings):
            return 400, {"error": "unknown host name in the Host header; add it to the allowed_hosts "
                                  "setting to serve it"}, []
        path = scope.get("path", "")
        if not self.routes.servable(path, scope.get("raw_path") or b""):
            return 404, {"error": "not found"}, []
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin is not None and not same_origin(origin, host):
            return 403, {"error": "cross-origin request refused"}, []
        token = self.settings.api_token
        if token and not self.routes.open(path) and not self._authorised(headers, token):
            offered = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
            if method == "GET" and token_matches(offered, token):
                cookie = SimpleCookie()
                cookie[TOKEN_COOKIE] = token
                cookie[TOKEN_COOKIE]["httponly"] = True
                cookie[TOKEN_COOKIE]["samesite"] = "strict"
                cookie[TOKEN_COOKIE]["path"] = "/"
                return 303, {"redirect": local_redirect(path)}, [
                    (b"location", local_redirect(path).encode("latin-1")),
                    (b"set-cookie", cookie[TOKEN_COOKIE].OutputString().encode("latin-1"))]
            return 401, {"error": "missing or wrong bearer token (send 'Authorization: Bearer <token>')"}, []
        return None

    @staticmethod
    def _authorised(headers: dict[str, str], token: str) -> bool:
        header = headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return token_matches(header[7:].strip(), token)
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is no token
            return False
        given = cookie.get(TOKEN_COOKIE)
        return given is not None and token_matches(given.value, token)

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def closed_cors(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [(k, v) for k, v in message.get("headers", [])
                                                  if not k.lower().startswith(b"access-control-")]}
            await send(message)

        try:
            await self.app(scope, receive, closed_cors)
        except Exception:
            log.exception("request to %s failed", scope.get("path"))
            if not started:
                await send_json(send, 500, {"error": "internal error; the server log has the details"})


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refused (BodyTooLarge) as soon as it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body already read, then waits on the client."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
