"""End to end in a real browser: Debian's chromium, headless, driven by Playwright.

Screenshots are saved to ``test-artifacts/`` (the cited answer, then the abstention).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest import load_index

pytestmark = pytest.mark.real

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Set up before the question is sent: records whether the chat ever showed a draft with text.
WATCH_DRAFTS = """() => { window.sawDraft = false;
  new MutationObserver(() => { const d = document.querySelector('#sq-chat .sq-draft');
    if (d && d.innerText.includes('Drafting')) window.sawDraft = true; })
  .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


@pytest.fixture(scope="module")
def page(server):
    playwright_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), \
        "Debian chromium is missing: `make test` installs it (apt-get install -y chromium)"
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(server.url + "/")
        page.wait_for_selector("#sq-question textarea")
        yield page
        browser.close()


def ask(page, question: str) -> None:
    page.evaluate(WATCH_DRAFTS)
    before = page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").count()
    page.fill("#sq-question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#sq-chat .sq-answer, #sq-chat .sq-abstain').length > n", arg=before)


def feedback_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_cited_streaming_answer_then_abstention_and_feedback(page, real_settings):
    page.wait_for_function("(document.querySelector('#sq-status')?.innerText || '').includes('chunks')")
    assert "17 chunks" in page.inner_text("#sq-status")

    ask(page, "What is the most frequent cause of metastatic calcinosis cutis?")
    assert page.evaluate("window.sawDraft"), "the draft should show while the model writes"
    answer = page.locator("#sq-chat .sq-answer").last
    markers = answer.locator("a.sq-marker")
    assert markers.first.inner_text() == "[1]"
    # The judge may cite a neighbouring sentence of the same section first; the answering
    # one is among the citations, and hovering its marker shows it.
    marker = next(markers.nth(i) for i in range(markers.count())
                  if "renal failure" in (markers.nth(i).get_attribute("title") or ""))
    number = marker.inner_text().strip("[]")
    quote = page.locator(f"#sq-sources #sq-src-{number} mark.sq-quote").inner_text()
    assert "Chronic renal failure is the most frequent underlying cause." in quote
    document = load_index(real_settings.index_path).documents["calcinosis_cutis.txt"]
    assert quote in document
    passage = page.locator(f"#sq-sources #sq-src-{number} .sq-passage").inner_text()
    assert passage.index(quote) > 0, "the quote is highlighted inside its surrounding passage"
    marker.click()
    assert page.url.endswith(f"#sq-src-{number}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_chat_answer.png"), full_page=True)

    # feedback: thumbs down on this answer, then a comment
    lines_before = len(feedback_lines(real_settings.feedback_path))
    page.locator("#sq-chat button[aria-label='Dislike']").last.click()
    page.wait_for_selector("#sq-comment textarea")
    page.fill("#sq-comment textarea", "browser test: should also mention the mechanism")
    page.keyboard.press("Enter")
    page.wait_for_selector("#sq-comment textarea", state="hidden")
    new = feedback_lines(real_settings.feedback_path)[lines_before:]
    assert [line["rating"] for line in new] == ["down", None]
    assert new[0]["question"] == "What is the most frequent cause of metastatic calcinosis cutis?"
    assert quote in [c["quote"] for c in new[0]["citations"]] and new[0]["backend"] == "local"
    assert new[0]["index_version"].startswith("v-")
    assert new[1]["comment"] == "browser test: should also mention the mechanism"
    assert new[1]["answer_id"] == new[0]["answer_id"]

    # a follow-up is rewritten, and the rewrite is shown beside the sources
    ask(page, "And how is it treated?")
    assert "How is metastatic calcinosis cutis treated?" in page.inner_text("#sq-sources .sq-standalone")

    # a question the text cannot answer is declined, visibly
    ask(page, "What dose of diltiazem should an adult take?")
    last = page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").last
    assert last.get_attribute("class") == "sq-abstain"
    assert "The source does not answer this question." in last.inner_text()
    assert last.locator("a.sq-marker").count() == 0

    page.screenshot(path=str(ARTIFACTS / "web_chat_abstention.png"), full_page=True)
