"""The web chat (Gradio): a thin shell over :func:`qa.stream` and the feedback log.

The conversation (earlier questions, what each shown answer cited) is kept by the browser
in a local-storage entry of our own (:mod:`app.keep`): every page load sends it back and
the server re-renders it; while a page is open its turns are that page's session state.
Each answer carries its own sources; the page's script (:mod:`app.page`) adds the quote
popover, the source viewer, copy and export.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import gradio as gr

from core.settings import Settings, SettingsError
from ingest import READERS, IndexProblem, index_manifest
from qa import engine_loaded, stream

from .feedback import FeedbackEntry, feedback_store, new_answer_id
from .http import allowed_llms, check_llm, public_message
from .keep import LOAD_JS, SAVE_JS, kept, record, restore, turn
from .library import grouped_suggestions, list_documents, removal_refusal
from .page import PAGE_JS, TOOLS_HTML, VIEWER_HTML, upload_html
from .panel import PANEL_JS, excluded_sources, library_html
from .render import API_LINE, answer_html, checking_html, sources_html, status_html
from .upload import upload_refusal

log = logging.getLogger(__name__)

LOADING = ("Loading the index and the models (first question only; this takes a few seconds, "
           "longer if the index has to be built)\u2026")


def _error_html(message: str) -> str:
    from html import escape

    return f'<div class="sq-abstain"><strong>Cannot answer.</strong> {escape(message)}</div>'


class ChatSession:
    """What the callbacks need: settings and the feedback log; per-user state is passed in."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.feedback = feedback_store(settings)

    def respond(self, message: str, chat: list[dict], turns: list[dict], backend: str,
                top_k: float, excluded: str = "", as_typed: bool = False) -> Iterator[tuple]:
        """Stream one answer: (textbox, chat, turns, sources, kept record) updates. While it is
        written, the message shows only sentences already verified against the source; the
        record the browser keeps (:func:`app.keep.record`) comes once the answer is final. ``as_typed``:
        ask without the earlier questions, so a follow-up is not rewritten (the answer's
        "Ask as typed instead" control); later questions follow on from this one.
        ``excluded``: the documents unticked in the Documents panel (JSON), not used."""
        question = (message or "").strip()
        if not question:
            yield "", chat, turns, gr.skip(), gr.skip()
            return
        chat = [*chat, {"role": "user", "content": question},
                {"role": "assistant", "content": checking_html([])}]
        if not engine_loaded(self.settings):
            chat[-1]["content"] = f'<div class="sq-checking"><span class="sq-note">{LOADING}</span></div>'
        yield "", chat, turns, gr.skip(), gr.skip()
        history = [] if as_typed else conversation(turns)
        verified: list = []  # sentences already checked against the source, in order
        try:
            check_llm(backend or None, self.settings)
            response = stream(question, llm=backend or None, top_k=int(top_k) if top_k else None,
                              history=history, settings=self.settings, sources=self.sources(excluded))
            for sentence in response:
                verified.append(sentence)
                chat[-1] = {"role": "assistant", "content": checking_html(verified)}
                yield "", chat, turns, gr.skip(), gr.skip()
            answer, answer_id = response.answer, new_answer_id()
            _took[answer.llm] = float(answer.timings.get("total", 0.0))
            number = _next_number(turns)
            chat[-1] = {"role": "assistant",
                        "content": answer_html(answer, key=answer_id, turn=number, as_typed=as_typed)}
            turns = kept([*turns, turn(question, answer, answer_id, number, as_typed, len(chat) - 1)])
            yield "", chat, turns, sources_html(answer), record(turns)
            return
        except IndexProblem as problem:
            chat[-1] = {"role": "assistant", "content": _error_html(public_message(problem, self.settings))}
        except (SettingsError, ValueError) as error:
            chat[-1] = {"role": "assistant", "content": _error_html(str(error))}
        except Exception as error:
            log.exception("answering %r failed", question)
            chat[-1] = {"role": "assistant",
                        "content": _error_html(f"answering failed ({type(error).__name__}); see the server log")}
        yield "", chat, turns, gr.skip(), gr.skip()

    def respond_as_typed(self, message: str, chat: list[dict], turns: list[dict], backend: str,
                         top_k: float, excluded: str = "") -> Iterator[tuple]:
        yield from self.respond(message, chat, turns, backend, top_k, excluded, as_typed=True)

    def sources(self, excluded: str) -> list[str] | None:
        """The ticked documents (None: all of them); ValueError when none is ticked."""
        unticked = excluded_sources(excluded)
        if not unticked:
            return None
        manifest = index_manifest(self.settings)
        chosen = [s for s in (manifest.sources if manifest else ()) if s not in unticked]
        if not chosen:
            raise ValueError("no document is ticked in the Documents panel: tick one to ask about it")
        return chosen

    def library(self, excluded: str = "") -> str:
        """The Documents panel: the served index's documents, ticked unless ``excluded``."""
        try:
            if index_manifest(self.settings) is None:
                return library_html(None, {}, None, set())
            rows = list_documents(self.settings)
        except IndexProblem as problem:
            return library_html(None, {}, None, set(), public_message(problem, self.settings))
        return library_html(rows, grouped_suggestions(self.settings), removal_refusal(self.settings),
                            excluded_sources(excluded))

    def rate(self, turns: list[dict], data: gr.LikeData) -> tuple:
        """Thumbs up/down on an answer: log it, then offer the comment box for that answer."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) and data.index else data.index
        turn = next((t for t in turns if isinstance(t, dict) and t.get("message") == index), None)
        if turn is None or data.liked is None:
            return gr.skip(), gr.skip()
        rating = "up" if data.liked else "down"
        if not self._save(turn, rating):
            return gr.skip(), gr.skip()
        label = f"Comment on this answer ({'helpful' if rating == 'up' else 'not helpful'}; optional)"
        return turn["answer_id"], gr.update(visible=True, label=label, value="")

    def comment(self, text: str, answer_id: str, turns: list[dict]) -> tuple:
        turn = next((t for t in turns if isinstance(t, dict) and t.get("answer_id") == answer_id), None)
        if turn is not None and (text or "").strip() and self._save(turn, None, text):
            gr.Info("Thank you: the comment is saved with the answer.")
        return gr.update(visible=False, value="")

    def _save(self, turn: dict, rating: str | None, comment: str = "") -> bool:
        """Log feedback about a turn the browser sent back; False (and a notice) when it
        is malformed or the log cannot take it (full disk, size limit)."""
        try:
            self.feedback.add(FeedbackEntry.about(turn.get("answer"), turn.get("answer_id", ""), rating, comment))
        except ValueError:
            return False
        except OSError as error:
            log.error("feedback not saved: %s", error)
            gr.Warning("The feedback could not be saved; please try again later.")
            return False
        return True

    def status(self, turns: list[dict] | None = None) -> str:
        """The status line: the index, and the backend of the latest answer (the configured
        one before the first), saying when the model's sentences gave way to the source's."""
        backend = self.settings.llm
        last = turns[-1].get("answer") if turns and isinstance(turns[-1], dict) else None
        if isinstance(last, dict) and isinstance(last.get("llm"), str):
            fell_back = bool(last.get("note")) and not last.get("abstained")
            took = _slowness(last["llm"], self.settings.llm_timeout)
            backend = f"{last['llm']} (last answer{took}{'; source sentences shown' if fell_back else ''})"
        try:
            manifest = index_manifest(self.settings)
        except IndexProblem as problem:
            return status_html(None, backend, problem=public_message(problem, self.settings))
        return status_html(manifest, backend)


# How long the latest answer of each backend took on this machine (seconds), for the
# status line: a backend that runs into llm_timeout says so.
_took: dict[str, float] = {}


def _slowness(backend: str, timeout: float) -> str:
    """'; 31.2 s here, past the 30 s limit' for the status line ('' before any answer).

    >>> _took["x"] = 31.2; _slowness("x", 30.0), _slowness("y", 30.0)
    ('; 31.2 s here, past the 30 s limit', '')
    """
    if backend not in _took:
        return ""
    seconds = _took[backend]
    return f"; {seconds:.1f} s here" + (f", past the {timeout:.0f} s limit" if seconds >= 0.95 * timeout else "")


def backend_info(settings: Settings) -> str:
    """What the backend choice says: every backend is checked, and how slow a model may be."""
    return (f"Every backend's sentences are checked against the source. A model backend ('local' runs a "
            f"135M model on this machine's CPU) may take up to llm_timeout ({settings.llm_timeout:.0f} s) per "
            "answer, then the source sentences are shown; 'extractive' answers in about a second. The status "
            "line says how long the last answer took.")


def conversation(turns: list[dict]) -> list[str]:
    """The earlier questions a new one follows on from: those since the latest one asked
    as typed (it started afresh), at most 50.

    >>> conversation([{"question": "a"}, {"question": "b", "as_typed": True}, {"question": "c"}])
    ['b', 'c']
    """
    kept = [t for t in turns if isinstance(t, dict) and isinstance(t.get("question"), str)]
    start = max((i for i, t in enumerate(kept) if t.get("as_typed")), default=0)
    return [t["question"] for t in kept[start:]][-50:]


def _next_number(turns: list[dict]) -> int:
    """The number of the next turn: one after the latest (turns dropped from the start of a
    long conversation keep their numbers, so the page's element ids stay unique).

    >>> _next_number([]), _next_number([{"number": 7}]), _next_number([{}, {}])
    (1, 8, 3)
    """
    last = turns[-1].get("number") if turns and isinstance(turns[-1], dict) else None
    return (last if isinstance(last, int) and not isinstance(last, bool) else len(turns)) + 1


def build_ui(settings: Settings) -> gr.Blocks:
    session = ChatSession(settings)
    backends = allowed_llms(settings)
    with gr.Blocks(title="sourceqa") as ui:
        gr.Markdown("## sourceqa \u2014 answers only from the source, every sentence cited")
        status = gr.HTML(elem_id="sq-status")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(elem_id="sq-chat", height=460, feedback_options=("Like", "Dislike"),
                                  sanitize_html=True, buttons=[], show_label=False,
                                  placeholder="Ask a question about the source text.")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about the source\u2026", show_label=False, scale=5,
                                     elem_id="sq-question", max_lines=4)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="sq-ask")
                gr.HTML(TOOLS_HTML, elem_id="sq-tools", js_on_load=None)
                comment = gr.Textbox(visible=False, elem_id="sq-comment", max_lines=3,
                                     placeholder="What was wrong or missing? Press Enter to send.")
                gr.Markdown("### Documents")
                library = gr.HTML(elem_id="sq-library")
                # The unticked documents (JSON), written by the panel's script; the questions read it.
                excluded = gr.Textbox("", elem_id="sq-excluded", elem_classes=["sq-hidden"], show_label=False)
                gr.HTML(upload_html(upload_refusal(settings), ", ".join(sorted(READERS))), elem_id="sq-add")
                # Clicked by the page's scripts once a document is added or removed: status, documents.
                refresh = gr.Button("refresh", elem_id="sq-refresh", elem_classes=["sq-hidden"])
                # Clicked by the page's script to ask an answer's question as typed (the box holds it).
                as_typed = gr.Button("ask as typed", elem_id="sq-as-typed-send", elem_classes=["sq-hidden"])
                with gr.Accordion("Settings", open=False):
                    backend = gr.Dropdown(backends, value=settings.llm, label="Answer backend",
                                          info=backend_info(settings))
                    top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages retrieved")
                clear = gr.Button("New conversation", size="sm")
                gr.Markdown(API_LINE, elem_classes=["sq-note"])
            with gr.Column(scale=2):
                # The source viewer; its js_on_load installs the page's script (once).
                gr.HTML(VIEWER_HTML, elem_id="sq-viewer", js_on_load=PAGE_JS + PANEL_JS)
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(None), elem_id="sq-sources")
        turns = gr.State([])
        rated = gr.State("")
        # The conversation as the browser keeps it (app.keep): SAVE_JS stores it after each answer.
        kept_record = gr.Textbox("", elem_id="sq-kept", elem_classes=["sq-hidden"], show_label=False)

        inputs = [box, chat, turns, backend, top_k, excluded]
        outputs = [box, chat, turns, sources, kept_record]
        for event, fn in ((box.submit, session.respond), (send.click, session.respond),
                          (as_typed.click, session.respond_as_typed)):
            event(fn, inputs, outputs).then(None, [kept_record], None, js=SAVE_JS).then(
                session.status, [turns], status)
        chat.like(session.rate, [turns], [rated, comment])
        comment.submit(session.comment, [comment, rated, turns], [comment])
        clear.click(lambda: ([], [], sources_html(None), ""), None, [chat, turns, sources, kept_record]).then(
            None, [kept_record], None, js=SAVE_JS)
        chat.clear(lambda: ([], sources_html(None), ""), None, [turns, sources, kept_record]).then(
            None, [kept_record], None, js=SAVE_JS)  # the chat's own bin button: the same
        ui.load(lambda: session.status(), None, status)
        # Every load shows the kept conversation: LOAD_JS reads it from local storage first.
        ui.load(restore, [kept_record], [chat, turns, kept_record], js=LOAD_JS).then(
            session.status, [turns], status)
        ui.load(session.library, [excluded], library)
        refresh.click(session.status, [turns], status).then(session.library, [excluded], library)
    return ui


def chat_functions(ui: gr.Blocks) -> list[int]:
    """The ids of the chat's event functions (what a queue call may name as fn_index)."""
    fns = ui.fns
    return sorted(fns) if isinstance(fns, dict) else list(range(len(fns)))
