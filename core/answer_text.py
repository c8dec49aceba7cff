"""An Answer as text: plain text with the citations as numbered footnotes (what the
chat's copy control and the CLI give) and Markdown (one turn of a conversation export).
Reached through :meth:`core.answer.Answer.to_text`."""

from __future__ import annotations

from .answer import Answer, Citation


def _where(citation: Citation) -> str:
    """'Section › Sub, source, p. N' for a footnote.

    >>> _where(Citation(1, "q", "a.pdf", "A > B", 0, 1, page=2))
    'A \u203a B, a.pdf, p. 2'
    """
    page = f", p. {citation.page}" if citation.page is not None else ""
    section = citation.section.replace(" > ", " \u203a ")
    also = "".join(f"; also {_section(s.section)}, {s.source}" for s in citation.also)
    return f"{section}, {citation.source}{page}{also}"


def _section(path: str) -> str:
    return path.replace(" > ", " \u203a ")


def _body(answer: Answer, marker: str) -> str:
    """The shown sentences, each followed by its citation marker (``marker`` formats the number)."""
    if answer.abstained or not answer.sentences:
        return answer.text
    return " ".join(f"{text} {marker.format(n=number)}" for text, number in answer.sentences)


def plain_text(answer: Answer) -> str:
    """Plain text: the answer with [n] markers, then one footnote per citation.

    >>> a = Answer("q?", "It is X. [1]", False, [Citation(1, "It is X.", "a.txt", "S > T", 0, 8)], [], "x",
    ...            sentences=[("It is X.", 1)])
    >>> print(plain_text(a))
    It is X. [1]
    <BLANKLINE>
    [1] "It is X." (S › T, a.txt)
    """
    lines = [("Not in the source. " if answer.abstained else "") + _body(answer, "[{n}]")]
    if answer.note:
        lines.append(f"({answer.note})")
    if answer.citations:
        lines.append("")
        lines += [f'[{c.number}] "{c.quote}" ({_where(c)})' for c in answer.citations]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Text for Markdown: HTML characters as entities (a viewer that renders HTML shows
    them as text) and no line that starts a block by accident.

    >>> _md("<b>x</b> & y")
    '&lt;b&gt;x&lt;/b&gt; &amp; y'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())


def markdown_text(answer: Answer, turn: int | None = None) -> str:
    """One turn as Markdown: the question as a heading, the answer with footnote markers
    ``[^n]`` (``[^turn.n]`` when the turn is given, so the labels of a whole conversation
    differ), then the footnotes (quote, section, source).

    >>> a = Answer("q?", "It is X. [1]", False, [Citation(1, "It is X.", "a.txt", "S", 0, 8)], [], "x",
    ...            sentences=[("It is X.", 1)])
    >>> print(markdown_text(a))
    ## q?
    <BLANKLINE>
    It is X. [^1]
    <BLANKLINE>
    [^1]: "It is X." (S, a.txt)
    """
    label = f"{turn}." if turn is not None else ""
    parts = [f"## {_md(answer.question)}", ""]
    if answer.standalone and answer.standalone != answer.question:
        parts += [f"*Answered as: {_md(answer.standalone)}*", ""]
    if answer.abstained:
        parts.append(f"**Not in the source.** {_md(answer.text)}")
    else:
        parts.append(" ".join(f"{_md(text)} [^{label}{number}]" for text, number in answer.sentences))
    if answer.note:
        parts += ["", f"*{_md(answer.note)}*"]
    if answer.citations:
        parts.append("")
        parts += [f'[^{label}{c.number}]: "{_md(c.quote)}" ({_md(_where(c))})' for c in answer.citations]
    return "\n".join(parts)
