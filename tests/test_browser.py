"""End to end in a real browser: Debian's chromium, headless, driven by Playwright.

Screenshots are saved to ``test-artifacts/`` (the cited answer, the abstention, the
source viewer open on an earlier answer's citation).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import SEED

from ingest import load_index

pytestmark = pytest.mark.real

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Set up before the question is sent: records every text the chat showed while the answer
# was being written (the "checking" state), so a test can prove none of it was unverified.
WATCH_CHECKING = """() => { window.sawChecking = false; window.shownWhileChecking = [];
  new MutationObserver(() => { const d = document.querySelector('#sq-chat .sq-checking');
    if (d) { window.sawChecking = true; window.shownWhileChecking.push(d.innerText); } })
  .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), \
        "Debian chromium is missing: `make test` installs it (apt-get install -y chromium)"
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(server.url + "/")
    page.wait_for_selector("#sq-question textarea")
    yield page
    context.close()


def ask(page, question: str) -> None:
    page.evaluate(WATCH_CHECKING)
    before = page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").count()
    page.fill("#sq-question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#sq-chat .sq-answer, #sq-chat .sq-abstain').length > n", arg=before)


def assert_only_verified_text_was_shown(page, final: str) -> None:
    """Every sentence the chat showed while checking is a sentence of the final answer."""
    for shown in page.evaluate("window.shownWhileChecking"):
        for line in shown.splitlines():
            line = re.sub(r"\s*\[\d+\]", "", line).strip()
            if line and not line.startswith(("Checking against the source", "Loading the index")):
                assert line in re.sub(r"\s*\[\d+\]", "", final), f"shown before it was verified: {line!r}"


def entry_quote(page, marker) -> str:
    """The quote of a marker's entry in its answer's own sources list."""
    return page.locator(f"{marker.get_attribute('href')} .sq-quote").text_content()


def viewer_highlight(page) -> str:
    page.wait_for_selector("#sq-viewer .sq-viewer:not([hidden]) mark.sq-hl")
    return "".join(page.locator("#sq-viewer mark.sq-hl").all_text_contents())


def feedback_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_cited_streaming_answer_then_abstention_and_feedback(page, real_settings):
    page.wait_for_function("(document.querySelector('#sq-status')?.innerText || '').includes('chunks')")
    assert "17 chunks" in page.inner_text("#sq-status")

    ask(page, "What is the most frequent cause of metastatic calcinosis cutis?")
    assert page.evaluate("window.sawChecking"), "the checking state should show while the model writes"
    answer = page.locator("#sq-chat .sq-answer").last
    assert_only_verified_text_was_shown(page, answer.inner_text())
    markers = answer.locator("a.sq-marker")
    assert markers.first.inner_text() == "[1]"
    # The judge may cite a neighbouring sentence of the same section first; the answering
    # one is among the citations, each listed with its quote in the answer's own sources.
    marker = next(markers.nth(i) for i in range(markers.count())
                  if "renal failure" in entry_quote(page, markers.nth(i)))
    number = marker.inner_text().strip("[]")
    first_quote = entry_quote(page, marker)
    assert marker.get_attribute("title") is None
    marker.focus()  # keyboard focus (and a tap) shows the quote in the page's popover
    page.wait_for_selector("#sq-pop:not([hidden])")
    assert first_quote in page.inner_text("#sq-pop")
    quote = page.locator(f"#sq-sources #sq-src-{number} mark.sq-quote").inner_text()
    assert "Chronic renal failure is the most frequent underlying cause." in quote
    document = load_index(real_settings.index_path).documents["calcinosis_cutis.txt"]
    assert quote in document
    passage = page.locator(f"#sq-sources #sq-src-{number} .sq-passage").inner_text()
    assert passage.index(quote) > 0, "the quote is highlighted inside its surrounding passage"
    assert first_quote == quote
    page.keyboard.press("Escape")
    marker.click()  # opens the whole source in the viewer, the quote highlighted
    assert viewer_highlight(page) == quote
    assert "Calcinosis Cutis" in page.inner_text("#sq-viewer .sq-viewer-title")
    assert page.inner_text("#sq-viewer .sq-doc").startswith("Calcinosis Cutis")
    page.click("#sq-viewer .sq-viewer-close")

    # copy: plain text, the citations as numbered footnotes
    answer.locator(".sq-copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "<" not in copied and f'[{number}] "{quote}" (Classification \u203a Metastatic' in copied
    assert copied.startswith(answer.locator(".sq-text").inner_text().strip()[:30])
    page.wait_for_function("[...document.querySelectorAll('#sq-chat .sq-copy')].every(b => b.textContent == "
                           "'Copy with sources')", timeout=10_000)
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
    # a marker of the EARLIER answer still opens its own source
    page.locator("#sq-chat .sq-answer").first.locator(f"a.sq-marker >> text='[{number}]'").click()
    assert viewer_highlight(page) == quote
    page.wait_for_selector("#sq-pop:not([hidden])")
    assert quote in page.inner_text("#sq-pop")
    page.screenshot(path=str(ARTIFACTS / "web_chat_viewer.png"), full_page=True)

    # a question the text cannot answer is declined, visibly
    ask(page, "What dose of diltiazem should an adult take?")
    last = page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").last
    assert last.get_attribute("class") == "sq-abstain"
    assert "The source does not answer this question." in last.inner_text()
    assert last.locator("a.sq-marker").count() == 0
    # its closest sections are links that open the section in the viewer
    link = last.locator("a.sq-section-link").first
    section = link.inner_text()
    link.click()
    page.wait_for_selector("#sq-viewer mark.sq-hl-section")
    assert section in page.inner_text("#sq-viewer .sq-viewer-where")
    assert page.locator("#sq-viewer mark.sq-hl-section").first.inner_text().startswith(section.split(" \u203a ")[-1])

    page.screenshot(path=str(ARTIFACTS / "web_chat_abstention.png"), full_page=True)

    # export: the conversation as Markdown with its citations
    with page.expect_download() as download:
        page.click("#sq-export")
    assert download.value.suggested_filename.endswith(".md")
    markdown = Path(download.value.path()).read_text()
    assert "## What is the most frequent cause of metastatic calcinosis cutis?" in markdown
    assert "## And how is it treated?" in markdown and "Not in the source." in markdown
    assert f'[^1.{number}]: "{quote}"' in markdown and f"[^1.{number}]" in markdown.split("\n\n")[3]

    # a reload keeps the conversation, and its citations still work
    shown = page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").count()
    page.reload()
    page.wait_for_function("n => document.querySelectorAll('#sq-chat .sq-answer, #sq-chat .sq-abstain').length == n",
                           arg=shown)
    assert "What dose of diltiazem should an adult take?" in page.inner_text("#sq-chat")
    page.locator("#sq-chat .sq-answer").first.locator(f"a.sq-marker >> text='[{number}]'").click()
    assert viewer_highlight(page) == quote


# -- dark mode and a phone-sized screen ---------------------------------------------------------
# WCAG 2 contrast of every visible text of the product's own styles (class sq-*) against the
# first opaque background behind it; AA: 4.5, or 3 for large text (24 px, or 18.66 px bold).
CONTRAST = r"""() => {
  const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92
      : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (e) => { for (; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length && (c.length < 4 || c[3] > 0.5)) return c; } return [255, 255, 255]; };
  const low = [];
  for (const e of document.querySelectorAll('[class*="sq-"], [class*="sq-"] *')) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length || getComputedStyle(e).visibility === 'hidden') continue;
    const style = getComputedStyle(e), size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const [a, b] = [lum(rgba(style.color)), lum(background(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) low.push(`${e.className || e.tagName}: ${ratio.toFixed(2)} < ${needed} ` +
                                 `(${style.color} on ${background(e)}) "${e.textContent.trim().slice(0, 40)}"`);
  }
  return low;
}"""


def _phone_page(browser, url: str, theme: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{url}/?__theme={theme}")
    page.wait_for_selector("#sq-question textarea")
    return context, page


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_contrast_and_a_phone_screen(server, browser, theme):
    """At 390 px the latest answer's sources open right under it; every text style of ours
    passes WCAG AA in both themes (an answer, a decline, the sources, the viewer)."""
    context, page = _phone_page(browser, server.url, theme)
    try:
        assert page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
        ask(page, "What is the most frequent cause of metastatic calcinosis cutis?")
        answer = page.locator("#sq-chat .sq-answer").last
        sources = answer.locator("details.sq-cites")
        page.wait_for_function("() => { const d = [...document.querySelectorAll('#sq-chat details.sq-cites')];"
                               " return d.length && d[d.length - 1].open; }")
        text_box, list_box, box = (answer.locator(".sq-text").bounding_box(), sources.bounding_box(),
                                   answer.bounding_box())
        assert list_box["y"] >= text_box["y"] + text_box["height"], "the sources come after the answer"
        assert box["y"] + box["height"] >= list_box["y"] + list_box["height"], "inside the answer's bubble"
        assert list_box["x"] >= 0 and list_box["x"] + list_box["width"] <= 390, "within the screen"
        assert "renal failure" in sources.inner_text()
        page.wait_for_function("(document.querySelector('#sq-status')?.innerText || '')"
                               ".includes('backend: local (last answer')")  # the backend that answered
        ask(page, "What dose of diltiazem should an adult take?")
        page.locator("#sq-chat .sq-abstain").last.locator("a.sq-section-link").first.tap()
        page.wait_for_selector("#sq-viewer mark.sq-hl-section")
        answer.locator("a.sq-marker").first.tap()  # a tap shows the quote in the popover
        page.wait_for_selector("#sq-pop:not([hidden])")
        pop = page.locator("#sq-pop").bounding_box()
        assert pop["x"] >= 0 and pop["x"] + pop["width"] <= 390, "the popover fits the screen"
        low = page.evaluate(CONTRAST)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"web_chat_phone_{theme}.png"), full_page=True)
        assert not low, "below WCAG AA:\n" + "\n".join(low)
    finally:
        context.close()


# -- a model that writes an unsupported sentence first ----------------------------------------
SCRIPTED_REPLY = ["Calcinosis cutis is caused ", "by eating too much cheese ", "in childhood. ",
                  "Chronic renal failure is the most ", "frequent underlying cause."]


class ScriptedOpenAI:
    """An OpenAI-compatible chat endpoint (stdlib HTTP server) that streams SCRIPTED_REPLY
    slowly, so the page is watched while the unsupported sentence is being written."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                import time

                self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for number, piece in enumerate([*SCRIPTED_REPLY, None]):
                    delta = {"role": "assistant", "content": piece} if piece else {}
                    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
                             "choices": [{"index": 0, "delta": delta,
                                          "finish_reason": None if piece else "stop"}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.4 if number < 3 else 0.1)
                self.wfile.write(b"data: [DONE]\n\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def scripted_server(real_settings, tmp_path_factory):
    from conftest import Server

    model = ScriptedOpenAI()
    server = Server(Path(real_settings.home), {"SOURCEQA_LLM": "openai", "SOURCEQA_OPENAI_BASE_URL": model.url,
                                               "SOURCEQA_OPENAI_MODEL": "scripted"},
                    tmp_path_factory.mktemp("logs") / "scripted-server.log")
    yield server.wait_ready()
    server.stop()
    model.stop()


def test_an_unsupported_sentence_never_reaches_the_screen(scripted_server, page):
    other = page.context.browser.new_page()  # the module's browser (one Playwright per thread)
    try:
        other.set_default_timeout(90_000)
        other.goto(scripted_server.url + "/")
        other.wait_for_selector("#sq-question textarea")
        other.evaluate("""() => { window.everShown = '';
          new MutationObserver(() => { window.everShown += (document.querySelector('#sq-chat')?.innerText || '') + '\\n'; })
          .observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
        ask(other, "What is the most frequent cause of metastatic calcinosis cutis?")
        final = other.locator("#sq-chat .sq-answer").last.inner_text()
        assert "Chronic renal failure is the most frequent underlying cause." in final
        assert other.evaluate("window.sawChecking")
        assert_only_verified_text_was_shown(other, final)
        assert "cheese" not in other.evaluate("window.everShown")
    finally:
        other.close()
    with httpx_stream(scripted_server.url + "/api/stream") as lines:
        assert not any("cheese" in line for line in lines)
        assert any('"sentence"' in line and "renal failure" in line for line in lines)


def httpx_stream(url: str):
    """The NDJSON lines of one /api/stream answer to the seed question."""
    import contextlib

    import httpx

    @contextlib.contextmanager
    def lines():
        with httpx.stream("POST", url, json={"question": "What is the most frequent cause of metastatic "
                                                          "calcinosis cutis?"}, timeout=60) as response:
            assert response.status_code == 200
            yield [line for line in response.iter_lines() if line]

    return lines()


# -- a PDF added in the page -----------------------------------------------------------------
def _handbook(path: Path) -> Path:
    """A 3-page PDF with bookmarks; the valve's pressure is stated on page 2 only."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Orchard Irrigation Handbook")
    for heading, body in [
            ("Pipes", "Main lines are buried forty centimetres deep. Lateral lines run along each row."),
            ("Valves", ("The Zorblat relief valve opens at forty-two kilopascals. It protects the drip lines "
                       "from bursting.")),
            ("Filters", "Screen filters are rinsed every month during the season.")]:
        pdf.add_page()
        pdf.start_section(heading)
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, body)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory):
    """A server over its own copy of the seed corpus (uploads write into the corpus folder)."""
    from conftest import Server

    corpus = tmp_path_factory.mktemp("upload-corpus")
    shutil.copy(SEED, corpus / SEED.name)
    server = Server(tmp_path_factory.mktemp("upload-home"),
                    {"SOURCEQA_CORPUS_DIR": str(corpus), "SOURCEQA_LLM": "extractive"},
                    tmp_path_factory.mktemp("logs") / "upload-server.log")
    server.corpus = corpus
    yield server.wait_ready(timeout=240)
    server.stop()


def test_a_pdf_added_in_the_page_is_answered_with_its_page(upload_server, page, tmp_path):
    other = page.context.browser.new_page()
    try:
        other.set_default_timeout(120_000)
        other.goto(upload_server.url + "/")
        other.wait_for_selector("#sq-upload-input")
        other.wait_for_selector("button.sq-example:visible")  # questions suggested by the corpus
        other.set_input_files("#sq-upload-input", str(_handbook(tmp_path / "irrigation.pdf")))
        other.wait_for_function("(document.querySelector('#sq-upload .sq-upload-msg')?.innerText || '')"
                                ".startsWith('Added irrigation.pdf')")
        assert (upload_server.corpus / "irrigation.pdf").exists()
        other.wait_for_function("(document.querySelector('#sq-status')?.innerText || '').includes('irrigation.pdf')")
        bad = tmp_path / "scan.pdf"
        bad.write_bytes(b"%PDF-1.4 nothing readable")
        other.set_input_files("#sq-upload-input", str(bad))
        other.wait_for_function("(document.querySelector('#sq-upload .sq-upload-msg')?.innerText || '')"
                                ".startsWith('scan.pdf was not added')")
        assert not (upload_server.corpus / "scan.pdf").exists()

        ask(other, "At what pressure does the Zorblat relief valve open?")
        answer = other.locator("#sq-chat .sq-answer").last
        assert "forty-two kilopascals" in answer.locator(".sq-text").inner_text()
        sources = answer.locator("details.sq-cites")
        sources.locator("summary").click()
        assert "irrigation.pdf, p. 2" in sources.inner_text()
        answer.locator("a.sq-marker").first.click()  # the viewer shows the PDF's page
        other.wait_for_selector("#sq-viewer mark.sq-hl")
        assert "page 2" in other.inner_text("#sq-viewer .sq-doc").lower()
        assert other.inner_text("#sq-viewer .sq-viewer-title") == "Orchard Irrigation Handbook"
        assert other.locator("button.sq-example:visible").count() >= 3  # still there after the upload
        other.screenshot(path=str(ARTIFACTS / "web_chat_upload.png"), full_page=True)
    finally:
        other.close()


# -- a follow-up: how it was answered, in its own bubble, and the question as typed --------------
@pytest.fixture(scope="module")
def extractive_server(real_settings, tmp_path_factory):
    """The chat over the seed index, answering with the source's own sentences (fast)."""
    from conftest import Server

    server = Server(Path(real_settings.home), {"SOURCEQA_LLM": "extractive"},
                    tmp_path_factory.mktemp("logs") / "extractive-server.log")
    yield server.wait_ready()
    server.stop()


def test_a_follow_up_says_how_it_was_answered_and_can_be_asked_as_typed(extractive_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(extractive_server.url + "/")
        page.wait_for_selector("#sq-question textarea")
        bubbles = "#sq-chat .sq-answer, #sq-chat .sq-abstain"
        ask(page, "What is calcinosis cutis?")
        assert page.locator(bubbles).last.locator(".sq-standalone").count() == 0  # nothing to rewrite
        ask(page, "What are the symptoms?")
        ask(page, "how is it diagnosed?")
        bubble = page.locator(bubbles).last
        assert bubble.locator(".sq-standalone").inner_text().startswith(
            "Answered as: How is calcinosis cutis diagnosed?"), "the rewrite is shown in the answer itself"
        assert "symptoms diagnosed" not in page.inner_text("#sq-chat")
        page.screenshot(path=str(ARTIFACTS / "web_chat_answered_as.png"), full_page=True)

        shown = page.locator(bubbles).count()
        bubble.locator("button.sq-as-typed").click()  # one click: the question as typed
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[bubbles, shown])
        again = page.locator(bubbles).last
        assert again.locator(".sq-standalone").inner_text() == "Answered as typed, without the earlier questions."
        assert again.locator("button.sq-as-typed").count() == 0
        assert page.inner_text("#sq-chat").count("how is it diagnosed?") == 2, "asked again, as typed"
        assert page.locator("#sq-sources .sq-standalone").count() == 0  # answered as asked: no rewrite
        assert page.input_value("#sq-question textarea") == ""
        # the next follow-up follows on from the question asked as typed, not the earlier ones
        ask(page, "And what causes it?")
        assert page.locator(bubbles).last.locator(".sq-standalone").count() == 0
    finally:
        context.close()


# -- the Documents panel: choose documents, remove one -------------------------------------------
ORCHARD = ("# Orchard Valves\n\nThe Zorblat relief valve opens at forty-two kilopascals. It protects the drip "
           "lines from bursting.\n\n## Filters\n\nScreen filters are rinsed every month during the season.\n")
SCURVY_NOTE = ("# Scurvy\n\nScurvy is a disease caused by a lack of vitamin C in the diet. Sailors on long "
               "voyages suffered from it.\n\n## Treatment\n\nScurvy is treated with vitamin C taken by mouth.\n")
SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def library_server(tmp_path_factory):
    """The extractive chat over its own copy of the seed corpus (documents are added and removed)."""
    from conftest import Server

    corpus = tmp_path_factory.mktemp("library-corpus")
    shutil.copy(SEED, corpus / SEED.name)
    server = Server(tmp_path_factory.mktemp("library-home"),
                    {"SOURCEQA_CORPUS_DIR": str(corpus), "SOURCEQA_LLM": "extractive"},
                    tmp_path_factory.mktemp("logs") / "library-server.log")
    server.corpus = corpus
    yield server.wait_ready(timeout=240)
    server.stop()


def _listed(page) -> list[str]:
    return page.eval_on_selector_all("#sq-library .sq-lib-doc", "rows => rows.map(r => r.dataset.source)")


def test_the_documents_panel_chooses_and_removes_documents(library_server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(library_server.url + "/")
        page.wait_for_selector(f"#sq-library .sq-lib-doc[data-source='{SEED.name}']")
        assert page.locator("#sq-export").is_hidden(), "no export before the first answer"
        for name, text in (("orchard.md", ORCHARD), ("scurvy.md", SCURVY_NOTE)):
            (tmp_path / name).write_text(text, encoding="utf-8")
            page.set_input_files("#sq-upload-input", str(tmp_path / name))
            page.wait_for_function("n => (document.querySelector('#sq-upload .sq-upload-msg')?.innerText || '')"
                                   ".startsWith('Added ' + n)", arg=name)
            page.wait_for_function("n => [...document.querySelectorAll('#sq-library .sq-lib-doc')]"
                                   ".some(r => r.dataset.source === n)", arg=name)
        assert _listed(page) == sorted([SEED.name, "orchard.md", "scurvy.md"])
        scurvy = page.locator("#sq-library .sq-lib-doc[data-source='scurvy.md']")
        assert "Scurvy" in scurvy.inner_text() and "chunk" in scurvy.inner_text()
        assert scurvy.locator(".sq-suggest").count() >= 1  # its own suggested questions, under it

        # untick the scurvy note and the seed article: only the orchard note answers
        for source in ("scurvy.md", SEED.name):
            page.locator(f"#sq-library .sq-lib-tick[data-source='{source}']").uncheck()
        page.wait_for_function("(document.querySelector('#sq-library .sq-library-head')?.innerText || '')"
                               ".startsWith('1 of 3')")
        assert scurvy.locator(".sq-suggest").first.is_disabled()
        ask(page, "At what pressure does the Zorblat relief valve open?")
        answer = page.locator("#sq-chat .sq-answer").last
        assert "forty-two kilopascals" in answer.locator(".sq-text").inner_text()
        wheres = page.locator("#sq-sources .sq-where").all_inner_texts()
        assert wheres and all(w == "orchard.md" for w in wheres), wheres  # no "characters" either
        assert page.locator("#sq-export").is_visible(), "export once there is an answer"
        answer.locator("a.sq-marker").first.click()
        page.wait_for_selector("#sq-viewer .sq-viewer:not([hidden]) mark.sq-hl")
        ask(page, "What is scurvy caused by?")  # its document is unticked: declined
        assert page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").last.get_attribute("class") == "sq-abstain"
        assert page.locator("#sq-viewer .sq-viewer").is_hidden(), "a decline clears the viewer"
        SHOTS.mkdir(exist_ok=True)
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#sq-library").screenshot(path=str(SHOTS / "documents_panel_unticked.png"))
        page.screenshot(path=str(SHOTS / "documents_panel_page.png"), full_page=True)

        # remove the orchard note (confirmed): gone from the list, the corpus folder and the answers
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#sq-library .sq-remove[data-source='orchard.md']").click()
        page.wait_for_function("() => ![...document.querySelectorAll('#sq-library .sq-lib-doc')]"
                               ".some(r => r.dataset.source === 'orchard.md')")
        assert _listed(page) == sorted([SEED.name, "scurvy.md"])
        assert page.locator("#sq-library .sq-lib-doc[data-source='scurvy.md'] .sq-suggest").first.is_disabled()
        assert not (library_server.corpus / "orchard.md").exists()
        page.wait_for_function("!(document.querySelector('#sq-status')?.innerText || '').includes('orchard.md')")
        page.locator("#sq-library").screenshot(path=str(SHOTS / "documents_panel_after_remove.png"))
        page.screenshot(path=str(ARTIFACTS / "web_chat_documents.png"), full_page=True)
    finally:
        context.close()
