"""Answers as HTML for the web chat: the answer with citation markers, and the sources panel.

Every piece of text that comes from the corpus, the question or the model is escaped
here, so a ``<script>`` in a document or a question is shown as text, never run.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from core.answer import Answer, Citation, Passage, VerifiedSentence
from core.types import Manifest
from qa import prompts

from .page import CSS

__all__ = ["API_LINE", "CSS", "answer_html", "checking_html", "sources_html", "status_html",
           "status_line"]

# Characters of surrounding passage shown on each side of a quoted span.
CONTEXT_CHARS = 280


def _text(value: str) -> str:
    """Text for an element's content that may hold newlines: escaped, newlines as ``&#10;``
    (a chat message is Markdown around one HTML block, which a blank line would end)."""
    return escape(value).replace("\n", "&#10;")


def _open_href(source: str, **where: object) -> str:
    """A link target the page's script reads to open the source viewer (the chat's
    sanitizer drops ``data-`` attributes but keeps ``#`` links).

    >>> _open_href("a b.txt", start=3, end=9)
    '#sq-view?source=a+b.txt&amp;start=3&amp;end=9'
    """
    query = urlencode({"source": source, **{k: v for k, v in where.items() if v is not None}})
    return escape(f"#sq-view?{query}")


def _marker(citation: Citation, key: str) -> str:
    """A citation marker that links to its entry in the answer's own sources list; the
    page's script shows that entry's quote in a popover on hover, focus and tap."""
    return (f'<a class="sq-marker" href="#sq-c-{key}-{citation.number}">[{citation.number}]</a>')


def _heading(section: str) -> str:
    return " \u203a ".join(escape(part) for part in section.split(" > "))


def _also(citation: Citation) -> str:
    """Where else the cited words stand word for word (another document), each a link into
    that source: the sentence is shown once and cites all of them.

    >>> from core.answer import Span
    >>> _also(Citation(1, "q", "a.txt", "S", 0, 1, also=(Span("b.txt", 5, 6, "Care"),))).endswith("b.txt</a> (Care)</span>")
    True
    """
    if not citation.also:
        return ""
    links = ", ".join(f'<a class="sq-open" href="{_open_href(s.source, start=s.start, end=s.end)}">'
                      f"{escape(s.source)}</a> ({_heading(s.section)})" for s in citation.also)
    return f'<span class="sq-also"> also in {links}</span>'


def _cites_html(citations: list[Citation], key: str) -> str:
    """The answer's own sources: a collapsed list, one entry per citation, each with a link
    that opens it in the whole source."""
    items = "".join(
        f'<li class="sq-cite" id="sq-c-{key}-{c.number}"><span class="sq-num">[{c.number}]</span> '
        f'<span class="sq-sec">{_heading(c.section)}</span> '
        f'<span class="sq-where">{escape(c.source)}{_page(c)}</span>{_also(c)} '
        f'<q class="sq-quote">{_text(c.quote)}</q> '
        f'<a class="sq-open" href="{_open_href(c.source, start=c.start, end=c.end)}">'
        "show in the source</a></li>" for c in citations)
    count = len(citations)
    return (f'<details class="sq-cites"><summary>Sources ({count})</summary>'
            f'<ol class="sq-cite-list">{items}</ol></details>')


def _closest(answer: Answer) -> str:
    """A decline's text with its closest sections as links into the source viewer."""
    by_section: dict[str, str] = {}
    for passage in answer.passages:
        by_section.setdefault(passage.section, passage.source)
    lead = prompts.ABSTAIN_TEXT + " " + prompts.CLOSEST_SECTIONS.split("{sections}")[0]
    if not answer.text.startswith(lead) or not answer.text.endswith("."):
        return escape(answer.text)
    named = answer.text[len(lead):-1].split("; ")
    if not named or any(name not in by_section for name in named):
        return escape(answer.text)
    links = "; ".join(f'<a class="sq-open sq-section-link" href="{_open_href(by_section[name], section=name)}">'
                      f"{_heading(name)}</a>" for name in named)
    return f"{escape(lead)}{links}."


def _data(answer: Answer, turn: int | None) -> str:
    """Hidden copies of the answer as plain text and as Markdown, for the copy control and
    the conversation export (the sanitizer keeps text, not attributes)."""
    return (f'<span class="sq-data sq-plain">{_text(answer.to_text())}</span>'
            f'<span class="sq-data sq-md">{_text(answer.to_text("markdown", turn))}</span>')


COPY_BUTTON = '<button type="button" class="sq-copy">Copy with sources</button>'
AS_TYPED_BUTTON = '<button type="button" class="sq-as-typed">Ask as typed instead</button>'
AS_TYPED_NOTE = "Answered as typed, without the earlier questions."


def _answered_as(answer: Answer, as_typed: bool) -> str:
    """The question as answered, in the answer's own bubble: a follow-up's rewrite, with a
    control that asks the question as typed instead (the page's script sends the hidden
    copy of it, without the conversation), or a note that it was asked as typed.

    >>> _answered_as(Answer("How is it treated?", "", True, [], [], "x", standalone="How is X treated?"), False)[:64]
    '<div class="sq-standalone">Answered as: <q>How is X treated?</q>'
    """
    if as_typed:
        return f'<div class="sq-standalone">{AS_TYPED_NOTE}</div>'
    if not answer.standalone or answer.standalone == answer.question:
        return ""
    return (f'<div class="sq-standalone">Answered as: <q>{_text(answer.standalone)}</q> {AS_TYPED_BUTTON}'
            f'<span class="sq-data sq-typed">{_text(answer.question)}</span></div>')


def _bold_short(sentence: str, short: str) -> str:
    """A sentence with its short answer phrase (its first occurrence) in bold, escaped.

    >>> _bold_short("It affects teens & adults.", "teens & adults")
    'It affects <strong class="sq-short">teens &amp; adults</strong>.'
    """
    before, _, after = sentence.partition(short)
    return f'{escape(before)}<strong class="sq-short">{escape(short)}</strong>{escape(after)}'


def answer_html(answer: Answer, key: str = "a", turn: int | None = None, as_typed: bool = False) -> str:
    """The chat message for a final answer; ``key`` makes its element ids unique in the page;
    ``as_typed``: the question was asked without the conversation (no rewrite).

    >>> from core.answer import Answer
    >>> answer_html(Answer("q", "No. [1]", True, [], [], "extractive")).split("<span")[0]
    '<div class="sq-abstain"><strong>Not in the source.</strong> No. [1]'
    """
    if answer.abstained:
        lead = f'<div class="sq-abstain">{_answered_as(answer, as_typed)}<strong>Not in the source.</strong> '
        parts = [lead + _closest(answer)]
        if answer.note:
            parts.append(f'<br><span class="sq-note">{escape(answer.note)}</span>')
        return "".join(parts) + _data(answer, turn) + "</div>"
    by_number = {c.number: c for c in answer.citations}
    shown = [escape(text) for text, _ in answer.sentences]
    for i, (text, number) in enumerate(answer.sentences):
        if answer.short and number == 1 and answer.short in text:
            shown[i] = _bold_short(text, answer.short)
            break
    sentences = " ".join(f"{html} {_marker(by_number[number], key)}"
                         for html, (_, number) in zip(shown, answer.sentences))
    parts = [f'<div class="sq-answer">{_answered_as(answer, as_typed)}<span class="sq-text">{sentences}</span>']
    if answer.note:
        parts.append(f'<br><span class="sq-note">{escape(answer.note)}</span>')
    if answer.dropped:
        count = len(answer.dropped)
        parts.append(f'<br><span class="sq-dropped">{count} generated sentence{"s" if count > 1 else ""} '
                     "removed: not supported by the source.</span>")
    parts.append(_cites_html(answer.citations, key))
    parts.append(f'<div class="sq-tools">{COPY_BUTTON}</div>')
    return "".join(parts) + _data(answer, turn) + "</div>"


def checking_html(verified: list[VerifiedSentence]) -> str:
    """The chat message while the answer is being written: only sentences already verified
    against the source (with their markers), and a neutral note; never the model's text.

    >>> checking_html([])
    '<div class="sq-checking"><span class="sq-note">Checking against the source\u2026</span></div>'
    """
    sentences = " ".join(f"{escape(v.text)} {_marker(v.citation, 'live')}" for v in verified)
    body = f'<div class="sq-verified">{sentences}</div>' if sentences else ""
    return (f'<div class="sq-checking">{body}<span class="sq-note">Checking against the source'
            f"\u2026</span></div>")


def _trim_start(text: str) -> str:
    """Keep the last CONTEXT_CHARS characters, starting at a word.

    >>> _trim_start("abcdefghij " * 30)[:12]
    '\u2026abcdefghij '
    """
    if len(text) <= CONTEXT_CHARS:
        return text
    cut = text[-CONTEXT_CHARS:]
    space = cut.find(" ")
    return "\u2026" + (cut[space + 1:] if 0 <= space < 40 else cut)


def _trim_end(text: str) -> str:
    """Keep the first CONTEXT_CHARS characters, ending at a word."""
    if len(text) <= CONTEXT_CHARS:
        return text
    cut = text[:CONTEXT_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > CONTEXT_CHARS - 40 else cut) + "\u2026"


def _page(citation: Citation) -> str:
    """", p. N" for a quote from a paged source (a PDF), else "".

    >>> _page(Citation(1, "q", "a.pdf", "S", 0, 1, page=3)), _page(Citation(1, "q", "a.txt", "S", 0, 1))
    (', p. 3', '')
    """
    return f", p. {citation.page}" if citation.page is not None else ""


def _surrounding(citation: Citation, passages: list[Passage]) -> tuple[str, str]:
    """The text before and after the quote within the retrieved passage that holds it."""
    for passage in passages:
        if (passage.source == citation.source and passage.start <= citation.start
                and citation.end <= passage.end):
            before = passage.text[: citation.start - passage.start]
            after = passage.text[citation.end - passage.start:]
            return _trim_start(before), _trim_end(after)
    return "", ""


def sources_html(answer: Answer | None) -> str:
    """The sources panel: the question as answered, then every citation in its passage,
    headed by its section and where it is (the file, and the page of a PDF)."""
    if answer is None:
        return '<div class="sq-sources sq-empty">Sources of the answer appear here.</div>'
    parts = ['<div class="sq-sources">']
    if answer.standalone and answer.standalone != answer.question:
        parts.append(f'<div class="sq-standalone">Follow-up answered as: '
                     f"<q>{escape(answer.standalone)}</q></div>")
    if answer.abstained:  # the page's script closes the viewer too: no earlier citation stays shown
        parts.append('<div class="sq-empty sq-declined">No passage of the source answers this question.</div>')
    for citation in answer.citations:
        before, after = _surrounding(citation, answer.passages)
        heading = _heading(citation.section)
        parts.append(
            f'<div class="sq-source" id="sq-src-{citation.number}">'
            f'<div class="sq-head"><span class="sq-num">[{citation.number}]</span> {heading}'
            f'<span class="sq-where">{escape(citation.source)}{_page(citation)}</span>{_also(citation)}</div>'
            f'<blockquote class="sq-passage">{escape(before)}<mark class="sq-quote">'
            f"{escape(citation.quote)}</mark>{escape(after)}</blockquote>"
            f'<a class="sq-open" href="{_open_href(citation.source, start=citation.start, end=citation.end)}">'
            "show in the whole source</a></div>")
    return "".join(parts) + "</div>"


def status_line(manifest: Manifest | None, backend: str) -> str:
    """Corpus name, chunk count and index date, from the index manifest.

    >>> status_line(Manifest(sources=("a.txt",), chunk_count=3, created="2026-11-26T12:00:00+0000"), "local")
    'Corpus: a.txt \u00b7 3 chunks \u00b7 index built 2026-11-26 12:00 UTC \u00b7 backend: local'
    """
    if not manifest:
        return f"No index yet: it is built from the corpus on the first question \u00b7 backend: {backend}"
    names = manifest.sources
    corpus = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    created = manifest.created
    when = f"{created[:10]} {created[11:16]} UTC" if len(created) >= 16 else created
    return (f"Corpus: {corpus} \u00b7 {manifest.chunk_count} chunks \u00b7 "
            f"index built {when} \u00b7 backend: {backend}")


def status_html(manifest: Manifest | None, backend: str, problem: str = "") -> str:
    """The status line as HTML, with every corpus-derived string (file names) escaped.

    >>> status_html(Manifest(sources=("<img src=x>.txt",), chunk_count=1), "local")
    '<div class="sq-status-line">Corpus: &lt;img src=x&gt;.txt \u00b7 1 chunks \u00b7 index built  \u00b7 backend: local</div>'
    """
    text = f"Index problem: {problem}" if problem else status_line(manifest, backend)
    return f'<div class="sq-status-line">{escape(text)}</div>'


API_LINE = "HTTP API: `POST /api/ask`, `GET /healthz`; [documentation](api/docs)"

