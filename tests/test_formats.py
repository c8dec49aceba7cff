"""PDF and Word ingest: text, headings, pages that survive cleaning, and files that are skipped."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from core.answer import Answer, Citation
from core.settings import load_settings
from ingest import CorpusError, ingest, load_index
from ingest.clean import clean_page
from ingest.pdf import NO_TEXT_LAYER
from ingest.readers import SUFFIXES, scan_corpus
from ingest.storage.folders import current_version
from qa import ask

PAGE_2 = "Wash the copper widgets in warm vinegar every single week."
PAGE_3 = "Store the copper widgets in a dry cedar box away from sunlight."
DOCX_FACT = "Brass gadgets must be oiled twice a year with walnut oil."
TXT_FACT = "Tin gizmos rattle loudly when they are shaken in a jar."


def write_pdf(path: Path, *, title: str | None = "Widget Handbook", outline: bool = True) -> Path:
    """Three pages with a printed heading on each (and bookmarks), a subsection on page 2."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)

    def heading(text: str, level: int = 0) -> None:
        if outline:
            pdf.start_section(text, level=level)
        pdf.set_font("helvetica", "B", 16)
        pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)

    def body(text: str) -> None:
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    heading("Introduction")
    body("Copper widgets are small tools that every kitchen keeps in a drawer. They last for "
         "decades when they are looked after with some care and a little attention.")
    pdf.add_page()
    heading("Cleaning")
    body(PAGE_2)
    heading("Rinsing", level=1)
    body("Rinse the widgets in cold water after the vinegar bath.")
    pdf.add_page()
    heading("Storage")
    body(PAGE_3)
    pdf.output(str(path))
    return path


def write_scanned_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 120, 160, style="F")  # a page that is a picture: no text layer
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Gadget Guide", style="Title")
    document.add_paragraph("Brass gadgets are old tools found in many workshops.")
    document.add_heading("Maintenance", level=1)
    document.add_paragraph(DOCX_FACT)
    document.add_heading("Oils", level=2)
    document.add_paragraph("Walnut oil keeps brass bright.", style="List Bullet")
    document.add_paragraph("Olive oil turns rancid.", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Cleaning interval"
    table.cell(0, 1).text = "Every three months"
    document.save(str(path))
    return path


def read_one(path: Path):
    documents, skipped = scan_corpus(path.parent)
    assert not skipped, skipped
    (document,) = [d for d in documents if d.source == path.name]
    return document, clean_page(document.text, document.source, document.page_starts)


# -- reading -----------------------------------------------------------------------------------
def test_pdf_and_docx_are_corpus_formats():
    assert {".pdf", ".docx", ".txt", ".md", ".html"} <= SUFFIXES


def test_pdf_text_title_and_outline_headings(tmp_path):
    raw, document = read_one(write_pdf(tmp_path / "handbook.pdf"))
    assert document.title == "Widget Handbook"
    assert [s.heading for s in document.sections] == ["Introduction", "Cleaning", "Cleaning > Rinsing",
                                                      "Storage"]
    assert PAGE_2 in document.text and PAGE_3 in document.text
    assert document.text.count("Cleaning") == 1  # the printed heading line became the heading
    assert len(raw.page_starts) == 3 and len(document.pages) == 3


def test_pdf_title_falls_back_to_the_first_bookmark_then_the_file_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, bookmarked = read_one(write_pdf(tmp_path / "a" / "untitled.pdf", title=None))
    assert bookmarked.title == "Introduction"
    _, plain = read_one(write_pdf(tmp_path / "b" / "plain-notes.pdf", title=None, outline=False))
    assert plain.title == "plain-notes"
    assert PAGE_3 in plain.text


def test_a_sentence_on_page_3_is_on_page_3_and_its_offsets_round_trip(tmp_path):
    _, document = read_one(write_pdf(tmp_path / "handbook.pdf"))
    start = document.text.index(PAGE_3)
    assert document.text[start:start + len(PAGE_3)] == PAGE_3
    assert document.page_at(start) == 3
    assert document.page_at(document.text.index(PAGE_2)) == 2
    assert document.page_at(document.text.index("Copper widgets are small")) == 1
    assert document.page_at(0) == 1  # the title


def test_pages_survive_cleaning_with_an_empty_page_between():
    raw = "# Notes\n\nFirst page text is here.\n\n"
    starts = [0, len(raw)]
    raw += "\n\n"  # page 2 has no text
    starts.append(len(raw))
    raw += "Third page text is here.\n\n"
    document = clean_page(raw, "notes.pdf", tuple(starts))
    third = document.text.index("Third page")
    assert document.pages[1] == document.pages[2] == third  # page 2 holds nothing
    assert document.page_at(third) == 3 and document.page_at(third - 1) == 1
    assert clean_page(raw, "notes.txt").pages == () and clean_page(raw, "notes.txt").page_at(3) is None


def test_docx_title_headings_lists_and_tables(tmp_path):
    raw, document = read_one(write_docx(tmp_path / "guide.docx"))
    assert raw.page_starts is None and document.pages == ()
    assert document.title == "Gadget Guide"
    assert [s.heading for s in document.sections] == ["Gadget Guide", "Maintenance", "Maintenance > Oils"]
    assert DOCX_FACT in document.text
    assert "* Walnut oil keeps brass bright." in document.text
    assert "Cleaning interval Every three months" in document.text  # a table row, one paragraph
    assert document.page_at(document.text.index(DOCX_FACT)) is None


# -- files that are skipped ------------------------------------------------------------------
def test_a_pdf_without_a_text_layer_is_skipped_with_a_warning(tmp_path, caplog):
    write_scanned_pdf(tmp_path / "scan.pdf")
    (tmp_path / "notes.txt").write_text(TXT_FACT + "\n", encoding="utf-8")
    documents, skipped = scan_corpus(tmp_path)
    assert [d.source for d in documents] == ["notes.txt"]
    assert [(s.source, s.reason) for s in skipped] == [("scan.pdf", NO_TEXT_LAYER)]
    assert "scan.pdf" in caplog.text and "OCR is not supported" in caplog.text


@pytest.mark.parametrize("name, data, reason", [
    ("broken.pdf", b"%PDF-1.4\n" + random.Random(7).randbytes(4000), "not a readable PDF"),
    ("empty.pdf", b"", "not a readable PDF"),
    ("broken.docx", b"PK\x03\x04" + random.Random(8).randbytes(4000), "not a readable Word .docx file"),
    ("text.docx", b"just some text, not a zip archive", "not a readable Word .docx file"),
])
def test_a_corrupt_file_is_skipped_not_a_crash(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "notes.txt").write_text(TXT_FACT + "\n", encoding="utf-8")
    documents, skipped = scan_corpus(tmp_path)
    assert [d.source for d in documents] == ["notes.txt"]
    assert len(skipped) == 1 and skipped[0].source == name and skipped[0].reason.startswith(reason)


def test_an_encrypted_pdf_is_skipped(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.cell(text="Secret text about copper widgets.")
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.output(str(tmp_path / "locked.pdf"))
    (tmp_path / "notes.txt").write_text(TXT_FACT + "\n", encoding="utf-8")
    _, skipped = scan_corpus(tmp_path)
    assert [s.source for s in skipped] == ["locked.pdf"] and "encrypted" in skipped[0].reason


def test_binary_formats_keep_the_size_limit_and_the_duplicate_check(tmp_path):
    write_pdf(tmp_path / "handbook.pdf")
    (tmp_path / "copy.pdf").write_bytes((tmp_path / "handbook.pdf").read_bytes())
    documents, skipped = scan_corpus(tmp_path)
    assert [d.source for d in documents] == ["copy.pdf"]
    assert [(s.source, s.reason) for s in skipped] == [("handbook.pdf", "same content as copy.pdf")]
    (tmp_path / "notes.txt").write_text(TXT_FACT + "\n", encoding="utf-8")
    documents, skipped = scan_corpus(tmp_path, max_bytes=500)  # each PDF is larger
    assert [d.source for d in documents] == ["notes.txt"]
    assert sorted(s.source for s in skipped) == ["copy.pdf", "handbook.pdf"]
    assert all("max_document_mb" in s.reason for s in skipped)


def test_only_a_scanned_pdf_is_no_corpus(tmp_path):
    write_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(CorpusError, match=r"no readable documents .*\.pdf"):
        scan_corpus(tmp_path)


# -- end to end ------------------------------------------------------------------------------
@pytest.fixture
def mixed(tmp_path, fake_embedder):
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    write_pdf(corpus / "handbook.pdf")
    write_docx(corpus / "guide.docx")
    (corpus / "notes.txt").write_text("Gizmo Notes\n\n" + TXT_FACT + "\n", encoding="utf-8")
    write_scanned_pdf(corpus / "scan.pdf")
    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus, judge="fake")
    report = ingest(settings, embedder=fake_embedder)
    assert [(s.source, s.reason) for s in report.skipped] == [("scan.pdf", NO_TEXT_LAYER)]
    return settings


def cited(settings, fake_embedder, question: str, fact: str) -> Citation:
    answer = ask(question, llm="extractive", settings=settings, embedder=fake_embedder)
    assert not answer.abstained, answer
    (citation,) = [c for c in answer.citations if fact in c.quote]
    text = load_index(settings.index_path).documents[citation.source]
    assert text[citation.start:citation.end] == citation.quote
    return citation


def test_citations_give_the_pdf_page_and_none_elsewhere(mixed, fake_embedder):
    citation = cited(mixed, fake_embedder, "Where should copper widgets be stored away from sunlight?", PAGE_3)
    assert (citation.source, citation.page) == ("handbook.pdf", 3)
    citation = cited(mixed, fake_embedder, "How often must the copper widgets be washed in warm vinegar?",
                     PAGE_2)
    assert (citation.source, citation.page) == ("handbook.pdf", 2)
    citation = cited(mixed, fake_embedder, "How often must brass gadgets be oiled with walnut oil?", DOCX_FACT)
    assert (citation.source, citation.page) == ("guide.docx", None)
    citation = cited(mixed, fake_embedder, "What do tin gizmos do when shaken in a jar?", TXT_FACT)
    assert (citation.source, citation.page) == ("notes.txt", None)


def test_the_page_is_in_the_answer_json_and_shown(mixed, fake_embedder):
    from app.render import sources_html

    answer = ask("Where should copper widgets be stored away from sunlight?", llm="extractive",
                 settings=mixed, embedder=fake_embedder)
    data = answer.to_dict("client")
    assert [c["page"] for c in data["citations"] if c["source"] == "handbook.pdf"] == [3]
    assert "handbook.pdf, p. 3)" in answer.to_text()
    assert "handbook.pdf, p. 3</span>" in sources_html(answer)
    plain = Answer("q", "It rattles. [1]", False, [Citation(1, TXT_FACT, "notes.txt", "S", 0, 5)], [], "x",
                   sentences=[("It rattles.", 1)])
    assert "p. " not in plain.to_text() and "p. " not in sources_html(plain)


def test_an_index_written_before_pages_existed_still_loads(mixed, fake_embedder):
    from qa import api

    index = load_index(mixed.index_path)
    assert index.pages["handbook.pdf"][0] == 0 and "notes.txt" not in index.pages
    version = current_version(mixed.index_path)
    manifest = json.loads((version / "manifest.json").read_text("utf-8"))
    del manifest["files"]["pages.json"]
    (version / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    (version / "pages.json").unlink()
    api._engines.clear()  # a fresh load of the old-style version
    old = load_index(mixed.index_path)
    assert old.pages == {} and old.page_of("handbook.pdf", 100) is None
    citation = cited(mixed, fake_embedder, "Where should copper widgets be stored away from sunlight?", PAGE_3)
    assert citation.page is None


def test_a_damaged_page_table_is_detected(mixed):
    from ingest import IndexProblem
    from ingest.storage.folders import file_sha256

    version = current_version(mixed.index_path)
    (version / "pages.json").write_text(json.dumps({"handbook.pdf": [0, 10**9]}), "utf-8")
    manifest = json.loads((version / "manifest.json").read_text("utf-8"))
    manifest["files"]["pages.json"] = file_sha256(version / "pages.json")
    (version / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexProblem, match="page table"):
        load_index(mixed.index_path)
