"""One process serving the web chat at ``/`` and the HTTP API under ``/api``."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import gradio as gr
from fastapi import FastAPI

from core.settings import Settings
from core.types import Manifest
from ingest import IndexProblem, index_manifest, ingest
from qa import get_engine, make_generator

from .guard import TOKEN_COOKIE, Guard, is_loopback
from .http import create_api
from .render import CSS
from .routes import RoutePolicy
from .web import build_ui, chat_functions

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI app: API routes first, the Gradio chat mounted at ``/``, and the
    :class:`~app.guard.Guard` around both (host names, routes, body sizes, CORS, token)."""
    api = create_api(settings)
    ui = build_ui(settings)
    # run_history=False: Gradio would record every event's inputs and outputs (the whole
    # conversation, each question) in the browser's local storage; off, it also deletes them.
    app = gr.mount_gradio_app(api, ui, path="/", css=CSS, footer_links=[], show_error=False, run_history=False)
    upload_bytes = int(settings.max_document_mb * 1_000_000)
    app.add_middleware(Guard, settings=settings, routes=RoutePolicy(chat_functions(ui), upload_bytes))
    return app


def corpus_mismatch(settings: Settings, manifest: Manifest | None) -> str | None:
    """Why the served index must not be rebuilt from ``settings.corpus_dir``: it was built
    from another corpus folder (re-ingesting would drop that folder's documents); None
    when it names the same folder or none (no index, or one built before indexes named it).

    >>> corpus_mismatch(Settings(corpus_dir="/data/a"), Manifest(corpus_dir="/data/a")) is None
    True
    >>> print(corpus_mismatch(Settings(corpus_dir="/data/a"), Manifest(corpus_dir="/data/b")))
    ... # doctest: +ELLIPSIS
    the served index was built from the corpus folder /data/b, not from /data/a ...
    """
    built = manifest.corpus_dir if manifest else ""
    wanted = Path(settings.corpus_dir).resolve()
    if not built or Path(built).resolve() == wanted:
        return None
    return (f"the served index was built from the corpus folder {built}, not from {wanted} (the "
            f"corpus_dir setting); serving it as it is, without re-ingesting. To keep serving {built} "
            f"and pick up its changes, set SOURCEQA_CORPUS_DIR={built}; to serve {wanted} instead, "
            f"run `sourceqa ingest --corpus {wanted}`")


def warm_up(settings: Settings) -> None:
    """Bring the index up to date with the corpus (a no-op when nothing changed), then
    load it, the embedder and the model before the first question arrives. An index
    built from another corpus folder is served as it is (see :func:`corpus_mismatch`)."""
    try:
        try:
            mismatch = corpus_mismatch(settings, index_manifest(settings))
        except IndexProblem:
            mismatch = None  # unreadable: the ingest rebuilds it
        if mismatch:
            log.warning(mismatch)
        else:
            ingest(settings)
        get_engine(settings)
        make_generator(settings.llm, settings)
        log.info("models loaded; ready")
    except Exception:
        log.exception("warm-up failed")


def serve(settings: Settings) -> None:
    import uvicorn

    if not is_loopback(settings.host):
        log.warning("binding to %s: the service is reachable from the network%s", settings.host,
                    "" if settings.api_token else " and has no api_token set")
    app = create_app(settings)
    threading.Thread(target=warm_up, args=(settings,), daemon=True, name="warm-up").start()
    shown = "localhost" if settings.host in ("127.0.0.1", "localhost") else settings.host
    print(f"sourceqa: web chat on http://{shown}:{settings.port}/  (HTTP API: POST /api/ask, "
          f"GET /healthz; token {'required' if settings.api_token else 'off'}; Ctrl-C stops)",
          flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


__all__ = ["TOKEN_COOKIE", "corpus_mismatch", "create_app", "is_loopback", "serve", "warm_up"]
