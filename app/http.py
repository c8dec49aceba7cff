"""The HTTP API: ``POST /api/ask``, ``POST /api/stream``, ``POST /api/feedback``,
``GET /api/document``, ``POST /api/upload``, ``GET /healthz``, and the library's
``GET /api/documents`` and ``DELETE /api/documents/{source}`` (:mod:`app.library`).

A thin shell over :mod:`qa`. Bad requests get a 4xx with ``{"error": ...}``; nothing a
client sends produces a 500 or a traceback, and a damaged or missing index is a 503 with
one line that says what to run. When the ``api_token`` setting is set, every route but
``/healthz`` needs ``Authorization: Bearer <token>`` (a browser can open ``/?token=<token>``
once, which stores the token in an HttpOnly cookie). Host names, routes, body sizes,
cross-origin requests and the token are checked before any route runs (:mod:`app.guard`).
A client chooses its backend only among the ``api_llms`` setting's names.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.settings import Settings, SettingsError
from ingest import IndexProblem, index_manifest
from qa import TOP_K_BOUNDS, Response, VerifiedSentence, ask, check_served, engine_loaded, stream

from .documents import served_document
from .feedback import FeedbackEntry, FeedbackFull, feedback_store
from .guard import TOKEN_COOKIE
from .library import library_routes

log = logging.getLogger(__name__)

__all__ = ["TOKEN_COOKIE", "allowed_llms", "create_api", "public_message"]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(description="The question (a follow-up is fine when history is given).")
    llm: StrictStr | None = Field(None, max_length=200, description="Backend, one of the server's "
                                  "api_llms setting (by default local, extractive, openai).")
    top_k: StrictInt | None = Field(None, ge=TOP_K_BOUNDS[0], le=TOP_K_BOUNDS[1], description="Passages to retrieve.")
    history: list[StrictStr] = Field(default_factory=list, max_length=50,
                                     description="Earlier questions of the conversation, oldest first.")
    sources: list[StrictStr] | None = Field(None, min_length=1, max_length=10_000, description=(
        "Answer only from these documents (their `source` names, GET /api/documents); all when left out."))


class CitationRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    number: StrictInt | None = None
    quote: StrictStr = Field("", max_length=5_000)
    section: StrictStr = Field("", max_length=500)
    source: StrictStr = Field("", max_length=500)
    start: StrictInt | None = None
    end: StrictInt | None = None
    page: StrictInt | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: StrictStr = Field(min_length=1, max_length=64)
    question: StrictStr = Field(max_length=10_000)
    standalone: StrictStr = Field("", max_length=10_000)
    answer: StrictStr = Field(max_length=20_000)
    abstained: StrictBool = False
    citations: list[CitationRecord] = Field(default_factory=list, max_length=50)
    backend: StrictStr = Field("", max_length=200)
    index_version: StrictStr = Field("", max_length=200)
    rating: StrictStr | None = Field(None, pattern="^(up|down)$")
    comment: StrictStr = Field("", max_length=2000)


class ErrorBody(BaseModel):
    error: str = Field(description="What was wrong, in one line.")


def _errors(*codes: int) -> dict:
    """The error statuses a route documents in the OpenAPI schema (every one is ``{"error"}``)."""
    what = {400: "The question or an argument cannot be used.", 401: "Missing or wrong bearer token.",
            403: "Cross-origin request (or: adding and removing documents are off).",
            404: "No such route (or no such document).", 413: "Body over the size limit.",
            409: "Another document of that name is in the corpus (or: the only one cannot be removed).",
            422: "The body does not match the schema (or, for an upload: the file cannot be used).",
            503: "No usable index (run `sourceqa ingest`), or the feedback log cannot take more."}
    return {code: {"model": ErrorBody, "description": what[code]} for code in codes}


GUARDED = (400, 401, 403, 413)  # the Guard's answers, on every route


def _error(code: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=code)


def public_message(problem: Exception, settings: Settings) -> str:
    """An index problem as one line for clients: no server paths (the log keeps them).

    >>> from core.settings import Settings
    >>> s = Settings(home="/srv/qa")
    >>> public_message(RuntimeError("index file /srv/qa/index/v-1/x.npy is missing"), s)
    'index file <index>/v-1/x.npy is missing'
    """
    text = " ".join(str(problem).split())
    places = {str(Path(settings.index_path)): "<index>", str(Path(settings.home)): "<home>",
              str(Path(settings.corpus_dir)): "<corpus>"}
    for place, name in sorted(places.items(), key=lambda item: -len(item[0])):
        text = text.replace(place, name)
    return text


def allowed_llms(settings: Settings) -> list[str]:
    """The backends a client may choose: the ``llm`` setting and the ``api_llms`` setting."""
    return list(dict.fromkeys([settings.llm, *settings.api_llms]))


def check_llm(llm: str | None, settings: Settings) -> None:
    """Refuse a backend a client may not choose (a ``gguf:`` path is never taken from one)."""
    if llm is not None and llm not in allowed_llms(settings):
        shown = llm if len(llm) <= 60 else llm[:60] + "..."
        raise ValueError(f"llm {shown!r} is not offered by this server; choose one of "
                         f"{', '.join(allowed_llms(settings))}")


def manifest_summary(settings: Settings) -> dict | None:
    manifest = index_manifest(settings)
    if manifest is None:
        return None
    return {"corpus": list(manifest.sources), "version": manifest.version, "created": manifest.created,
            "document_count": manifest.document_count, "section_count": manifest.section_count,
            "chunk_count": manifest.chunk_count, "sentence_count": manifest.sentence_count,
            "embedder": {"name": manifest.embedder, "dimension": manifest.dimension},
            "vector_store": manifest.vector_store}


def create_api(settings: Settings) -> FastAPI:
    api = FastAPI(title="sourceqa", description=__doc__, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    feedback = feedback_store(settings)
    _docs(api)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
        return _error(422, "invalid request: " + "; ".join(problems))

    @api.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (a body that is not UTF-8, JSON nested too deep, a wrong
        # method) in the documented shape: {"error": ...}.
        detail = error.detail if isinstance(error.detail, str) else "invalid request"
        if error.status_code == 400 and "parsing the body" in detail:
            detail = "the body is not valid JSON in UTF-8"
        return _error(error.status_code, detail)

    @api.get("/healthz", responses=_errors(400, 503))
    def healthz(deep: bool = Query(False, description=(
            "Also verify every served file's checksum (at most once per 10 s; later calls "
            "get that result)."))) -> JSONResponse:
        """200 when the index loads (or is loaded) intact; 503 with one line when it is
        missing or damaged. ``?deep=1`` also reads every served file against its checksum."""
        try:
            summary = manifest_summary(settings)
            check_served(settings, deep=deep)  # damage on disk since the index was loaded
        except IndexProblem as problem:
            return _error(503, public_message(problem, settings), status="index unreadable")
        body = {"status": "ok" if summary else "no index", "index_loaded": engine_loaded(settings),
                "index": summary}
        return JSONResponse(body, status_code=200 if summary else 503)

    @api.post("/api/ask", responses=_errors(*GUARDED, 422, 503))
    def api_ask(body: AskRequest) -> JSONResponse:
        try:
            check_llm(body.llm, settings)
            answer = ask(body.question, llm=body.llm, top_k=body.top_k, history=body.history,
                         settings=settings, sources=body.sources)
        except IndexProblem as problem:
            return _error(503, public_message(problem, settings))
        except (SettingsError, ValueError) as error:  # a source the index does not hold: 422
            return _error(getattr(error, "status", 400), str(error))
        return JSONResponse(answer.to_dict("client"))

    @api.post("/api/stream", response_class=StreamingResponse, responses={
        200: {"description": "One JSON object per line: each verified sentence with its citation, "
                             "then the final answer.",
              "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
        **_errors(*GUARDED, 422, 503)})
    def api_stream(body: AskRequest):
        """Newline-delimited JSON: one ``{"sentence": text, "citation": {...}}`` line per answer
        sentence as soon as it is verified (nothing unverified is sent), then ``{"answer": {...}}``."""
        try:
            check_llm(body.llm, settings)
            response = stream(body.question, llm=body.llm, top_k=body.top_k, history=body.history,
                              settings=settings, sources=body.sources)
            sentences = iter(response)
            first = next(sentences, None)  # the question is judged before any byte is sent
        except IndexProblem as problem:
            return _error(503, public_message(problem, settings))
        except (SettingsError, ValueError) as error:
            return _error(getattr(error, "status", 400), str(error))
        return StreamingResponse(_ndjson(first, sentences, response), media_type="application/x-ndjson")

    @api.post("/api/feedback", responses=_errors(*GUARDED, 422, 503))
    def api_feedback(body: FeedbackRequest) -> JSONResponse:
        entry = FeedbackEntry(**{**body.model_dump(), "citations": [c.model_dump() for c in body.citations]})
        try:
            feedback.add(entry)
        except FeedbackFull as full:
            return _error(503, str(full))
        except OSError as error:
            log.error("feedback not saved: %s", error)
            return _error(503, f"feedback could not be saved ({error.strerror or 'write failed'}); "
                          "try again later")
        return JSONResponse({"stored": True})

    @api.get("/api/document", responses=_errors(*GUARDED, 404, 422, 503))
    def api_document(source: str = Query(max_length=500, description="A document's name, as in a "
                                         "citation's `source`.")) -> JSONResponse:
        """One whole cleaned source document, as the index holds it: ``{source, title, text,
        sections: [{path, start, end}], pages}`` (``pages``: where each page begins, for PDFs).
        Citations' ``start``/``end`` are offsets into ``text``."""
        try:
            document = served_document(settings, source)
        except IndexProblem as problem:
            return _error(503, public_message(problem, settings))
        if document is None:
            return _error(404, "no document of that name in the index")
        return JSONResponse(document.to_dict())

    @api.post("/api/upload", responses=_errors(*GUARDED, 409, 422, 503),
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def api_upload(request: Request, name: str = Query(min_length=1, max_length=500, description=(
            "The file's name: .txt, .md, .html, .pdf or .docx, without folders."))) -> JSONResponse:
        """Add one document to the corpus folder and ingest it (the body is the file's bytes).
        Refused, with nothing written, when uploads are off (``read_only``, or a non-loopback
        address without ``api_token``) or for what the CLI would skip; 409 for a name taken."""
        from starlette.concurrency import run_in_threadpool

        from .upload import UploadRefused, add_document

        data = await request.body()
        cancelled = threading.Event()  # a client that goes away stops the parse and the ingest
        work = asyncio.ensure_future(run_in_threadpool(add_document, settings, name, data, cancelled))
        while not (await asyncio.wait({work}, timeout=0.5))[0]:
            if not cancelled.is_set() and await request.is_disconnected():
                cancelled.set()
        try:
            added = work.result()
        except UploadRefused as refused:
            return _error(refused.status, str(refused))
        return JSONResponse({"source": added.source, "sections": added.sections, "chunks": added.chunks,
                             "already_there": added.already_there, "summary": added.summary})

    library_routes(api, settings, _errors(*GUARDED, 404, 409, 422, 503))
    return api


def _docs(api: FastAPI) -> None:
    """``/api/docs``: Swagger UI from the swagger-ui-bundle package, so the page needs no CDN."""
    from swagger_ui_bundle import swagger_ui_path

    api.mount("/api/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="swagger-assets")

    @api.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="sourceqa API",
                                   swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/api/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/api/docs/assets/favicon-32x32.png")


def _ndjson(first: VerifiedSentence | None, rest: Iterator[VerifiedSentence],
            response: Response) -> Iterator[bytes]:
    def line(data: dict) -> bytes:
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")

    try:
        if first is not None:
            yield line(first.to_dict())
        for sentence in rest:
            yield line(sentence.to_dict())
        yield line({"answer": response.answer.to_dict("client")})
    except Exception as error:
        log.exception("streaming an answer failed")
        yield (json.dumps({"error": f"answering failed: {type(error).__name__}"}) + "\n").encode()
