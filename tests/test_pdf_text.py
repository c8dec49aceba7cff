"""PDF text as a reader shows it: ligatures whole, hyphenated words joined, running headers,
footers and page numbers gone, headings from the fonts (no outline), offsets exact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import load_index
from ingest.chunk import chunk_document
from ingest.clean import clean_page
from ingest.readers import scan_corpus

HEADER = "The survival package vignette"
# Helvetica whose encoding names the ligature glyphs: pypdf reads them as U+FB01 ... U+FB04
# (real ligature characters in the text layer); code 20 names a glyph pypdf does not know.
FONTS = {
    "F1": b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
          b"/BaseEncoding /WinAnsiEncoding /Differences [12 /fi /fl /ff /ffi /ffl 20 /f_i] >> >>",
    "F2": b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>",
    # Computer Modern without /ToUnicode or an encoding: pypdf falls back to StandardEncoding,
    # whose OT1 ligature slots are control characters ("signi\x0ccance").
    "F3": b"<< /Type /Font /Subtype /Type1 /BaseFont /CMR10 >>",
}


def _string(text: str) -> bytes:
    """A PDF literal string of ``text``; ``{fi}``-style marks are that glyph's code."""
    codes = {"{fi}": 12, "{fl}": 13, "{ff}": 14, "{ffi}": 15, "{ffl}": 16, "{f_i}": 20,
             "{OT1fi}": 0x0C, "{OT1ff}": 0x0B, "{OT1fl}": 0x0D, "{OT1ffi}": 0x0E}
    out = bytearray()
    for piece in re.split(r"(\{\w+\})", text):
        if piece in codes:
            out += b"\\%03o" % codes[piece]
        else:
            out += piece.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
    return bytes(out)


def _page(number: int, runs: list[tuple[str, float, list[tuple[str, str]]]]) -> bytes:
    """One page: a running header, ``runs`` (font, size, [(font, text) of one line]) from the
    top down, and the page number at the bottom."""
    lines = [("F1", 8, [("F1", HEADER)])] + runs
    stream = bytearray()
    y = 800.0
    for _, size, parts in lines:
        stream += b"BT 72 %.1f Td" % y
        for font, text in parts:
            stream += b" /%s %.1f Tf (%s) Tj" % (font.encode(), size, _string(text))
        stream += b" ET\n"
        y -= size * 1.6 + (10 if size > 11 else 0)
    stream += b"BT /F1 9 Tf 297 40 Td (%d) Tj ET\n" % number
    return bytes(stream)


def build_pdf(pages: list[bytes]) -> bytes:
    """A PDF of these content streams with :data:`FONTS`; no outline, no metadata."""
    objects: list[bytes] = [b""] * (len(FONTS) + 2 * len(pages) + 2)
    font_ids = {}
    for index, (name, source) in enumerate(FONTS.items(), start=1):
        objects[index - 1] = source
        font_ids[name] = index
    resources = b" ".join(b"/%s %d 0 R" % (name.encode(), i) for name, i in font_ids.items())
    pages_id = len(objects) - 1
    kids = []
    for number, stream in enumerate(pages):
        content = len(FONTS) + 2 * number + 1
        objects[content - 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
        objects[content] = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources "
                            b"<< /Font << %s >> >> /Contents %d 0 R >>" % (pages_id, resources, content))
        kids.append(content + 1)
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids), len(kids))
    objects[pages_id] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, len(objects),
                                                                                xref)
    return bytes(out)


def body(*texts: str) -> list[tuple[str, float, list[tuple[str, str]]]]:
    return [("F1", 10, [("F1", text)]) for text in texts]


def heading(text: str, size: float = 14) -> tuple[str, float, list[tuple[str, str]]]:
    return ("F2", size, [("F2", text)])


def vignette() -> bytes:
    """Four pages like an R package vignette: no bookmarks, headings in a larger bold font."""
    return build_pdf([
        _page(1, [heading("Survival Analysis Notes", 20), heading("1 Introduction"), *body(
            "The test of signi{fi}cance is su{ffi}cient when the sample is large, and the",
            "in{fi}nitesimal jackknife gives the variance. The informa-",
            "tion matrix is well-known, and the sandwich estimator is well-",
            "known in the literature on survival models and their {fl}exible e{ff}ects.",
            "A short line.")]),
        _page(2, [heading("2 Methods"), ("F3", 10, [("F3", (
            "The {OT1fi}xed e{OT1ff}ects have in{OT1fl}uence on an in{OT1fi}nitesimal step, o{OT1ffi}cially."))]),
            ("F2", 10, [("F2", "2.3.2 Monoclonal gammopathy")]), *body(
            "The mgus2 data set holds the natural history of 1341 subjects with monoclonal",
            "gammopathy of undetermined signi{fi}cance.")]),
        _page(3, [("F1", 10, [("F2", "2.4 Follow-up"), ("F1", " The follow-up time is given in months.")]),
                  *body("Each visit is de{f_i}ned by its date, and the {f_i}nal visit ends the record.")]),
        _page(4, [heading("3 Results"), *body("Results are reported as hazard ratios with intervals.")]),
    ])


def read(folder: Path, data: bytes, name: str = "vignette.pdf"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    documents, skipped = scan_corpus(folder)
    assert not skipped, skipped
    (raw,) = documents
    return raw, clean_page(raw.text, raw.source, raw.page_starts)


def test_ligatures_are_letters_and_hyphenated_words_are_whole(tmp_path):
    _, document = read(tmp_path / "corpus", vignette())
    text = document.text
    for word in ("significance", "sufficient", "infinitesimal jackknife", "information matrix",
                 "flexible effects", "fixed effects", "influence", "officially", "defined", "final visit"):
        assert word in text, word
    assert "well-known in the literature" in text  # written "well-known" elsewhere: a real hyphen
    assert not re.search("[\ufb00-\ufb06\x00-\x09\x0b-\x1f]|/f_i|signi cance|su cient", text)


def test_running_headers_footers_and_page_numbers_are_dropped(tmp_path):
    _, document = read(tmp_path / "corpus", vignette())
    assert HEADER not in document.text
    assert not [line for line in document.text.split("\n") if re.fullmatch(r"\s*\d+\s*", line)]
    assert len(document.pages) == 4
    assert document.page_at(document.text.index("Results are reported")) == 4
    assert document.page_at(document.text.index("The mgus2 data set")) == 2
    assert document.page_at(document.text.index("Each visit")) == 3


def test_headings_come_from_the_fonts_and_stand_alone(tmp_path):
    _, document = read(tmp_path / "corpus", vignette())
    assert document.title == "Survival Analysis Notes"
    leaves = [section.path[-1] for section in document.sections]
    assert {"1 Introduction", "2 Methods", "2.3.2 Monoclonal gammopathy", "2.4 Follow-up",
            "3 Results"} <= set(leaves), leaves
    assert not [leaf for leaf in leaves if not re.search("[A-Za-z]", leaf)]  # no page-number sections
    text = document.text
    assert "gammopathy The mgus2" not in text and "Follow-up The follow-up" not in text
    paragraph_starts = {text[start:end].split(" ")[0] + "@" + str(start) for start, end in document.paragraphs}
    assert f"The@{text.index('The mgus2')}" in paragraph_starts
    assert f"The@{text.index('The follow-up time')}" in paragraph_starts


def test_every_offset_matches_the_text(tmp_path):
    _, document = read(tmp_path / "corpus", vignette())
    text = document.text
    for section in document.sections:
        assert 0 <= section.start <= section.end <= len(text)
    chunks = chunk_document(document)
    assert chunks
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
    for start, end in document.paragraphs:
        assert text[start:end].strip() == text[start:end]
    assert list(document.pages) == sorted(document.pages)


def test_a_real_ligature_character_from_a_unicode_font(tmp_path):
    """A TrueType font with a /ToUnicode map: pypdf gives U+FB01, the text has "fi"."""
    from fpdf import FPDF

    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font.exists():
        pytest.skip("no DejaVu Sans on this machine")
    pdf = FPDF()
    pdf.add_font("dejavu", fname=str(font))
    pdf.set_font("dejavu", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "The test of signi\ufb01cance is su\ufb03cient for an in\ufb01nitesimal change.")
    _, document = read(tmp_path / "corpus", bytes(pdf.output()), "unicode.pdf")
    assert "The test of significance is sufficient for an infinitesimal change." in document.text


def test_the_cli_ingest_stores_the_repaired_text(tmp_path, monkeypatch, capsys, fake_embedder):
    from app.cli import main
    from ingest import embedders

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "vignette.pdf").write_bytes(vignette())
    monkeypatch.setitem(embedders._cache, fake_embedder.name, fake_embedder)
    monkeypatch.setenv("SOURCEQA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SOURCEQA_EMBEDDER", fake_embedder.name)
    assert main(["ingest", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--files"]) == 0
    assert "vignette.pdf" in capsys.readouterr().out
    index = load_index(tmp_path / "index")
    text = index.documents["vignette.pdf"]
    assert "signi cance" not in text and "significance" in text and "infinitesimal jackknife" in text
    assert HEADER not in text and "information matrix" in text
    pages = index.page_starts("vignette.pdf")
    assert len(pages) == 4
    for chunk in index.chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert all(re.search("[A-Za-z]", part) for part in chunk.section.split(" > ")), chunk.section
    assert {"2 Methods > 2.3.2 Monoclonal gammopathy", "3 Results"} <= {chunk.section for chunk in index.chunks}


# -- the layout rules, line by line -------------------------------------------------------------
def lines(*texts: str, size: float = 10, bold: bool = False):
    from ingest.pdf_text import Line

    return [Line(text, size, bold) for text in texts]


def test_headers_with_page_numbers_go_and_a_chapter_number_stays():
    from ingest.pdf_layout import drop_running

    pages = []
    words = ["one", "two", "three", "four", "five", "six"]
    for number in range(1, 7):
        header = f"{number} Journal of Statistical Software" if number % 2 else f"Cox models {number}"
        pages.append(lines(header, f"Chapter {1 + number // 4}", f"Body text {words[number - 1]} goes on.",
                           f"Page {number} of 6"))
    kept = [[line.text for line in page] for page in drop_running(pages)]
    assert kept[0] == ["Chapter 1", "Body text one goes on."]
    assert kept[5] == ["Chapter 2", "Body text six goes on."]


def test_hyphens_at_line_ends_across_a_page_and_kept_for_compounds():
    from ingest.pdf_layout import rejoin_hyphens

    pages = rejoin_hyphens([lines("The informa-", "tion is a well-known fact; the well-", "known rule holds",
                                  "and the esti-"),
                            lines("mate, found by cross-", "validation, is in a co-", "operative mood.")])
    assert [line.text for line in pages[0] if line.text] == [
        "The information is a well-known fact; the well-known rule holds", "and the estimate,"]
    assert [line.text for line in pages[1] if line.text] == ["found by crossvalidation, is in a cooperative mood."]


def test_a_lone_number_never_becomes_a_section():
    from ingest.pdf import _page_lines

    laid = _page_lines(["The model was fitted to all of the data.", "", "42", "", "Then it was checked."])
    where = laid.index("42")
    assert laid[where - 1] or laid[where + 1]  # it stays with a paragraph
    document = clean_page("# Notes\n\n" + "\n".join(laid) + "\n", "notes.pdf", (0,))
    assert [section.path[-1] for section in document.sections] == ["Notes"]
