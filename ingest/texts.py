"""The cleaned documents of a file-storage version, read from disk by offset.

A version folder holds every cleaned document once, one after the other, in ``texts.txt``
(UTF-8, a record separator after each), and ``documents.json`` says where each one lies: ``source -> [start, end,
title]`` in bytes. :class:`DocumentTexts` maps the file (``mmap``), so a library of any
size costs the served process only the documents a citation reads, decoded on demand
with a few kept (:data:`KEPT`): memory does not grow with the library.
"""

from __future__ import annotations

import json
import mmap
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path

TEXTS = "texts.txt"
TABLE = "documents.json"
SEPARATOR = b"\x1e"  # ASCII record separator after each document: no phrase spans two
KEPT = 16  # decoded documents kept for the next citations (an answer cites a few)


def write_texts(folder: Path, documents: Mapping[str, str]) -> list[str]:
    """Write ``texts.txt`` and ``documents.json`` into ``folder``; returns their names."""
    table: dict[str, list] = {}
    offset = 0
    with open(Path(folder) / TEXTS, "wb") as handle:
        for source, text in documents.items():
            data = text.encode("utf-8")
            handle.write(data + SEPARATOR)
            table[source] = [offset, offset + len(data), text.split("\n", 1)[0]]
            offset += len(data) + 1
    (Path(folder) / TABLE).write_text(json.dumps(table, ensure_ascii=False), "utf-8")
    return [TEXTS, TABLE]


class DocumentTexts(Mapping[str, str]):
    """source -> cleaned text, read from a version's ``texts.txt`` when asked for."""

    def __init__(self, folder: Path) -> None:
        table = json.loads((Path(folder) / TABLE).read_text("utf-8"))
        if not isinstance(table, dict):
            raise ValueError("the document table is not a table")  # noqa: TRY004 - damage is a ValueError
        with open(Path(folder) / TEXTS, "rb") as handle:
            size = handle.seek(0, 2)
            self._data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        for source, row in table.items():
            if (not isinstance(row, list) or len(row) != 3 or not all(type(x) is int for x in row[:2])
                    or not 0 <= row[0] <= row[1] <= size or not isinstance(row[2], str)):
                raise ValueError(f"the document table's row for {str(source)[:80]} does not fit texts.txt")
        self._table: dict[str, list] = table
        self._kept: OrderedDict[str, str] = OrderedDict()

    def __getitem__(self, source: str) -> str:
        text = self._kept.get(source)
        if text is not None:
            self._kept.move_to_end(source)
            return text
        start, end, _ = self._table[source]
        text = bytes(self._data[start:end]).decode("utf-8")
        self._kept[source] = text
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return text

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, source: object) -> bool:
        return source in self._table

    def title(self, source: str) -> str:
        """The document's first line, without reading the document."""
        return self._table[source][2]

    def mentions(self, phrase: str) -> bool:
        """Whether any document says ``phrase``: its words in order, whole words, any
        whitespace between them, any (ASCII) case; read from the mapped file."""
        words = phrase.split()
        if not words:
            return False
        pattern = rb"\s+".join(re.escape(w.encode("utf-8")) for w in words)
        return re.search(rb"(?<!\w)" + pattern + rb"(?!\w)", self._data, re.IGNORECASE) is not None
