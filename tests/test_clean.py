from __future__ import annotations

from conftest import SEED

from ingest.clean import clean_page, split_preview

SEED_TEXT = SEED.read_text(encoding="utf-8")


def body(document):
    return document.text


def test_seed_previews_leave_the_body_and_are_kept_as_records():
    document = clean_page(SEED_TEXT, "calcinosis_cutis.txt")
    previews = " ".join(p.text for p in document.previews)
    for noise in ("atomic number 20", "Cardizem", "2.1–2.6\u00a0mmol/L", "A neoplasm ()", " ..."):
        assert noise not in body(document), noise
        assert noise.strip() in previews, noise
    assert len(document.previews) == 30


def test_seed_sentences_around_previews_read_as_the_article():
    text = clean_page(SEED_TEXT, "calcinosis_cutis.txt").text
    for sentence in (
        "Calcinosis cutis is an uncommon condition marked by calcium buildup in the skin and subcutaneous tissues.",
        ("Tumors, inflammation, varicose veins, infections, connective tissue disease, hyperphosphatemia, "
        "and hypercalcemia can all lead to calcinosis."),
        "Lupus erythematosus affects the limbs, buttocks, area beneath lupus lesions, and periarticular areas.",
        "one or a few skin lesions on the scalp or face of children.",
        "intravenous calcium chloride calcium gluconate, or phosphate-containing solutions.",
        "Diltiazem, a calcium channel blocker, has been a mainstay of medical treatment for calcinosis cutis.",
    ):
        assert sentence in text, sentence


def test_preview_records_point_at_their_term_in_the_body():
    document = clean_page(SEED_TEXT, "calcinosis_cutis.txt")
    for preview in document.previews:
        assert document.text[preview.start:preview.end] == preview.term
    first = document.previews[0]
    assert (first.term, first.line) == ("calcium", 11)
    assert first.text.startswith("Calcium is a chemical element")


def test_seed_chrome_and_stubs_are_dropped_and_captions_kept():
    document = clean_page(SEED_TEXT, "calcinosis_cutis.txt")
    lines = document.text.splitlines()
    for chrome in ("HOME", "TheInfoList", "OR:", "References", "External links", "Further reading",
                   "DermNet", "WebMD", "Diagnosis"):
        assert chrome not in lines, chrome
    assert ".jpg" not in document.text and "{{" not in document.text
    assert "Calcinosis cutis in a dog with Cushing's syndrome" in lines
    assert "Histopathology of calcinosis cutis in human tissue" in lines
    assert document.title == "Calcinosis Cutis"


def test_seed_heading_paths_nest_the_subtypes_under_classification():
    headings = [s.heading for s in clean_page(SEED_TEXT, "calcinosis_cutis.txt").sections]
    assert headings[:4] == ["Calcinosis Cutis", "Signs and symptoms", "Causes", "Classification"]
    assert "Classification > Metastatic calcinosis cutis" in headings
    assert "Classification > Osteoma cutis" in headings
    assert "Treatment" in headings and "Classification > Treatment" not in headings
    assert sum(h.startswith("Classification > ") for h in headings) == 9


def test_section_offsets_match_their_headings():
    document = clean_page(SEED_TEXT, "calcinosis_cutis.txt")
    for section in document.sections[1:]:
        assert document.text[section.start:].startswith(section.path[-1])
        assert section.start < section.body_start < section.end


# A second, made-up page in the same scraped format: nothing of the seed's strings.
MADE_UP = """Frobnitis
   HOME

TheInfoList



OR:

Frobnitis is a rare disorder of the
spleen The spleen is an organ found in almost all vertebrates. Similar in structure to a large lymph node, it acts ...
and the
liver The liver is a major metabolic organ exclusively found in vertebrate animals, which performs many ...
. It is treated with
Zorbamycin Zorbamycin, sold under the brand name Zorbex, is an antibiotic used for many ...
in most cases.


Signs and symptoms

Patients report fatigue.


Types

Frobnitis has the following forms:


Acute frobnitis

Acute frobnitis lasts two weeks.


Chronic frobnitis

Chronic frobnitis lasts for years and affects
hepatocyte A hepatocyte is a cell of the main parenchymal tissue of the liver. Hepatocytes make up ...
s in the liver.


Gallery

Image:Frob one.png, A spleen with frobnitis Image:Frob two.jpg, A liver with frobnitis


References


External links


SiteOne

{{Rare diseases Spleen disorders
"""


def test_cleaning_generalises_to_another_page_of_the_same_format():
    document = clean_page(MADE_UP, "frobnitis.txt")
    text = document.text
    assert document.title == "Frobnitis"
    assert "Frobnitis is a rare disorder of the spleen and the liver. It is treated with Zorbamycin in most cases." in text
    assert "affects hepatocytes in the liver." in text
    assert "Zorbex" not in text and "vertebrates" not in text and "HOME" not in text
    assert [p.term for p in document.previews] == ["spleen", "liver", "Zorbamycin", "hepatocyte"]
    headings = [s.heading for s in document.sections]
    assert headings == ["Frobnitis", "Signs and symptoms", "Types", "Types > Acute frobnitis",
                        "Types > Chronic frobnitis", "Gallery"]
    assert "A spleen with frobnitis\nA liver with frobnitis" in text


def test_markdown_headings_give_levels():
    document = clean_page("# Title\n\nIntro text here for the page.\n\n## Part\n\nBody one.\n\n### Sub\n\nBody two.\n",
                          "doc.md")
    assert [s.heading for s in document.sections] == ["Title", "Part", "Part > Sub"]


def test_split_preview_finds_the_term():
    assert split_preview("venipuncture In medicine, venipuncture is the process of ...") == (
        "venipuncture", "In medicine, venipuncture is the process of ...")
    assert split_preview("Lupus erythematosus is a collection of autoimmune diseases in which ...")[0] == \
        "Lupus erythematosus"
