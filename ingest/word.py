"""Word ``.docx`` (python-docx): paragraphs in order, headings and lists by their style.

The paragraph styled "Title" is the document's title (else the document's title property,
else the file's name); "Heading N" becomes a heading one level below the title (``##``
for "Heading 1"); list paragraphs become ``* `` items; table cells become paragraphs.
A .docx has no pages.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath

from .formats import Extracted, Unreadable, brief, title_line

# A .docx is a zip: what it unpacks to is bounded, not only the file's size on disk.
MAX_UNZIPPED_BYTES = 300_000_000
# Word's XML compresses 5 to 20 times (tables and repeated styles the most); the attack
# run's 103 KB file unpacked 290 times to 30 MB. Past 10 MB unpacked, a ratio over this
# is a zip bomb, refused before python-docx reads it.
MAX_RATIO = 60
RATIO_FROM_BYTES = 10_000_000


def _style(paragraph) -> str:
    try:
        return paragraph.style.name or "" if paragraph.style is not None else ""
    except Exception:  # noqa: BLE001 - a style the document does not define: body text
        return ""


def _is_list(paragraph, style: str) -> bool:
    if style.startswith("List"):
        return True
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _docx_blocks(document) -> list[tuple[str, list[str]]]:
    """(style name, lines) of every paragraph and table row, in document order: a row is
    one paragraph whose lines are its cells' paragraphs (so no cell is taken for a
    heading), style "Table"."""
    from docx.table import Table

    blocks: list[tuple[str, list[str]]] = []
    seen_cells: set[int] = set()
    held: list = []  # the cells seen, kept alive so that no other cell reuses an id

    def table_cells(table) -> None:
        for row in table.rows:
            lines: list[str] = []
            for cell in row.cells:
                if id(cell._tc) in seen_cells:  # a merged cell is listed once per grid cell
                    continue
                seen_cells.add(id(cell._tc))
                held.append(cell._tc)
                for item in cell.iter_inner_content():
                    if isinstance(item, Table):
                        blocks.append(("Table", lines))
                        table_cells(item)
                        lines = []
                    else:
                        lines.append(item.text)
            blocks.append(("Table", lines))

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            table_cells(item)
        else:
            style = _style(item)
            blocks.append(("List" if _is_list(item, style) else style, [item.text]))
    return blocks


def read_docx(data: bytes, source: str) -> Extracted:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
        if unzipped > MAX_UNZIPPED_BYTES:
            raise Unreadable(f"unpacks to {unzipped / 1e6:.0f} MB, over the "
                             f"{MAX_UNZIPPED_BYTES / 1e6:.0f} MB a .docx may hold")
        if unzipped > RATIO_FROM_BYTES and unzipped > MAX_RATIO * len(data):
            raise Unreadable(f"unpacks to {unzipped / 1e6:.0f} MB from {len(data) / 1e3:.0f} KB "
                             f"({unzipped / len(data):.0f} times; a real .docx is at most {MAX_RATIO}): "
                             "a zip bomb?")
        document = docx.Document(io.BytesIO(data))
        blocks = _docx_blocks(document)
        property_title = " ".join((document.core_properties.title or "").split())
    except (Unreadable, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - a damaged file is skipped, whatever the parser raises
        raise Unreadable(f"not a readable Word .docx file ({brief(error)})") from None
    title = ""
    lines: list[str] = []
    for style, raw in blocks:
        text = "\n".join(line for line in (" ".join(part.split()) for part in raw) if line)
        if not text:
            continue
        heading = re.fullmatch(r"Heading ([1-9])", style)
        if style == "Title" and not title:
            title = text
        elif style == "Title" or heading:
            # "Heading 1" is a top-level section: "##" (the cleaner's "#" is the title).
            lines.append("#" * min(int(heading.group(1)) + 1 if heading else 2, 6) + " " + text)
        elif style == "List":
            lines.append("* " + text)
        else:
            lines.append(text)
    title = title or property_title or PurePosixPath(source).stem or source
    return Extracted("\n\n".join([title_line(title), *lines]) + "\n")
