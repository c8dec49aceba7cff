"""The HTTP API: ``POST /api/ask``, ``POST /api/stream``, ``POST /api/feedback``, ``GET /healthz``.

A thin shell over :mod:`qa`. Bad requests get a 4xx with ``{"error": ...}``; nothing a
client sends produces a 500 or a traceback. When the ``api_token`` setting is set,
every route but ``/healthz`` needs ``Authorization: Bearer <token>`` (a browser can
open ``/?token=<token>`` once, which stores the token in an HttpOnly cookie).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ingest import IndexProblem, SettingsError
from ingest.settings import Settings
from ingest.storage import storage_for
from qa import Answer, ask, stream
from qa.api import engine_loaded

from .feedback import FeedbackEntry, feedback_store

log = logging.getLogger(__name__)

TOKEN_COOKIE = "sourceqa_token"
MAX_BODY_BYTES = 256 * 1024  # far above any valid request; refused before it is read
OPEN_PATHS = {"/healthz"}


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(description="The question (a follow-up is fine when history is given).")
    llm: StrictStr | None = Field(None, description="Backend: local, gguf:/path, openai or extractive.")
    top_k: StrictInt | None = Field(None, ge=1, le=50, description="Passages to retrieve.")
    history: list[StrictStr] = Field(default_factory=list, max_length=50,
                                     description="Earlier questions of the conversation, oldest first.")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: StrictStr = Field(min_length=1, max_length=64)
    question: StrictStr = Field(max_length=10_000)
    standalone: StrictStr = Field("", max_length=10_000)
    answer: StrictStr = Field(max_length=20_000)
    abstained: StrictBool = False
    citations: list[dict] = Field(default_factory=list, max_length=50)
    backend: StrictStr = Field("", max_length=200)
    index_version: StrictStr = Field("", max_length=200)
    rating: StrictStr | None = Field(None, pattern="^(up|down)$")
    comment: StrictStr = Field("", max_length=2000)


def answer_json(answer: Answer) -> dict:
    """The Answer for clients: generated sentences that failed verification are counted, never sent."""
    data = answer.to_dict()
    data["dropped_count"] = len(data.pop("dropped"))
    return data


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def manifest_summary(settings: Settings) -> dict | None:
    manifest = storage_for(settings).manifest()
    if not manifest:
        return None
    keys = ("version", "created", "document_count", "section_count", "chunk_count", "sentence_count",
            "embedder", "vector_store")
    return {"corpus": sorted(manifest.get("corpus", {})), **{k: manifest.get(k) for k in keys}}


def create_api(settings: Settings) -> FastAPI:
    api = FastAPI(title="sourceqa", description=__doc__, docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    feedback = feedback_store(settings)
    _guard(api, settings)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
        return _error(422, "invalid request: " + "; ".join(problems))

    @api.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            summary = manifest_summary(settings)
        except IndexProblem as problem:
            return _error(503, str(problem), status="index unreadable")
        body = {"status": "ok" if summary else "no index", "index_loaded": engine_loaded(settings),
                "index": summary}
        return JSONResponse(body, status_code=200 if summary else 503)

    @api.post("/api/ask")
    def api_ask(body: AskRequest) -> JSONResponse:
        try:
            answer = ask(body.question, llm=body.llm, top_k=body.top_k, history=body.history,
                         settings=settings)
        except (SettingsError, ValueError) as error:
            return _error(400, str(error))
        except IndexProblem as problem:
            return _error(503, str(problem))
        return JSONResponse(answer_json(answer))

    @api.post("/api/stream")
    def api_stream(body: AskRequest):
        """Newline-delimited JSON: ``{"draft": piece}`` lines, then ``{"answer": {...}}``."""
        pieces = stream(body.question, llm=body.llm, top_k=body.top_k, history=body.history,
                        settings=settings)
        try:
            first = next(pieces)  # validation happens here, before any byte is sent
        except (SettingsError, ValueError) as error:
            return _error(400, str(error))
        except IndexProblem as problem:
            return _error(503, str(problem))
        return StreamingResponse(_ndjson(first, pieces), media_type="application/x-ndjson")

    @api.post("/api/feedback")
    def api_feedback(body: FeedbackRequest) -> JSONResponse:
        feedback.add(FeedbackEntry(**body.model_dump()))
        return JSONResponse({"stored": True})

    return api


def _ndjson(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[bytes]:
    def line(item: str | Answer) -> bytes:
        data = {"answer": answer_json(item)} if isinstance(item, Answer) else {"draft": item}
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")

    yield line(first)
    try:
        for item in rest:
            yield line(item)
    except Exception as error:
        log.exception("streaming an answer failed")
        yield (json.dumps({"error": f"answering failed: {type(error).__name__}"}) + "\n").encode()


# Gradio routes this app has no use for: its file server and uploads (no file components).
_UNUSED_PREFIXES = ("/gradio_api/file=", "/file=", "/gradio_api/upload", "/upload")


def servable(path: str, raw_path: bytes = b"") -> bool:
    """False for path traversal and for Gradio's file and upload routes (answered 404).

    >>> servable("/api/ask"), servable("/static/../../etc/passwd"), servable("/gradio_api/file=/etc/passwd")
    (True, False, False)
    """
    raw = raw_path.decode("latin-1").lower()
    segments = path.replace("\\", "/").split("/")
    if ".." in segments or "%2e%2e" in raw or "..%2f" in raw or "..%5c" in raw:
        return False
    return not path.lower().startswith(_UNUSED_PREFIXES)


def authorised_request(request: Request, token: str) -> bool:
    """Whether the request carries the token as a bearer header or the login cookie."""
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(TOKEN_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _guard(api: FastAPI, settings: Settings) -> None:
    """Body size limit, bearer token, and a JSON 500 that never leaks a traceback."""
    token = settings.api_token

    def authorised(request: Request) -> bool:
        return authorised_request(request, token)

    @api.middleware("http")
    async def guard(request: Request, call_next):
        if not servable(request.url.path, request.scope.get("raw_path", b"")):
            return _error(404, "not found")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(413, f"request body over {MAX_BODY_BYTES} bytes")
        if token and request.url.path not in OPEN_PATHS and not authorised(request):
            offered = request.query_params.get("token", "")
            if offered and hmac.compare_digest(offered.encode(), token.encode()):
                response = RedirectResponse(request.url.path, status_code=303)
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
                return response
            return _error(401, "missing or wrong bearer token (send 'Authorization: Bearer <token>')")
        try:
            return await call_next(request)
        except Exception:
            log.exception("request to %s failed", request.url.path)
            return _error(500, "internal error; the server log has the details")
