"""The conversation the browser keeps: one compact local-storage entry of our own.

After each answer the server sends the conversation as data (:func:`record`: each turn's
question and answer record, never HTML), capped at :data:`MAX_TURNS` turns and
:data:`MAX_CHARS` characters, oldest dropped; the page's script (:data:`SAVE_JS`) stores
it under :data:`KEY`. On every page load :data:`LOAD_JS` reads the entry back and the
server re-renders the answers from it (:func:`restore`, through :mod:`app.render`, which
escapes every text), with a note when older turns were dropped. Gradio's own stores are
not used: ``gr.BrowserState`` is read only once its component has mounted (a load event
in a fresh browser often saw the empty default) and its secret changes with every
server start; its run history grew by the whole conversation on every question.
"""

from __future__ import annotations

import json
import re

from core.answer import Answer, Citation, DroppedSentence, Passage, Span

from .render import answer_html

__all__ = ["KEY", "LOAD_JS", "MAX_CHARS", "MAX_TURNS", "SAVE_JS", "kept", "record", "restore", "turn"]

KEY = "sourceqa-conversation"
MAX_TURNS = 50
MAX_CHARS = 600_000  # of JSON (ASCII): well inside the browser's ~5 M characters per site
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Gradio's stores of earlier releases of this page (encrypted BrowserState entries).
_OLD_KEYS = ("sourceqa-chat", "sourceqa-turns", "sourceqa-rated")

# Run before the load event: what the server restores (the entry's text, or ""). It first
# frees what earlier releases left (this origin serves only this app): Gradio's run history
# of any server start (its key names the app id of one) and the BrowserState entries.
LOAD_JS = f"""() => {{
  try {{ Object.keys(localStorage).filter((k) => k.startsWith('gradio:run-history:') ||
           {json.dumps(list(_OLD_KEYS))}.includes(k)).forEach((k) => localStorage.removeItem(k)); }} catch (e) {{}}
  try {{ return [localStorage.getItem({json.dumps(KEY)}) || '']; }} catch (e) {{ return ['']; }}
}}"""
# Run after an answer and "New conversation": store the record ("" removes the entry). A full
# storage first loses Gradio's own run history (``gradio:run-history:`` entries), then gives up.
SAVE_JS = f"""(text) => {{
  const key = {json.dumps(KEY)};
  const put = () => {{ if (text) localStorage.setItem(key, text); else localStorage.removeItem(key); }};
  try {{ put(); }} catch (error) {{
    try {{ Object.keys(localStorage).filter((k) => k.startsWith('gradio:run-history:'))
             .forEach((k) => localStorage.removeItem(k)); put(); }}
    catch (again) {{ console.warn('sourceqa: the conversation could not be kept in this browser', again); }}
  }}
  return [];
}}"""


def turn(question: str, answer: Answer, answer_id: str, number: int, as_typed: bool, message: int) -> dict:
    """One turn as the chat keeps it: the answer's feedback record (``answer``) and what
    else re-rendering it needs (``shown``: its sentences, short phrase, how many generated
    sentences were removed, and a decline's closest sections)."""
    shown = {"sentences": [[text, number] for text, number in answer.sentences], "short": answer.short,
             "dropped": len(answer.dropped),
             "sections": list(dict.fromkeys((p.section, p.source) for p in answer.passages))}
    return {"question": question, "answer_id": answer_id, "as_typed": as_typed, "number": number,
            "message": message, "answer": answer.to_dict("record"), "shown": shown}


def _size(turn: dict) -> int:
    return len(json.dumps({k: v for k, v in turn.items() if k != "message"}, separators=(",", ":")))


def kept(turns: list[dict]) -> list[dict]:
    """The latest turns that fit the caps: at most MAX_TURNS, at most MAX_CHARS of JSON.

    >>> len(kept([{"question": "q"}] * 60))
    50
    >>> kept([{"question": "x" * MAX_CHARS}, {"question": "y"}])
    [{'question': 'y'}]
    """
    out, size = [], 20
    for item in reversed(turns[-MAX_TURNS:]):
        size += _size(item) + 1
        if size > MAX_CHARS:
            break
        out.append(item)
    return out[::-1]


def record(turns: list[dict]) -> str:
    """The local-storage entry for a conversation (already :func:`kept`); "" when empty."""
    items = [{k: v for k, v in t.items() if k != "message"} for t in turns if isinstance(t, dict)]
    return json.dumps({"v": 1, "turns": items}, separators=(",", ":")) if items else ""


def _answer(data: dict) -> Answer:
    """An Answer rebuilt from a kept turn (TypeError, KeyError, ValueError when malformed)."""
    rec, shown = data["answer"], data.get("shown") or {}

    def text(value: object) -> str:
        if not isinstance(value, str):
            raise TypeError("not text")
        return value

    citations = [Citation(int(c["number"]), text(c["quote"]), text(c["source"]), text(c["section"]),
                          int(c["start"]), int(c["end"]), None if c.get("page") is None else int(c["page"]),
                          tuple(Span(text(s["source"]), int(s["start"]), int(s["end"]), text(s["section"]))
                                for s in c.get("also") or ()))
                 for c in rec["citations"]]
    passages = [Passage("", text(source), text(section), 0, 0, "", 0.0, 0.0)
                for section, source in shown.get("sections") or ()]
    return Answer(text(rec["question"]), text(rec["text"]), bool(rec["abstained"]), citations, passages,
                  text(rec["llm"]), note=text(rec.get("note") or ""), standalone=text(rec.get("standalone") or ""),
                  index_version=text(rec.get("index_version") or ""), short=text(shown.get("short") or ""),
                  sentences=[(text(s), int(n)) for s, n in shown.get("sentences") or ()],
                  dropped=[DroppedSentence("", "")] * min(int(shown.get("dropped") or 0), 1000))


def restore(stored: object) -> tuple[list[dict], list[dict], str]:
    """The conversation a page load shows, from the entry the browser kept: (chat messages,
    turns, the entry as kept again). A malformed turn is left out; anything else than an
    entry of ours gives an empty conversation.

    >>> restore("junk"), restore("")
    (([], [], ''), ([], [], ''))
    """
    try:
        data = json.loads(stored) if isinstance(stored, str) and stored else None
    except ValueError:
        data = None
    items = data.get("turns") if isinstance(data, dict) and data.get("v") == 1 else None
    chat: list[dict] = []
    turns: list[dict] = []
    for item in kept(items) if isinstance(items, list) else ():
        try:
            answer = _answer(item)
            number = int(item["number"])
            key = item["answer_id"] if isinstance(item.get("answer_id"), str) and _ID.fullmatch(item["answer_id"]) \
                else f"r{number}"
            as_typed = item.get("as_typed") is True
            html = answer_html(answer, key=key, turn=number, as_typed=as_typed)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            continue
        if not chat and number > 1:
            earlier = f"{number - 1} earlier question{'s' if number > 2 else ''}"
            chat.append({"role": "assistant", "content": f'<div class="sq-note sq-kept-note">{earlier} of this '
                         f"conversation {'are' if number > 2 else 'is'} no longer kept in this browser (it keeps "
                         f"the latest {MAX_TURNS}).</div>"})
        chat += [{"role": "user", "content": answer.question}, {"role": "assistant", "content": html}]
        turns.append(turn(answer.question, answer, key, number, as_typed, len(chat) - 1))
    return chat, turns, record(turns)
