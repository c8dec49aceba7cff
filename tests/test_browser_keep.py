"""A long conversation comes back on every load, in a fresh browser too, and stays small.

A new browser context given the first one's ``storage_state`` is what a user gets who
closes the browser and opens the page again: the same local storage, nothing cached.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_browser import SHOTS, browser, extractive_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real

KEY = "sourceqa-conversation"
BUBBLES = "#sq-chat .sq-answer, #sq-chat .sq-abstain"
QUESTIONS = ["What is calcinosis cutis?", "What causes metastatic calcinosis cutis?",
             "How is calcinosis cutis diagnosed?", "What is dystrophic calcinosis cutis?",
             "How is calcinosis cutis treated?", "What dose of diltiazem should an adult take?"]
TURNS, LOADS = 30, 10
STORAGE_BOUND = 1_500_000  # characters of local storage (keys and values) after 30 turns
STORAGE = "() => Object.keys(localStorage).reduce((n, k) => n + k.length + localStorage.getItem(k).length, 0)"


def ask(page, question: str) -> None:
    """Ask, and wait for the answer (or decline) to be final."""
    before = page.locator(BUBBLES).count()
    page.fill("#sq-question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[BUBBLES, before])


def _slowly(route) -> None:
    time.sleep(0.1)  # each of Gradio's script chunks late: its components mount in another order
    route.continue_()


def _open(browser, url: str, state=None, slow: bool = False):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, storage_state=state)
    if slow:
        context.route("**/assets/*.js", _slowly)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url + "/")
    page.wait_for_selector("#sq-question textarea")
    return context, page


def _kept(page) -> list[dict]:
    text = page.evaluate(f"localStorage.getItem('{KEY}')")
    return json.loads(text)["turns"] if text else []


def _wait_kept(page, count: int) -> None:
    page.wait_for_function(f"n => (JSON.parse(localStorage.getItem('{KEY}') || '{{\"turns\": []}}').turns.length"
                           " === n)", arg=count, timeout=30_000)


def _shown(page, count: int, timeout: float = 30_000) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n", arg=[BUBBLES, count],
                               timeout=timeout)
        return True
    except PlaywrightTimeout:
        return False


def test_a_30_turn_conversation_comes_back_on_every_load(extractive_server, browser, tmp_path):  # noqa: F811
    context, page = _open(browser, extractive_server.url)
    try:
        started = time.monotonic()
        for number in range(1, TURNS + 1):
            ask(page, f"{QUESTIONS[(number - 1) % len(QUESTIONS)]}")
            _wait_kept(page, number)
        asked = time.monotonic() - started
        last_text = page.locator(BUBBLES).last.inner_text()
        size = page.evaluate(STORAGE)
        keys = page.evaluate("Object.keys(localStorage)")
        state = context.storage_state()
    finally:
        context.close()
    print(f"\n{TURNS} turns asked in {asked:.0f} s; local storage {size:,} characters; keys {keys}")
    assert not [k for k in keys if k.startswith("gradio:run-history")], "Gradio's run history is off"
    assert size < STORAGE_BOUND, f"local storage holds {size:,} characters after {TURNS} turns"

    shown = 0
    for load in range(LOADS):  # a fresh browser context each time, with the same local storage; every
        # other one gets Gradio's scripts late, as a slow network or a busy machine would
        context, page = _open(browser, extractive_server.url, state, slow=load % 2 == 1)
        try:
            if _shown(page, TURNS):
                last = page.locator(BUBBLES).last
                last.scroll_into_view_if_needed()
                shown += last.is_visible() and last.inner_text() == last_text
            if load == 0:
                SHOTS.mkdir(exist_ok=True)
                page.screenshot(path=str(SHOTS / "kept_conversation_restored.png"))
        finally:
            context.close()
    print(f"{shown} of {LOADS} fresh loads showed all {TURNS} turns")
    assert shown == LOADS

    context, page = _open(browser, extractive_server.url, state)
    try:
        assert _shown(page, TURNS)
        assert page.inner_text("#sq-chat").count(QUESTIONS[(TURNS - 1) % len(QUESTIONS)]) == TURNS // len(QUESTIONS)
        with page.expect_download() as download:  # the export holds the restored conversation
            page.click("#sq-export")
        markdown = Path(download.value.path()).read_text()
        assert markdown.count("\n## ") == TURNS and f"## {QUESTIONS[0]}" in markdown
        assert "[^29.1]" in markdown, "the restored turns keep their numbers"
        # a question on top follows on from the restored ones (their turns are back too)
        ask(page, "And how is it treated?")
        assert page.locator(BUBBLES).last.locator(".sq-standalone").count() == 1
        _wait_kept(page, TURNS + 1)
        assert _kept(page)[-1]["number"] == TURNS + 1
        # "New conversation" clears the chat and what the browser keeps, also after a reload
        page.get_by_role("button", name="New conversation").click()
        assert _shown(page, 0)
        page.wait_for_function(f"localStorage.getItem('{KEY}') === null")
        page.reload()
        page.wait_for_selector("#sq-question textarea")
        time.sleep(2)
        assert page.locator(BUBBLES).count() == 0
    finally:
        context.close()


def test_only_the_latest_50_turns_are_kept_and_the_page_says_so(extractive_server, browser):  # noqa: F811
    """A conversation longer than the cap loses its oldest turns, with a visible note."""
    context, page = _open(browser, extractive_server.url)
    try:
        ask(page, QUESTIONS[0])
        _wait_kept(page, 1)
        one = _kept(page)[0]
        seeded = [{**one, "number": n, "answer_id": f"seed{n}"} for n in range(1, 61)]
        page.evaluate("([k, v]) => localStorage.setItem(k, v)", [KEY, json.dumps({"v": 1, "turns": seeded})])
        page.reload()
        assert _shown(page, 50)
        note = page.locator("#sq-chat .sq-kept-note")
        assert note.is_visible() and note.inner_text().startswith("10 earlier questions")
        ask(page, QUESTIONS[1])  # the 61st: the 11th is dropped now
        _wait_kept(page, 50)
        assert [t["number"] for t in _kept(page)][::49] == [12, 61]
        page.screenshot(path=str(SHOTS / "kept_conversation_capped.png"))
        # something not ours in the entry is ignored: an empty chat, no error
        page.evaluate("([k]) => localStorage.setItem(k, '{\"v\": 1, \"turns\": [{\"question\": \"<b>x</b>\"}]}')",
                      [KEY])
        page.reload()
        page.wait_for_selector("#sq-question textarea")
        time.sleep(2)
        assert page.locator(BUBBLES).count() == 0 and "<b>x</b>" not in page.inner_text("#sq-chat")
    finally:
        context.close()
