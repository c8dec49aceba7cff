"""Issue 28 in the browser: a PDF built like an R vignette (ligatures, a TeX font without a
Unicode map, hyphenated line ends, a running header, page numbers, no outline) and a
scanned referral letter (no text layer, read by OCR) are added from the page, and their
answers are cited with clean words, real headings and pages, and the OCR note."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import SEED
from test_browser import ARTIFACTS, ask, browser  # noqa: F401  (the browser fixture)
from test_ocr import PAGE_ONE, PAGE_TWO, write_scan
from test_pdf_text import vignette

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def ocr_server(tmp_path_factory):
    """A server with OCR on, over its own copy of the seed corpus (uploads write into it)."""
    from conftest import Server

    corpus = tmp_path_factory.mktemp("pdf-corpus")
    shutil.copy(SEED, corpus / SEED.name)
    server = Server(tmp_path_factory.mktemp("pdf-home"),
                    {"SOURCEQA_CORPUS_DIR": str(corpus), "SOURCEQA_LLM": "extractive", "SOURCEQA_OCR": "true"},
                    tmp_path_factory.mktemp("logs") / "pdf-server.log")
    server.corpus = corpus
    yield server.wait_ready(timeout=240)
    server.stop()


def _add(page, path, name):
    page.set_input_files("#sq-upload-input", str(path))
    page.wait_for_function("name => (document.querySelector('#sq-upload .sq-upload-msg')?.innerText || '')"
                           ".startsWith('Added ' + name)", arg=name, timeout=240_000)


def test_a_vignette_pdf_and_a_scan_added_in_the_page_are_cited_cleanly(ocr_server, browser, tmp_path):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(ocr_server.url + "/")
        page.wait_for_selector("#sq-upload-input")
        pdf = tmp_path / "vignette.pdf"
        pdf.write_bytes(vignette())
        _add(page, pdf, "vignette.pdf")
        ask(page, "What does the infinitesimal jackknife give?")
        answer = page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").last
        text = answer.inner_text()
        assert "infinitesimal jackknife gives the variance" in text, text
        cites = answer.locator("details.sq-cites")
        cites.locator("summary").click()
        where = cites.inner_text()
        assert "vignette.pdf, p. 1" in where and "Introduction" in where, where
        answer.locator("a.sq-marker").first.click()  # the whole document in the viewer
        page.wait_for_selector("#sq-viewer mark.sq-hl")
        document = page.inner_text("#sq-viewer .sq-doc")
        for word in ("significance", "sufficient", "infinitesimal", "information matrix", "2.3.2 Monoclonal"):
            assert word in document, word
        assert not re.search(r"signi cance|su cient|in nitesimal|\ufb01|\x0c", document)
        assert "The mgus2 data set" in document and "gammopathy The mgus2" not in document  # not glued
        page.screenshot(path=str(ARTIFACTS / "web_chat_vignette.png"), full_page=True)

        scan = write_scan(tmp_path / "referral.pdf", PAGE_ONE, PAGE_TWO)
        _add(page, scan, "referral.pdf")
        ask(page, "What is her calcinosis cutis treated with?")
        answer = page.locator("#sq-chat .sq-answer, #sq-chat .sq-abstain").last
        text = answer.inner_text()
        assert "sodium thiosulfate" in text and "read by OCR" in text, text
        cites = answer.locator("details.sq-cites")
        cites.locator("summary").click()
        assert "referral.pdf, p. 1" in cites.inner_text()
        page.screenshot(path=str(ARTIFACTS / "web_chat_ocr.png"), full_page=True)
    finally:
        context.close()
