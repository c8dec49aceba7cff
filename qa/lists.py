"""A sentence that introduces a list is shown with its items, or not at all.

"Calcinosis cutis may be divided into the following types:" says nothing by itself: an
answer that shows it must show what follows. Its items are found in the document's
structure, never guessed:

* the rows right after it in its section that are list items ("* Trauma", "2. Unplug
  the device", "• Screwdriver"): the cited span grows over them, so one citation quotes
  the introduction and every item;
* when it ends its section and the section has subsections, their headings: each is
  shown as an item citing the heading line itself (a classification's kinds).

When neither is found, :func:`complete_list` says so and the sentence is left out. A
list item is never shown alone either: :func:`list_around` gives its whole list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.answer import Span
from core.index import Index

from .thresholds import MAX_LIST_ITEMS

_INTRODUCES = re.compile(r"\b(?:the following|as follows|(?:listed|shown|given|described) below)\s*[.:]?\s*$",
                         re.IGNORECASE)
_ITEM = re.compile(r"^\s*(?:[*•\-–—·▪◦‣○●■□➢►]|\(?\d{1,3}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])\s+\S")
# How far before its section's first passage a heading line may be found (its own line,
# blank lines and a number such as "2.3"); set by hand, not tuned.
_HEADING_WINDOW = 300


def introduces_list(sentence: str) -> bool:
    """Whether a sentence announces items that follow it.

    >>> introduces_list("It may be divided into the following types:"), introduces_list("It is rare.")
    (True, False)
    >>> introduces_list("The steps are listed below."), introduces_list("Use these: a, b.")
    (True, False)
    >>> introduces_list("It healed in the following weeks.")
    False
    """
    text = sentence.strip()
    return text.endswith(":") or bool(_INTRODUCES.search(text))


def is_item(sentence: str) -> bool:
    """Whether a sentence row is a list item (a bullet or an enumeration opens it).

    >>> is_item("* Trauma to the region"), is_item("2. Unplug the device."), is_item("It is rare.")
    (True, True, False)
    """
    return bool(_ITEM.match(sentence))


@dataclass(frozen=True)
class ListItems:
    """How a list introduction is completed: ``span`` (the introduction and the items
    after it, one quote) or ``headings`` (the subsections' heading lines, in order)."""

    span: Span | None = None
    headings: tuple[tuple[str, Span], ...] = ()


def complete_list(index: Index, row: int, span: Span) -> ListItems | None:
    """The items of the list that row ``row`` (cited as ``span``) introduces; None when
    they cannot be found (or there are more than ``MAX_LIST_ITEMS``)."""
    sentences, chunks = index.sentences, index.chunks
    section = chunks[sentences[row].chunk].section
    last = row
    while (last + 1 < len(sentences) and sentences[last + 1].source == span.source
           and chunks[sentences[last + 1].chunk].section == section
           and is_item(index.sentence_text(sentences[last + 1]))):
        last += 1
    if last > row:
        if last - row > MAX_LIST_ITEMS:
            return None
        return ListItems(span=Span(span.source, span.start, sentences[last].end, span.section))
    following = last + 1 < len(sentences) and sentences[last + 1].source == span.source \
        and chunks[sentences[last + 1].chunk].section == section
    if following:
        return None  # more text of its own section follows, and it is not a list
    headings = _subsection_headings(index, sentences[row].chunk, section)
    if not headings or len(headings) > MAX_LIST_ITEMS:
        return None
    return ListItems(headings=tuple(headings))


def list_around(index: Index, row: int) -> Span | None:
    """For a list item's row: the span of its whole list (the introduction before the
    items when there is one, through the last item), so an item is never shown alone;
    None for a row that is not an item, or a list longer than ``MAX_LIST_ITEMS``."""
    sentences, chunks = index.sentences, index.chunks
    if not is_item(index.sentence_text(sentences[row])):
        return None
    section = chunks[sentences[row].chunk].section

    def same(other: int) -> bool:
        return (0 <= other < len(sentences) and sentences[other].source == sentences[row].source
                and chunks[sentences[other].chunk].section == section)

    first, last = row, row
    while same(first - 1) and is_item(index.sentence_text(sentences[first - 1])):
        first -= 1
    if same(first - 1) and introduces_list(index.sentence_text(sentences[first - 1])):
        first -= 1
    while same(last + 1) and is_item(index.sentence_text(sentences[last + 1])):
        last += 1
    if last - first > MAX_LIST_ITEMS:
        return None
    return Span(sentences[row].source, sentences[first].start, sentences[last].end, section)


def _subsection_headings(index: Index, chunk_row: int, section: str) -> list[tuple[str, Span]] | None:
    """The heading lines of the direct subsections of ``section`` that follow chunk
    ``chunk_row``, as (heading, span); None when one cannot be located exactly."""
    chunks = index.chunks
    source, depth = chunks[chunk_row].source, section.count(" > ") + 1
    text = index.documents[source]
    found: list[tuple[str, Span]] = []
    seen: set[str] = set()
    previous_end = chunks[chunk_row].end
    for chunk in chunks[chunk_row + 1:]:
        if chunk.source != source or not chunk.section.startswith(section + " > "):
            break
        if chunk.section.count(" > ") == depth and chunk.section not in seen:
            seen.add(chunk.section)
            leaf = chunk.section.split(" > ")[-1]
            start = text.rfind(leaf, max(previous_end, chunk.start - _HEADING_WINDOW), chunk.start)
            if start < 0:
                return None
            found.append((leaf, Span(source, start, start + len(leaf), chunk.section)))
        previous_end = chunk.end
    return found
