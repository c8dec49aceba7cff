"""Which routes the server answers, and how big a body each may send.

An allow-list, not a block-list: the HTTP API's routes and the handful of Gradio routes
the chat page uses (found by recording what the browser test requests). Every other
Gradio route family (``file=``, ``file/``, ``proxy=``, ``upload``, ``stream/``, the
``run/``, ``api/`` and ``call/`` client API, ``monitoring``, ``vibe-*``, ``dev/reload``,
``login``, ``custom_component``) is answered 404, so a Gradio release that adds a route
does not open it here.
"""

from __future__ import annotations

import json
from collections.abc import Collection

# The API's requests are a question, a short history and a feedback record: 256 KiB is
# far above any valid one (a 1,000-character question with 50 earlier ones is ~200 KB).
API_BODY_BYTES = 256 * 1024
# A chat event carries the conversation shown so far (answers as HTML, ~5 KB each): 2 MiB
# holds several hundred turns.
CHAT_BODY_BYTES = 2 * 1024 * 1024

API_ROUTES = frozenset({"/api/ask", "/api/stream", "/api/feedback", "/api/document", "/api/upload", "/healthz",
                        "/api/docs", "/api/openapi.json", "/api/documents", "/api/upload/progress"})
UPLOAD_ROUTE = "/api/upload"  # its body is a document: up to the max_document_mb setting
API_PREFIXES = ("/api/docs/assets/", "/api/documents/")  # the latter: DELETE /api/documents/{source}
OPEN_ROUTES = frozenset({"/healthz"})  # no token needed (load balancers)

CHAT_ROUTES = frozenset({
    "/", "/config", "/config/", "/favicon.ico", "/theme.css", "/manifest.json", "/robots.txt",
    "/gradio_api/info", "/gradio_api/info/", "/gradio_api/theme.css", "/gradio_api/startup-events",
    "/gradio_api/app_id", "/gradio_api/queue/join", "/gradio_api/queue/data", "/gradio_api/cancel",
})
# Gradio's own front-end files (served from inside the gradio package) and its heartbeat.
CHAT_PREFIXES = ("/assets/", "/static/", "/svelte/", "/gradio_api/heartbeat/")


def traversal(path: str, raw_path: bytes = b"") -> bool:
    """Whether a path tries to leave its folder (``..``, encoded or not).

    >>> traversal("/static/../../etc/passwd"), traversal("/assets/index.js")
    (True, False)
    >>> traversal("/assets/x", b"/assets/..%2f..%2fetc%2fpasswd")
    True
    """
    raw = raw_path.decode("latin-1").lower()
    segments = path.replace("\\", "/").split("/")
    return ".." in segments or "%2e%2e" in raw or "..%2f" in raw or "..%5c" in raw or "\\" in path


class RoutePolicy:
    """The allow-list, body limits and the checks of the chat's event calls.

    ``chat_functions`` are the event ids of the mounted chat (``Blocks.fns``); a queue
    call naming another one is refused with a 400 instead of failing inside Gradio.
    """

    def __init__(self, chat_functions: Collection[int] = (), upload_bytes: int = API_BODY_BYTES) -> None:
        self.chat_functions = frozenset(chat_functions)
        self.upload_bytes = upload_bytes

    @staticmethod
    def servable(path: str, raw_path: bytes = b"") -> bool:
        """Whether the path is one this server answers.

        >>> policy = RoutePolicy()
        >>> policy.servable("/api/ask"), policy.servable("/gradio_api/file/x"), policy.servable("/gradio_api/file=/etc/passwd")
        (True, False, False)
        """
        if traversal(path, raw_path):
            return False
        return (path in API_ROUTES or path in CHAT_ROUTES or path.startswith(API_PREFIXES)
                or path.startswith(CHAT_PREFIXES))

    @staticmethod
    def open(path: str) -> bool:
        return path in OPEN_ROUTES

    def body_limit(self, path: str) -> int:
        if path == UPLOAD_ROUTE:
            return self.upload_bytes
        return CHAT_BODY_BYTES if path.startswith("/gradio_api/") else API_BODY_BYTES

    def body_problem(self, path: str, method: str, body: bytes) -> str | None:
        """Why a chat event call is malformed (a 400), or None; other routes check their own."""
        if path != "/gradio_api/queue/join" or method != "POST":
            return None
        try:
            call = json.loads(body)
        except (ValueError, RecursionError):
            return "the body is not JSON"
        if not isinstance(call, dict):
            return "the body must be a JSON object"
        index = call.get("fn_index")
        if isinstance(index, bool) or not isinstance(index, int) or index not in self.chat_functions:
            return f"fn_index must be one of {sorted(self.chat_functions)}"
        if not isinstance(call.get("data"), list):
            return "data must be a list"
        if not isinstance(call.get("session_hash"), str) or not call["session_hash"]:
            return "session_hash must be text"
        return None
