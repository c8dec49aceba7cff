"""The web chat's HTML: citation markers, the sources panel, abstention style, escaping."""

from __future__ import annotations

from html import unescape

from app.render import answer_html, checking_html, sources_html, status_line
from core.answer import Answer, Citation, DroppedSentence, Passage, VerifiedSentence

DOC = "Intro line. Chronic renal failure is the most frequent underlying cause. After text."
START = DOC.index("Chronic")
END = DOC.index(" After")
PASSAGE = Passage("c1", "doc.txt", "Classification > Metastatic", 0, len(DOC), DOC, 1.0, 0.8)
CITATION = Citation(1, DOC[START:END], "doc.txt", "Classification > Metastatic", START, END)


def answer(**changes) -> Answer:
    base = {"question": "q?", "text": f"{CITATION.quote} [1]", "abstained": False, "citations": [CITATION],
                "passages": [PASSAGE], "llm": "local", "sentences": [(CITATION.quote, 1)], "standalone": "q?"}
    return Answer(**{**base, **changes})


def test_each_answer_carries_its_own_sources_under_ids_of_its_own():
    html = answer_html(answer(), key="k1")
    assert '<a class="sq-marker" href="#sq-c-k1-1">[1]</a>' in html
    assert 'title=' not in html, "the quote is shown by the page's popover, not a tooltip"
    assert '<li class="sq-cite" id="sq-c-k1-1">' in html
    assert f'<q class="sq-quote">{CITATION.quote}</q>' in html and "Classification \u203a Metastatic" in html
    assert f'href="#sq-view?source=doc.txt&amp;start={START}&amp;end={END}"' in html
    assert 'id="sq-c-k2-1"' in answer_html(answer(), key="k2") and "sq-abstain" not in html
    assert "sq-copy" in html


def test_copy_and_export_text_rides_along_as_hidden_text():
    html = answer_html(answer(), key="k1", turn=2)
    plain = html.split('<span class="sq-data sq-plain">')[1].split("</span>")[0]
    assert unescape(plain) == _plain(answer()) and "\n" not in plain
    markdown = html.split('<span class="sq-data sq-md">')[1].split("</span>")[0]
    assert unescape(markdown) == _markdown(answer(), 2)


def test_plain_text_has_footnotes_and_no_markup():
    text = _plain(answer(citations=[Citation(1, "A <b>x</b>.", "doc.pdf", "S > T", 0, 5, page=4)],
                              sentences=[("It is so.", 1)]))
    assert text == 'It is so. [1]\n\n[1] "A <b>x</b>." (S \u203a T, doc.pdf, p. 4)'


def test_markdown_turn_has_the_question_the_answer_and_footnotes():
    md = _markdown(answer(question="Why <x>?"), 3)
    assert md.startswith("## Why &lt;x&gt;?\n\n") and f"{CITATION.quote} [^3.1]" in md
    assert md.endswith(f'[^3.1]: "{CITATION.quote}" (Classification \u203a Metastatic, doc.txt)')
    declined = _markdown(answer(abstained=True, text="The source does not answer this question.",
                                      citations=[], sentences=[]))
    assert "**Not in the source.** The source does not answer this question." in declined


def test_a_declines_closest_sections_are_links_into_the_source():
    text = ("The source does not answer this question. Closest sections the source does cover: "
            "Classification > Metastatic.")
    html = answer_html(answer(abstained=True, text=text, citations=[], sentences=[]))
    assert ('<a class="sq-open sq-section-link" href="#sq-view?source=doc.txt&amp;section=Classification'
            '+%3E+Metastatic">Classification \u203a Metastatic</a>.') in html
    unknown = text.replace("Metastatic.", "Elsewhere.")
    assert "sq-section-link" not in answer_html(answer(abstained=True, text=unknown, citations=[], sentences=[]))


def test_sources_panel_highlights_the_exact_span_inside_its_passage():
    html = sources_html(answer())
    assert 'id="sq-src-1"' in html and 'class="sq-open" href="#sq-view?source=doc.txt' in html
    assert f'Intro line. <mark class="sq-quote">{CITATION.quote}</mark> After text.' in html
    assert "Classification \u203a Metastatic" in html and "characters" not in html  # section, not offsets


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


def test_rewritten_follow_up_is_shown_in_its_answer_with_a_way_to_ask_it_as_typed():
    for abstained in (False, True):
        html = answer_html(answer(question="And how is it treated?", standalone="How is X treated?",
                                  abstained=abstained))
        bubble = html.split('<details', 1)[0]  # before the answer's own sources list
        assert 'Answered as: <q>How is X treated?</q>' in bubble and 'class="sq-as-typed"' in bubble
        assert '<span class="sq-data sq-typed">And how is it treated?</span>' in bubble
    assert "Answered as" not in answer_html(answer()) and "sq-as-typed" not in answer_html(answer())
    typed = answer_html(answer(question="And how is it treated?", standalone="And how is it treated?"), as_typed=True)
    assert "Answered as typed" in typed and "sq-as-typed" not in typed


def test_text_from_the_corpus_the_question_and_the_model_is_escaped():
    evil = '<script>alert("x")</script>'
    doc = f"{evil} Chronic renal failure."
    passage = Passage("c1", "doc.txt", f"Sec {evil}", 0, len(doc), doc, 1.0, 0.8)
    citation = Citation(1, doc, "doc.txt", f"Sec {evil}", 0, len(doc))
    bad = answer(question=evil, standalone=f"{evil}?", citations=[citation], passages=[passage],
                 sentences=[(evil, 1)], note=evil)
    declined = answer(abstained=True, question=evil, passages=[passage], citations=[], sentences=[],
                      text=f"The source does not answer this question. Closest sections the source does "
                           f"cover: Sec {evil}.")
    for html in (answer_html(bad), sources_html(bad), checking_html([VerifiedSentence(evil, citation)]),
                 answer_html(declined)):
        assert "<script>" not in html and "&lt;script&gt;" in html


def test_status_line_reads_the_manifest():
    from core.types import Manifest

    manifest = Manifest.from_dict({"corpus": {"b.txt": "", "a.txt": ""}, "chunk_count": 17,
                                   "created": "2026-11-26T12:26:52+0000"})
    line = status_line(manifest, "extractive")
    assert line == "Corpus: a.txt, b.txt \u00b7 17 chunks \u00b7 index built 2026-11-26 12:26 UTC \u00b7 backend: extractive"
    assert "No index yet" in status_line(None, "local")


def _plain(answer: Answer) -> str:
    return answer.to_text()


def _markdown(answer: Answer, turn: int | None = None) -> str:
    return answer.to_text("markdown", turn)
