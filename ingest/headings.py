"""Titles and headings: which line of a file is its title, which line is a heading, and
which headings name a topic a question can be about.

A file's first line is its title only when it looks like one (see :func:`looks_like_title`);
otherwise it is body text like the rest, and the title is the file's name. A heading is a
markdown ``#`` line, or a short line that starts with a capital and does not end as a
sentence does; :data:`TOP_LEVEL_SECTIONS` tells which unmarked headings start a new
top-level section (see :mod:`ingest.clean`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Wikipedia's standard top-level section names (MOS:LAYOUT and MEDMOS). A heading
# outside this list that follows a section introducing a list ("... the following
# types:") or an empty section is taken as its subsection.
TOP_LEVEL_SECTIONS = {
    "signs and symptoms", "signs", "symptoms", "presentation", "causes", "cause",
    "risk factors", "mechanism", "pathophysiology", "pathogenesis", "diagnosis",
    "differential diagnosis", "classification", "types", "prevention", "screening",
    "treatment", "management", "prognosis", "outcomes", "complications", "epidemiology",
    "history", "society and culture", "research", "other animals", "genetics",
    "etymology", "terminology", "overview", "description", "uses", "medical uses",
    "adverse effects", "side effects", "contraindications", "pharmacology",
    "gallery", "see also", "notes", "references", "sources", "bibliography",
    "further reading", "external links",
}
# A gallery image's file name (``File:x.jpg,``): never a heading; the cleaner drops it.
IMAGE = re.compile(r"(?:Image|File):[^,\n]*?\.(?:jpe?g|png|gif|svg|tiff?|webp)\s*,\s*", re.IGNORECASE)
_MARKED_HEADING = re.compile(r"(#{1,6})\s+(.+?)\s*#*$")
_NOT_A_TITLE_END = re.compile(r"[.!?:;,][\"'\u201d\u2019)\]]*$")  # a sentence ends or goes on
TITLE_MAX_WORDS = 12
TITLE_MAX_CHARS = 100


def looks_like_title(line: str) -> bool:
    """Whether a first line is a title: a markdown ``#`` heading, or a short line (at
    most 12 words and 100 characters) that neither starts lower-case nor ends as a
    sentence or clause does (``.``, ``!``, ``?``, ``:``, ``;``, ``,``).

    >>> looks_like_title("Calcinosis Cutis"), looks_like_title("Calcium deposits form in skin.")
    (True, False)
    >>> looks_like_title("# Why do deposits form?")
    True
    """
    stripped = line.strip()
    if _MARKED_HEADING.match(stripped):
        return True
    return (0 < len(stripped) <= TITLE_MAX_CHARS and len(stripped.split()) <= TITLE_MAX_WORDS
            and not stripped[0].islower() and not _NOT_A_TITLE_END.search(stripped))


def heading_of(line: str) -> tuple[str, int | None] | None:
    """(heading, its markdown level or None) when ``line`` looks like a heading, else None.

    >>> heading_of("## Treatment"), heading_of("Treatment"), heading_of("It is rare.")
    (('Treatment', 2), ('Treatment', None), None)
    """
    stripped = line.strip()
    marked = _MARKED_HEADING.match(stripped)
    if marked:
        return marked.group(2), len(marked.group(1))
    words = stripped.split()
    if (0 < len(words) <= 12 and stripped[0].isalnum() and stripped[0] == stripped[0].upper()
            and not re.search(r"[.!?:,;]$", stripped) and not IMAGE.match(stripped)
            and not stripped.startswith("{{")):
        return stripped, None
    return None


def strip_header(lines: list[str]) -> tuple[str, list[str]]:
    """Return (title, body lines); the body lines are a suffix of ``lines``.

    A first line that looks like a title is taken as the title, and after a plain one the
    page chrome (short navigation lines such as ``HOME``, ``OR:``) up to the first line of
    four or more words is dropped; without such a line nothing is chrome. A first line
    that does not look like a title, or the only line of the file, is body text, and the
    title is "" (the caller names the document after its file).
    """
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not looks_like_title(stripped):
            return "", lines[index:]
        marked = _MARKED_HEADING.match(stripped)
        rest = lines[index + 1:]
        if not any(later.strip() for later in rest):
            return "", lines[index:]  # a file of one short line: that line is its text
        if marked:  # a marked-up document has no scraped chrome
            return marked.group(2), rest
        for offset, later in enumerate(rest):
            if len(later.split()) >= 4 or later.strip().startswith("#"):
                return stripped, rest[offset:]
        return stripped, rest
    return "", []


def topic_names(titles: Iterable[str], headings: Iterable[str]) -> list[str]:
    """Names a question can be about, longest first, from titles and heading paths.

    >>> topic_names(["Calcinosis Cutis"], ["Treatment", "Classification > Tumoral calcinosis"])
    ['tumoral calcinosis', 'calcinosis cutis']
    """
    names = {title.strip().lower() for title in titles if title.strip()}
    for heading in headings:
        leaf = heading.split(" > ")[-1].strip().lower()
        if leaf and leaf not in TOP_LEVEL_SECTIONS:
            names.add(leaf)
    return sorted(names, key=lambda name: (-len(name), name))
