"""Answers as HTML for the web chat: the answer with citation markers, and the sources panel.

Every piece of text that comes from the corpus, the question or the model is escaped
here, so a ``<script>`` in a document or a question is shown as text, never run.
"""

from __future__ import annotations

from html import escape

from qa.types import Answer, Citation, Passage, VerifiedSentence

# Characters of surrounding passage shown on each side of a quoted span.
CONTEXT_CHARS = 280


def _marker(citation: Citation) -> str:
    """A citation marker that links to its source and shows the quote on hover."""
    return (f'<a class="sq-marker" href="#sq-src-{citation.number}" '
            f'title="[{citation.number}] {escape(citation.section)}: {escape(citation.quote)}">'
            f"[{citation.number}]</a>")


def answer_html(answer: Answer) -> str:
    """The chat message for a final answer.

    >>> from qa.types import Answer
    >>> answer_html(Answer("q", "No. [1]", True, [], [], "extractive"))
    '<div class="sq-abstain"><strong>Not in the source.</strong> No. [1]</div>'
    """
    if answer.abstained:
        parts = [f'<div class="sq-abstain"><strong>Not in the source.</strong> {escape(answer.text)}']
        if answer.note:
            parts.append(f'<br><span class="sq-note">{escape(answer.note)}</span>')
        return "".join(parts) + "</div>"
    by_number = {c.number: c for c in answer.citations}
    sentences = " ".join(f"{escape(text)} {_marker(by_number[number])}"
                         for text, number in answer.sentences)
    parts = [f'<div class="sq-answer">{sentences}']
    if answer.note:
        parts.append(f'<br><span class="sq-note">{escape(answer.note)}</span>')
    if answer.dropped:
        count = len(answer.dropped)
        parts.append(f'<br><span class="sq-dropped">{count} generated sentence{"s" if count > 1 else ""} '
                     "removed: not supported by the source.</span>")
    return "".join(parts) + "</div>"


def checking_html(verified: list[VerifiedSentence]) -> str:
    """The chat message while the answer is being written: only sentences already verified
    against the source (with their markers), and a neutral note; never the model's text.

    >>> checking_html([])
    '<div class="sq-checking"><span class="sq-note">Checking against the source\u2026</span></div>'
    """
    sentences = " ".join(f"{escape(v.text)} {_marker(v.citation)}" for v in verified)
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
    """The sources panel: the question as answered, then every citation in its passage."""
    if answer is None:
        return '<div class="sq-sources sq-empty">Sources of the answer appear here.</div>'
    parts = ['<div class="sq-sources">']
    if answer.standalone and answer.standalone != answer.question:
        parts.append(f'<div class="sq-standalone">Follow-up answered as: '
                     f"<q>{escape(answer.standalone)}</q></div>")
    if answer.abstained:
        parts.append('<div class="sq-empty">No passage of the source answers this question.</div>')
    for citation in answer.citations:
        before, after = _surrounding(citation, answer.passages)
        heading = " \u203a ".join(escape(part) for part in citation.section.split(" > "))
        parts.append(
            f'<div class="sq-source" id="sq-src-{citation.number}">'
            f'<div class="sq-head"><span class="sq-num">[{citation.number}]</span> {heading}'
            f'<span class="sq-where">{escape(citation.source)}{_page(citation)}, characters '
            f"{citation.start}\u2013{citation.end}</span></div>"
            f'<blockquote class="sq-passage">{escape(before)}<mark class="sq-quote">'
            f"{escape(citation.quote)}</mark>{escape(after)}</blockquote></div>")
    return "".join(parts) + "</div>"


def status_line(manifest: dict | None, backend: str) -> str:
    """Corpus name, chunk count and index date, from the index manifest.

    >>> status_line({"corpus": {"a.txt": "x"}, "chunk_count": 3, "created": "2026-11-26T12:00:00+0000"}, "local")
    'Corpus: a.txt \u00b7 3 chunks \u00b7 index built 2026-11-26 12:00 UTC \u00b7 backend: local'
    """
    if not manifest:
        return f"No index yet: it is built from the corpus on the first question \u00b7 backend: {backend}"
    names = sorted(manifest.get("corpus", {}))
    corpus = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    created = str(manifest.get("created", ""))
    when = f"{created[:10]} {created[11:16]} UTC" if len(created) >= 16 else created
    return (f"Corpus: {corpus} \u00b7 {manifest.get('chunk_count', 0)} chunks \u00b7 "
            f"index built {when} \u00b7 backend: {backend}")


def status_html(manifest: dict | None, backend: str, problem: str = "") -> str:
    """The status line as HTML, with every corpus-derived string (file names) escaped.

    >>> status_html({"corpus": {"<img src=x>.txt": "x"}, "chunk_count": 1}, "local")
    '<div class="sq-status-line">Corpus: &lt;img src=x&gt;.txt \u00b7 1 chunks \u00b7 index built  \u00b7 backend: local</div>'
    """
    text = f"Index problem: {problem}" if problem else status_line(manifest, backend)
    return f'<div class="sq-status-line">{escape(text)}</div>'


API_LINE = "HTTP API: `POST /api/ask`, `GET /healthz`; [documentation](api/docs)"


CSS = """
.sq-abstain { border-left: 4px solid #b45309; background: #fffbeb; color: #78350f;
              padding: 8px 12px; border-radius: 4px; }
.sq-answer a.sq-marker { font-size: 0.8em; vertical-align: super; text-decoration: none;
                          font-weight: 600; color: #1d4ed8; }
.sq-note, .sq-dropped { font-size: 0.8em; color: #6b7280; font-style: italic; }
.sq-checking .sq-note { display: block; margin-top: 4px; }
.sq-sources { font-size: 0.92em; }
.sq-standalone { margin-bottom: 10px; color: #374151; }
.sq-source { margin-bottom: 14px; padding: 6px 8px; border-radius: 6px; }
.sq-source:target { background: #eff6ff; outline: 2px solid #93c5fd; }
.sq-head { font-weight: 600; margin-bottom: 4px; }
.sq-where { font-weight: 400; color: #6b7280; margin-left: 8px; font-size: 0.85em; }
.sq-passage { margin: 0; padding-left: 10px; border-left: 3px solid #d1d5db; color: #4b5563; }
mark.sq-quote { background: #fde68a; color: #111827; padding: 0 2px; }
.sq-empty { color: #6b7280; }
"""
