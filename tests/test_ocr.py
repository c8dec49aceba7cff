"""OCR for scans (the ``ocr`` setting): a scanned PDF built here (text drawn into an image,
saved as a PDF without a text layer) is read by Tesseract, cited by page, and the answer
says its text came from OCR; with the setting off it is skipped as before.

Tesseract and pdftoppm must be installed (``make test`` installs them through ``make ocr``):
without them these tests fail, they do not skip, so CI cannot pass without the OCR path.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from app.cli import main
from ingest import load_index
from ingest.bounded import Limits
from ingest.ocr import page_text
from ingest.parse_cache import ParseCache
from ingest.pdf import NO_TEXT_LAYER
from ingest.readers import scan_corpus

PAGE_ONE = ["Referral letter", "",
            "Dear colleague, I am referring Mrs Jane Example to your clinic.",
            "Her calcinosis cutis is being treated with sodium thiosulfate.",
            "She has had painful nodules on both elbows for two years."]
PAGE_TWO = ["Results", "",
            "Her serum phosphate was normal at the last visit.",
            "A follow-up appointment is planned in six weeks."]
LIMITS = Limits(cpu_seconds=60, memory_mb=1024, max_pages=3000, max_chars=20_000_000)


@pytest.fixture(autouse=True)
def ocr_installed():
    absent = [tool for tool in ("tesseract", "pdftoppm") if shutil.which(tool) is None]
    if absent:
        pytest.fail(f"{' and '.join(absent)} not installed: the OCR tests need Debian's tesseract-ocr and "
                    "poppler-utils; run `make ocr` (make test does)", pytrace=False)


def page_image(lines: list[str]):
    """One letter-size page at 200 dpi with ``lines`` drawn on it: a scan, in pixels only."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=34)
    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((150, 200 + 60 * number), line, fill=0, font=font)
    return image


def write_scan(path: Path, *pages: list[str]) -> Path:
    """A PDF of page images (Pillow writes no text layer)."""
    first, *rest = [page_image(lines) for lines in pages]
    first.save(path, save_all=True, append_images=rest, resolution=200)
    return path


def test_page_text_keeps_lines_and_paragraphs():
    assert page_text("A line\nwith a hyphen-\nated word.\n\nNext\f") == "A line\nwith a hyphenated\nword.\n\nNext"


@pytest.mark.real
def test_a_scanned_pdf_is_ingested_by_ocr_and_its_answer_cites_the_page_and_says_ocr(
        tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_scan(corpus / "referral.pdf", PAGE_ONE, PAGE_TWO)
    (corpus / "notes.txt").write_text("# Clinic notes\n\nThe clinic is open on Mondays and Thursdays.\n")
    monkeypatch.setenv("SOURCEQA_CORPUS_DIR", str(corpus))

    monkeypatch.setenv("SOURCEQA_OCR", "true")
    began = time.perf_counter()
    assert main(["ingest", "--files"]) == 0
    out, took = capsys.readouterr().out, time.perf_counter() - began
    assert "referral.pdf: " in out and "no text layer" not in out
    assert main(["ask", "--llm", "extractive", "--json", "What is her calcinosis cutis treated with?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["abstained"] is False, answer
    cited = [c for c in answer["citations"] if c["source"] == "referral.pdf"]
    assert cited and "sodium thiosulfate" in cited[0]["quote"]
    assert cited[0]["page"] == 1
    assert "Text from referral.pdf was read by OCR (from a scan); check the quoted words against the page." \
        in answer["note"]
    index = load_index(Path(answer_home()) / "index")
    assert index.documents["referral.pdf"][cited[0]["start"]:cited[0]["end"]] == cited[0]["quote"]
    assert index.manifest["ocr_sources"] == ["referral.pdf"]
    assert index.page_of("referral.pdf", index.documents["referral.pdf"].index("serum phosphate")) == 2

    # Not from the scan: no OCR note.
    assert main(["ask", "--llm", "extractive", "--json", "When is the clinic open?"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["abstained"] is False and {c["source"] for c in other["citations"]} == {"notes.txt"}
    assert "OCR" not in other["note"]

    # The setting off: the same file is skipped with the message of before OCR.
    monkeypatch.setenv("SOURCEQA_OCR", "false")
    assert main(["ingest", "--files"]) == 0
    assert f"referral.pdf: skipped ({NO_TEXT_LAYER})" in capsys.readouterr().out
    assert "referral.pdf" not in load_index(Path(answer_home()) / "index").documents
    with capsys.disabled():
        print(f" (ingest with OCR of a 2-page scan: {took:.1f} s)", end=" ")


def answer_home() -> str:
    import os

    return os.environ["SOURCEQA_HOME"]


def test_an_image_is_read_by_ocr_only_with_the_setting_and_the_cache_keeps_whether(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    page_image(PAGE_ONE).save(corpus / "letter.png", dpi=(200, 200))
    (corpus / "notes.txt").write_text("The clinic is open on Mondays.\n")
    documents, skipped = scan_corpus(corpus, limits=LIMITS)  # off: images are not corpus files
    assert [d.source for d in documents] == ["notes.txt"] and skipped == []

    on = Limits(**{**LIMITS.__dict__, "ocr": True})
    assert on.key() != LIMITS.key() and "ocr=tesseract" in on.key()
    cache = ParseCache(tmp_path / "cache")
    began = time.perf_counter()
    documents, skipped = scan_corpus(corpus, limits=on, cache=cache)
    print(f"OCR of one image page: {time.perf_counter() - began:.1f} s")
    letter = next(d for d in documents if d.source == "letter.png")
    assert letter.ocr and letter.page_starts == (0,) and "sodium thiosulfate" in letter.text
    assert letter.text.startswith("# letter\n\n")
    again, _ = scan_corpus(corpus, limits=on, cache=cache)
    assert cache.hits == 2 and next(d for d in again if d.source == "letter.png") == letter


def test_a_damaged_or_blank_scan_is_skipped_with_its_reason(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (corpus / "blank.pdf").write_bytes(b"")
    page_image([]).save(corpus / "blank.tif")
    (corpus / "notes.txt").write_text("The clinic is open on Mondays.\n")
    _, skipped = scan_corpus(corpus, limits=Limits(**{**LIMITS.__dict__, "ocr": True}))
    reasons = {s.source: s.reason for s in skipped}
    assert reasons["broken.png"].startswith("not a readable image")
    assert reasons["blank.tif"] == "OCR found no text in it (a blank or unreadable scan?)"
    assert "blank.pdf" in reasons
