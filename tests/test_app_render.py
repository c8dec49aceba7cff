"""The web chat's HTML: citation markers, the sources panel, abstention style, escaping."""

from __future__ import annotations

from app.render import answer_html, checking_html, sources_html, status_line
from qa.types import Answer, Citation, DroppedSentence, Passage, VerifiedSentence

DOC = "Intro line. Chronic renal failure is the most frequent underlying cause. After text."
START = DOC.index("Chronic")
END = DOC.index(" After")
PASSAGE = Passage("c1", "doc.txt", "Classification > Metastatic", 0, len(DOC), DOC, 1.0, 0.8, 3.0)
CITATION = Citation(1, DOC[START:END], "doc.txt", "Classification > Metastatic", START, END)


def answer(**changes) -> Answer:
    base = {"question": "q?", "text": f"{CITATION.quote} [1]", "abstained": False, "citations": [CITATION],
                "passages": [PASSAGE], "llm": "local", "sentences": [(CITATION.quote, 1)], "standalone": "q?"}
    return Answer(**{**base, **changes})


def test_answer_has_a_marker_linking_to_its_source_with_the_quote_on_hover():
    html = answer_html(answer())
    assert 'href="#sq-src-1"' in html and ">[1]</a>" in html
    assert f'title="[1] Classification &gt; Metastatic: {CITATION.quote}"' in html
    assert "sq-abstain" not in html


def test_sources_panel_highlights_the_exact_span_inside_its_passage():
    html = sources_html(answer())
    assert 'id="sq-src-1"' in html
    assert f'Intro line. <mark class="sq-quote">{CITATION.quote}</mark> After text.' in html
    assert "Classification \u203a Metastatic" in html and f"characters {START}\u2013{END}" in html


def test_abstention_has_its_own_style_and_no_markers():
    html = answer_html(answer(abstained=True, text="The source does not answer this question.",
                              citations=[], sentences=[]))
    assert 'class="sq-abstain"' in html and "sq-marker" not in html
    assert "No passage of the source answers" in sources_html(answer(abstained=True, citations=[]))


def test_dropped_sentences_are_counted_never_shown():
    html = answer_html(answer(dropped=[DroppedSentence("It is caused by sugar.", "not in source")]))
    assert "1 generated sentence removed" in html and "sugar" not in html


def test_rewritten_follow_up_is_shown_in_the_sources_panel():
    html = sources_html(answer(question="And how is it treated?", standalone="How is X treated?"))
    assert "Follow-up answered as" in html and "How is X treated?" in html
    assert "Follow-up" not in sources_html(answer())


def test_text_from_the_corpus_the_question_and_the_model_is_escaped():
    evil = '<script>alert("x")</script>'
    doc = f"{evil} Chronic renal failure."
    passage = Passage("c1", "doc.txt", f"Sec {evil}", 0, len(doc), doc, 1.0, 0.8, 3.0)
    citation = Citation(1, doc, "doc.txt", f"Sec {evil}", 0, len(doc))
    bad = answer(question=evil, standalone=f"{evil}?", citations=[citation], passages=[passage],
                 sentences=[(evil, 1)], note=evil)
    for html in (answer_html(bad), sources_html(bad), checking_html([VerifiedSentence(evil, citation)])):
        assert "<script>" not in html and "&lt;script&gt;" in html


def test_status_line_reads_the_manifest():
    line = status_line({"corpus": {"b.txt": "", "a.txt": ""}, "chunk_count": 17,
                        "created": "2026-11-26T12:26:52+0000"}, "extractive")
    assert line == "Corpus: a.txt, b.txt \u00b7 17 chunks \u00b7 index built 2026-11-26 12:26 UTC \u00b7 backend: extractive"
    assert "No index yet" in status_line(None, "local")
