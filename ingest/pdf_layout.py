"""A PDF's lines laid out as a reader reads them: running headers, footers and page numbers
out, words hyphenated at a line's end whole again, headings from the fonts.

* **Running headers and footers** (:func:`drop_running`): of the first and last three lines
  of each page, a line is dropped when the same line (digits aside) stands there on at
  least three pages and a third of them, and its digits, if any, are the same on every
  page or follow the page number (``2 Journal of X`` / ``Title 3``, ``Page 4 of 9``); a
  chapter number, which stays put while pages turn, keeps its line, and so does a line set
  larger than the body text (a heading atop each page). A line that is only a
  page number (``12``, ``- 12 -``, ``xii``, ``Page 12``) at a page's top or bottom is
  dropped on any page.
* **Hyphenation** (:func:`rejoin_hyphens`): a line ending in letters and a hyphen,
  followed by one starting with a lowercase letter, is joined with the next line:
  ``informa-`` + ``tion`` -> ``information``. The hyphen is kept (``well-`` + ``known`` ->
  ``well-known``) when the document writes that word with its hyphen inside a line and
  never without it, or when the word before the hyphen is itself hyphenated
  (``state-of-the-``). A soft hyphen always joins without a hyphen. Across a page break
  the word's end moves to the page where the word begins.
* **Headings** (:func:`find_headings`, for a PDF without an outline): the body's font is the
  size and weight most letters have. A line is a heading when it is larger (by 12% or
  more) or bold where the body is not, short (at most 16 words, 120 characters), starts
  with no lowercase letter, does not end with ``.``, ``,``, ``;`` or ``:``, and is not part
  of a block of such lines (a bold table, a large abstract): up to three consecutive lines
  of one heading style are one wrapped heading. A bold section number at the start of a
  regular line (``2.3.2 Monoclonal gammopathy`` set in bold, then the sentence) is a
  heading of its own too. A numbered heading's depth is its number's (``2`` is 1,
  ``2.3.2`` is 3); an unnumbered one takes the depth numbered headings of its style have,
  else its style's rank by size. A heading is ``##`` under the title, or one level below
  the nearest heading before it of a smaller depth (a ``2.3.2`` right after ``2`` is its
  subsection, ``###``). A lone line at the top of page 1 set larger than every heading is
  the document's title when the PDF names none.
"""

from __future__ import annotations

import re

from .formats import norm
from .pdf_text import Line

EDGE = 3  # lines at a page's top and bottom that may be a running header or footer
PAGE_NUMBER = re.compile(r"(?:(?i:page)\s+)?[-\u2013\u2014]?\s*(?:\d{1,4}|(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})"
                         r"(?:ix|iv|v?i{0,3}))\s*[-\u2013\u2014]?(?:\s*(?:of|/)\s*\d{1,4})?")
NUMBERED = re.compile(r"(\d{1,2}(?:\.\d{1,2}){0,4}|[A-Z](?:\.\d{1,2}){1,4})\.?\s+(?=[A-Z\d(\"'\u201c])\S")
_HYPHEN_END = re.compile(r"([A-Za-z]+)([-\u00ad\u2010])$")
_MAX_WORDS, _MAX_CHARS = 16, 120


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", norm(text))


def _edges(lines: list[Line]) -> list[int]:
    filled = [index for index, line in enumerate(lines) if line.text]
    return filled[:EDGE] + [index for index in filled[-EDGE:] if index not in filled[:EDGE]]


def _follows_pages(found: list[tuple[int, list[int]]]) -> bool:
    """Whether the numbers in a repeated line are the same on every page, or one of them
    is the page's number plus a constant on most of the pages it is on."""
    if len({tuple(numbers) for _, numbers in found}) == 1:
        return True
    for position in range(min(len(numbers) for _, numbers in found)):
        shifts = [numbers[position] - page for page, numbers in found]
        if max(shifts.count(shift) for shift in set(shifts)) >= 0.6 * len(found):
            return True
    return False


def drop_running(pages: list[list[Line]]) -> list[list[Line]]:
    """The pages without their running headers, footers and page numbers."""
    seen: dict[str, list[tuple[int, list[int]]]] = {}
    for number, lines in enumerate(pages):
        for key, text in {_key(lines[i].text): lines[i].text for i in _edges(lines)}.items():
            seen.setdefault(key, []).append((number, [int(d) for d in re.findall(r"\d+", text)]))
    least = max(3, -(-len(pages) // 3))
    running = {key for key, found in seen.items()
               if len(found) >= least and re.search(r"\w", key) and _follows_pages(found)}
    sizes: dict[float, int] = {}
    for lines in pages:
        for line in lines:
            sizes[line.size] = sizes.get(line.size, 0) + len(line.text)
    body = max(sizes, key=sizes.get, default=0.0)

    def chrome(line: Line) -> bool:
        if PAGE_NUMBER.fullmatch(line.text):
            return True
        return _key(line.text) in running and not (body and line.size >= body * 1.12)

    out = []
    for lines in pages:
        lines = list(lines)
        for step in (0, -1):  # from the top, then from the bottom
            dropped = 0
            while dropped < EDGE:
                filled = [i for i, line in enumerate(lines) if line.text]
                if not filled or not chrome(lines[filled[step]]):
                    break
                del lines[filled[step]]
                dropped += 1
        out.append(lines)
    return out


def rejoin_hyphens(pages: list[list[Line]]) -> list[list[Line]]:
    """Words hyphenated at a line's end joined again (see the module's rule)."""
    words: set[str] = set()
    hyphenated: set[str] = set()
    for lines in pages:
        for line in lines:
            words.update(w.casefold() for w in re.findall(r"[A-Za-z]+", line.text))
            hyphenated.update(w.casefold() for w in re.findall(r"[A-Za-z]+-[A-Za-z]+(?=.)", line.text))
    def join(last: Line, line: Line) -> tuple[Line, Line] | None:
        """(the line with the next one's first word joined on, what is left of the next)."""
        end = _HYPHEN_END.search(last.text)
        start = re.match(r"[a-z]+", line.text)
        if not (end and start):
            return None
        whole = (end.group(1) + start.group()).casefold()
        keep = end.group(2) != "\u00ad" and (
            last.text[:end.start()].endswith("-")
            or (f"{end.group(1)}-{start.group()}".casefold() in hyphenated and whole not in words))
        head = last.text[:end.end()] if keep else last.text[:end.end() - 1]
        return (Line(head + line.text, last.size or line.size, last.bold and line.bold, last.lead),
                Line("", line.size))

    out: list[list[Line]] = []
    for lines in pages:
        joined: list[Line] = []
        for line in lines:
            done = join(joined[-1], line) if joined and line.text else None
            if done:
                joined[-1] = done[0]
                continue
            before = out[-1] if out and line.text and not any(item.text for item in joined) else []
            last = max((i for i, item in enumerate(before) if item.text), default=None)
            if last is not None:  # the page's first line may end a word begun on the page before
                word, rest = (line.text.split(" ", 1) + [""])[:2]
                done = join(before[last], Line(word, line.size, line.bold))
                if done:
                    before[last] = done[0]
                    line = Line(rest, line.size, line.bold)
            joined.append(line)
        out.append(joined)
    return out


def _shaped(text: str) -> bool:
    return (len(re.findall(r"[^\W\d_]", text)) >= 2 and len(text) <= _MAX_CHARS
            and len(text.split()) <= _MAX_WORDS and not text[0].islower()
            and not re.search(r"[.,;:]$", text) and not PAGE_NUMBER.fullmatch(text))


def _depth(text: str) -> int | None:
    numbered = NUMBERED.match(text)
    if not numbered or len(text.split()) < 2:
        return None
    return numbered.group(1).count(".") + 1


def find_headings(pages: list[list[Line]]) -> tuple[list[list[Line]], dict[tuple[int, int], int], str]:
    """(pages, {(page, line): markdown level} of heading lines, title or "").

    A run-in bold section number is split off its line; wrapped heading lines are joined."""
    count: dict[tuple[float, bool], int] = {}
    for lines in pages:
        for line in lines:
            count[(line.size, line.bold)] = count.get((line.size, line.bold), 0) + len(line.text)
    if not count or max(count) == (0.0, False) and len(count) == 1:
        return pages, {}, ""
    body_size, body_bold = max(count, key=count.get)

    def style(line: Line) -> tuple[float, bool] | None:
        bigger = line.size >= body_size * 1.12
        bolder = line.bold and not body_bold and line.size >= body_size * 0.9
        return (line.size, line.bold) if line.text and (bigger or bolder) else None

    split_pages = []
    for lines in pages:
        out: list[Line] = []
        for line in lines:
            head, rest = line.text[:line.lead].strip(), line.text[line.lead:].strip()
            if line.lead and rest and _depth(head) and _shaped(head) and not body_bold:
                out += [Line(head, line.size, True), Line(rest, line.size, False)]
            else:
                out.append(line)
        split_pages.append(out)

    found: list[tuple[int, int, tuple[float, bool]]] = []  # (page, line, style)
    merged_pages = []
    for number, lines in enumerate(split_pages):
        out = []
        index = 0
        while index < len(lines):
            kind = style(lines[index])
            end = index + 1
            while kind and end < len(lines) and style(lines[end]) == kind and not _depth(lines[end].text):
                end += 1
            text = " ".join(line.text for line in lines[index:end])
            if kind and end - index <= 3 and _shaped(text):
                found.append((number, len(out), kind))
                out.append(Line(text, kind[0], kind[1]))
            else:
                out.extend(lines[index:end])
            index = end
        merged_pages.append(out)

    title = ""
    if found and found[0][0] == 0:
        page, index, kind = found[0]
        top = next(i for i, line in enumerate(merged_pages[0]) if line.text)
        if index == top and all(kind[0] > other[0] for _, _, other in found[1:]):
            title = merged_pages[0][index].text
            found = found[1:]
    by_style: dict[tuple[float, bool], list[int]] = {}
    for page, index, kind in found:
        depth = _depth(merged_pages[page][index].text)
        by_style.setdefault(kind, []).extend([depth] if depth else [])
    ranked = sorted(by_style, key=lambda kind: (-kind[0], not kind[1]))
    levels = {}
    above: list[int] = []  # the levels of the headings this one is under, as found
    for page, index, kind in found:
        depth = _depth(merged_pages[page][index].text)
        depths = by_style[kind]
        if not depth and depths:
            depth = max(set(depths), key=depths.count)
        level = (depth or ranked.index(kind) + 1) + 1
        while above and above[-1] >= level:
            above.pop()
        levels[(page, index)] = min(len(above) + 2, 6)  # one level below the heading it is under
        above.append(level)
    return merged_pages, levels, title
