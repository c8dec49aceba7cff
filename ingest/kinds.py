"""What a passage is, besides body text: captions and navigation are marked at ingest.

A figure or table caption, an image gallery, a "See also" or "External links" list, a
table of contents: each is real text of the document and stays readable and citable in
the viewer, but it is not evidence for an answer about the subject ("Calcinosis cutis in
a dog with Cushing's syndrome" does not say what calcinosis cutis is). The chunker gives
such passages their own chunks with ``kind`` "caption" or "navigation"; the answering
engine (:mod:`qa.compose`) keeps them out of answers unless the question asks for a
picture, a figure or a related page, or nothing else answers (then labelled as such).

The rules read only the document's structure (heading names, a paragraph's first words),
never one article's wording, so they hold for any document: a PDF's "Figure 3. ..." line,
a Word file's "Table 2: ..." and a scraped page's "Gallery" section alike.
"""

from __future__ import annotations

import re

BODY, CAPTION, NAVIGATION, PREVIEW = "body", "caption", "navigation", "preview"
# Chunks whose sentences are indexed and citable (previews are never cited: their text is
# not the document's at their offsets).
CITABLE = (BODY, CAPTION, NAVIGATION)

# Headings (any level, whole heading, any case) of sections made of pictures or of
# pointers elsewhere. Standard section names of encyclopedias, papers and manuals.
_CAPTION_SECTIONS = re.compile(
    r"^(?:image |photo |picture )?(?:gallery|galleries|images|photos|photographs|pictures|figures|"
    r"list of figures|list of tables|illustrations|media)$", re.IGNORECASE)
_NAVIGATION_SECTIONS = re.compile(
    r"^(?:see also|related (?:pages|articles|topics|links)|external links|links|further reading|"
    r"references|bibliography|sources|footnotes|citations|works cited|"
    r"(?:table of )?contents|navigation|index)$", re.IGNORECASE)
# A paragraph that opens as a caption: "Figure 3.", "Fig. 2:", "Table 1 -", "Image: ...",
# "Plate IV." (a number and a stop must follow the word: "Figures show ..." and "Figure 2
# shows ..." are body).
_CAPTION_PARAGRAPH = re.compile(
    r"^\s*(?:(?:figure|fig\.|table|plate|chart|diagram|exhibit|illustration|photo|image|scheme|graph)"
    r"\s*(?:\d+[\w.-]*|[ivxlc]+)\s*[.:\-–—|)]\s|(?:image|photo|picture|caption)\s*:)",
    re.IGNORECASE)


def section_kind(path: str) -> str:
    """The kind of every passage of a section, from its heading path ("A > B"): a
    caption or navigation section anywhere on the path makes its passages so.

    >>> section_kind("Gallery"), section_kind("Treatment > See also"), section_kind("Causes")
    ('caption', 'navigation', 'body')
    """
    for heading in reversed([h.strip().rstrip(":") for h in path.split(" > ")]):
        if _CAPTION_SECTIONS.match(heading):
            return CAPTION
        if _NAVIGATION_SECTIONS.match(heading):
            return NAVIGATION
    return BODY


def paragraph_kind(text: str) -> str:
    """A body paragraph's own kind: "caption" when it opens as one.

    >>> paragraph_kind("Figure 2. Nodules on the elbow."), paragraph_kind("Figures differ.")
    ('caption', 'body')
    >>> paragraph_kind("Table 1: Doses by weight"), paragraph_kind("Figure 2 shows nodules.")
    ('caption', 'body')
    """
    return CAPTION if _CAPTION_PARAGRAPH.match(text) else BODY
