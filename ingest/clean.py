"""Clean a scraped encyclopedia page into article text with sections and offsets.

The scraped format (TheInfoList-style copies of Wikipedia articles) has three kinds
of noise, all handled by shape rather than by this page's strings:

* link hover-previews left inline: a line holding the linked term followed by the
  first lines of the linked article, ending in `` ...``;
* page chrome between the title and the first paragraph (``HOME``, ``OR:``) and
  template residue (``{{Navbox ...``);
* empty stub sections (``References``) and gallery image file names.

Markdown headings (``# Title``, ``## Section``) are honoured when present, so the
same cleaner reads ``.md`` files and HTML converted by :mod:`ingest.readers`.

Which line is the title and which lines are headings is :mod:`ingest.headings`'s call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from core.types import CleanDocument, Preview, Section

from .headings import IMAGE, TOP_LEVEL_SECTIONS, heading_of, strip_header

__all__ = ["CLEANING_VERSION", "clean_page", "is_preview_line", "split_preview"]

CLEANING_VERSION = "5"  # 5: PDFs read as a reader shows them (ingest/pdf_layout.py), so old indexes are read again

_COPULAS = {"is", "are", "was", "were", "refers", "means", "or"}
_SHORT_WORDS = {"a", "an", "as", "at", "be", "by", "do", "he", "if", "in", "is", "it", "me",
                "my", "no", "of", "on", "or", "so", "to", "up", "us", "we", "i"}
_BULLET = re.compile(r"\s*(?<!\S)\*(?:\s+|$)")


@dataclass
class _Fragment:
    text: str
    preview: tuple[str, str, int] | None = None  # (term, preview text, raw line number)


@dataclass
class _Block:
    kind: str  # "heading" or "paragraph"
    fragments: list[_Fragment] = field(default_factory=list)
    level: int | None = None  # explicit markdown level, if any
    line: int = 0  # 1-based raw line number of its first line


def is_preview_line(line: str) -> bool:
    """A hover preview: several words ending in `` ...``.

    >>> is_preview_line("calcium Calcium is a chemical element; it has symbol Ca ...")
    True
    """
    stripped = line.strip()
    return stripped.endswith(" ...") and len(stripped.split()) >= 6


def _stem(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def split_preview(line: str) -> tuple[str, str]:
    """Split a preview line into (linked term, preview text).

    The preview starts at the first capitalised word that repeats the term's first
    word, else at the first capitalised word within six words; when the line starts
    with the preview itself (``Lupus erythematosus is a ...``), the term is the words
    before its verb.

    >>> split_preview("scalp The scalp is the area of the head ...")
    ('scalp', 'The scalp is the area of the head ...')
    >>> split_preview("Systemic sclerosis Systemic scleroderma is a disease of the skin ...")
    ('Systemic sclerosis', 'Systemic scleroderma is a disease of the skin ...')
    """
    words = list(re.finditer(r"\S+", line.strip()))
    text = line.strip()
    first = _stem(words[0].group())
    capitals = [k for k in range(1, min(7, len(words))) if words[k].group()[0].isupper()]
    repeats = [k for k in capitals if _stem(words[k].group())[:4] == first[:4] and len(first) >= 3]
    if repeats or capitals:
        k = (repeats or capitals)[0]
        return text[: words[k].start()].rstrip(), text[words[k].start():]
    for k in range(1, min(7, len(words))):
        if words[k].group().lower().strip(",") in _COPULAS:
            return text[: words[k].start()].rstrip(), text
    return words[0].group(), text


def _joins_without_space(left: str, right: str, after_term: bool) -> bool:
    if re.match(r"[,.;:!?)\]%]", right) or right.startswith("-"):
        return True
    # A link trail: "[[skin lesion]]s" is scraped as "skin lesion" + "s on the ...".
    token = re.match(r"[a-z]+", right)
    return bool(after_term and token and len(token.group()) <= 2
                and token.group() not in _SHORT_WORDS and not right[len(token.group()):][:1].isalpha())


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[tuple[str, int]] = []

    def flush() -> None:
        if not current:
            return
        real = [(text, number) for text, number in current if not text.strip().startswith("{{")]
        if len(real) == 1 and not is_preview_line(real[0][0]) and heading_of(real[0][0]):
            title, level = heading_of(real[0][0])
            blocks.append(_Block("heading", [_Fragment(title)], level, real[0][1]))
        elif real:
            block = _Block("paragraph", line=real[0][1])
            for text, number in real:
                if is_preview_line(text):
                    term, preview = split_preview(text)
                    block.fragments.append(_Fragment(term, (term, preview, number)))
                else:
                    block.fragments.append(_Fragment(text.strip()))
            blocks.append(block)
        current.clear()

    for number, line in enumerate(lines, start=1):
        if line.strip():
            current.append((line, number))
        else:
            flush()
    flush()
    return blocks


def _paragraph_text(block: _Block) -> tuple[str, list[tuple[int, int, tuple[str, str, int]]]]:
    """Join a paragraph's fragments; returns text and (start, end, preview) anchors."""
    text = ""
    anchors = []
    after_term = False
    for fragment in block.fragments:
        piece = fragment.text
        if text and piece and not _joins_without_space(text, piece, after_term):
            text += " "
        if fragment.preview:
            anchors.append((len(text), len(text) + len(piece), fragment.preview))
        text += piece
        after_term = fragment.preview is not None
    return text, anchors


def _layout(text: str) -> str:
    """Gallery file names out (captions kept); inline ``*`` bullets onto their own lines."""
    text = IMAGE.sub("\n", text).strip()
    if len(_BULLET.findall(text)) >= 2:
        text = _BULLET.sub("\n* ", text).strip()
    return re.sub(r"[ \t]+\n", "\n", text)


def _nth_find(text: str, term: str, n: int) -> int:
    """Offset of the n-th (0-based) occurrence of ``term``; layout keeps terms in order.

    >>> _nth_find("a b a", "a", 1)
    4
    """
    found = -1
    for _ in range(n + 1):
        found = text.find(term, found + 1)
    return max(found, 0)


def _has_words(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{2,}", text))


def _section_paths(blocks: list[_Block], title: str) -> list[tuple[tuple[str, ...], list[_Block], int]]:
    """Group paragraphs under heading paths; infer nesting where levels are not marked.

    Each section comes with its heading's raw line number (0 for the lead section)."""
    sections: list[tuple[tuple[str, ...], list[_Block], int]] = [((title,), [], 0)]
    parent: tuple[str, ...] | None = None  # a section that may hold subsections
    levels: dict[int, tuple[str, ...]] = {}
    for block in blocks:
        if block.kind == "paragraph":
            sections[-1][1].append(block)
            continue
        name = block.fragments[0].text
        if block.level is not None:
            depth = max(block.level - 2, 0)  # "## X" is top level, "# X" too
            path = (*levels.get(depth - 1, ()), name) if depth else (name,)
            levels[depth] = path
        else:
            previous_path, previous_body, _ = sections[-1]
            introduces = not previous_body or _paragraph_text(previous_body[-1])[0].rstrip().endswith(":")
            if len(previous_path) == 1 and previous_path != (title,) and introduces:
                parent = previous_path
            if name.lower() in TOP_LEVEL_SECTIONS or parent is None:
                path, parent = (name,), None
            else:
                path = (*parent, name)
        sections.append((path, [], block.line))
    return sections


def _normalised(raw: str) -> str:
    return raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _page_of_lines(raw: str, page_starts: tuple[int, ...] | None) -> list[int]:
    """The raw line number on which each page begins (page starts are offsets in ``raw``)."""
    if not page_starts:
        return []
    return [_normalised(raw[:start]).count("\n") + 1 for start in page_starts]


def clean_page(raw: str, source: str, page_starts: tuple[int, ...] | None = None) -> CleanDocument:
    """Clean one scraped page into a :class:`CleanDocument` with exact offsets.

    ``page_starts`` (a PDF's: the offset in ``raw`` where each page begins) gives the
    cleaned document's ``pages``: the offset in the cleaned text where each page begins.
    A paragraph or heading belongs to the page of its first raw line.
    """
    page_lines = _page_of_lines(raw, page_starts)
    raw = _normalised(raw)
    lines = raw.split("\n")
    title, body_lines = strip_header(lines)
    offset_lines = len(lines) - len(body_lines)
    blocks = _blocks([""] * offset_lines + body_lines)
    if not any(block.kind == "paragraph" for block in blocks):
        # Short lines only (a note, a list of names): they are the document's text, not
        # headings over nothing.
        blocks = [_Block("paragraph", block.fragments) for block in blocks]
    title = title or PurePosixPath(source).stem or source

    parts: list[str] = [title]
    length = len(title)
    sections: list[Section] = []
    paragraphs: list[tuple[int, int]] = []
    previews: list[Preview] = []

    def append(piece: str) -> int:
        nonlocal length
        parts.append("\n\n")
        parts.append(piece)
        start = length + 2
        length = start + len(piece)
        return start

    placed: list[tuple[int, int]] = []  # (offset in the cleaned text, raw line) of each piece

    for path, section_blocks, heading_line in _section_paths(blocks, title):
        texts = []
        for block in section_blocks:
            text, anchors = _paragraph_text(block)
            laid = _layout(text)
            if _has_words(laid):
                texts.append((text, laid, anchors, block.line))
        if not texts:
            continue  # empty stub sections and headings without a body are dropped
        heading_start = append(path[-1]) if path != (title,) else 0
        if path != (title,):
            placed.append((heading_start, heading_line))
        body_start = None
        for text, laid, anchors, line in texts:
            start = append(laid)
            placed.append((start, line))
            body_start = start if body_start is None else body_start
            paragraphs.append((start, start + len(laid)))
            for a_start, a_end, (term, preview, number) in anchors:
                where = start + _nth_find(laid, term, text[:a_start].count(term))
                previews.append(Preview(source, term, preview, where, where + len(term), number))
        sections.append(Section(path, heading_start, body_start, length))

    text = "".join(parts) + "\n"
    return CleanDocument(source, title, text, tuple(sections), tuple(paragraphs), tuple(previews),
                         _page_offsets(page_lines, placed, len(text)))


def _page_offsets(page_lines: list[int], placed: list[tuple[int, int]], length: int) -> tuple[int, ...]:
    """Where each page begins in the cleaned text: at its first piece (a page that gave
    none begins where the next one does, so it holds nothing); page 1 at 0, the title.

    >>> _page_offsets([1, 5, 9], [(10, 3), (30, 6), (50, 7), (70, 12)], 90)
    (0, 30, 70)
    """
    if not page_lines:
        return ()
    offsets = [0]
    piece = 0  # pieces and pages both run in raw order: one pass
    for page_line in page_lines[1:]:
        while piece < len(placed) and placed[piece][1] < page_line:
            piece += 1
        offsets.append(placed[piece][0] if piece < len(placed) else length)
    return tuple(offsets)
