"""One process serving the web chat at ``/`` and the HTTP API under ``/api``."""

from __future__ import annotations

import logging
import threading

import gradio as gr
from fastapi import FastAPI

from ingest import ingest
from ingest.settings import Settings
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
    app = gr.mount_gradio_app(api, ui, path="/", css=CSS, footer_links=[], show_error=False)
    app.add_middleware(Guard, settings=settings, routes=RoutePolicy(chat_functions(ui)))
    return app


def warm_up(settings: Settings) -> None:
    """Bring the index up to date with the corpus (a no-op when nothing changed), then
    load it, the embedder and the model before the first question arrives."""
    try:
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


__all__ = ["TOKEN_COOKIE", "create_app", "is_loopback", "serve", "warm_up"]
