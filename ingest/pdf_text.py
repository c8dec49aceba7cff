"""A PDF page's text layer as lines a reader would see, each with its font size and weight.

pypdf reports every text run with its font (``extract_text(visitor_text=...)``); the runs
make up the page's text, so each line gets the size and weight most of its letters have
(:mod:`ingest.pdf_layout` finds headings by them). Three repairs make the words whole:

* **Ligature codes without a Unicode mapping.** A TeX font embedded without ``/ToUnicode``
  and without a readable encoding leaves pypdf its fallback, StandardEncoding, where the
  ligature slots are control characters: "signi\\x0ccance" (a form feed, which whitespace
  splitting made "signi cance"). These slots are fixed by the TeX font encodings, so they
  are mapped back: OT1 (Computer Modern, ``CM*`` fonts) 0x0B-0x0F ``ff fi fl ffi ffl`` and
  its letters 0x19-0x1C ``ß æ œ ø``; T1/Cork (EC and cm-super, ``SF*``/``EC*``) 0x1B-0x1F
  ``ff fi fl ffi ffl``; a font of another name gets both ligature ranges (control
  characters are never text). Nothing else is guessed: no dictionary of words.
* **Glyph names pypdf does not know.** An ``/Encoding /Differences`` naming ``/f_i``,
  ``/fi.alt`` or ``/T_h`` comes out as that name; a name made of letters, ``uniXXXX`` or
  known ligatures (joined by ``_``, a ``.suffix`` dropped) is spelled out, others are left.
* **Compatibility forms** (:func:`normalise`): NFKC only for the Latin and Armenian
  ligatures (U+FB00-FB17, "ﬁ" -> "fi") and full-width ASCII (U+FF01-FF5E); a soft hyphen
  marks where a word may break and is removed. NFKC is *not* applied to the whole text:
  it would turn "m²" into "m2", "µg" (micro sign) into Greek "μg", "½" into "1⁄2" and
  "™" into "TM", changing what medical and technical text says.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

OT1 = {0x0B: "ff", 0x0C: "fi", 0x0D: "fl", 0x0E: "ffi", 0x0F: "ffl",
       0x19: "\u00df", 0x1A: "\u00e6", 0x1B: "\u0153", 0x1C: "\u00f8"}
T1 = {0x1B: "ff", 0x1C: "fi", 0x1D: "fl", 0x1E: "ffi", 0x1F: "ffl"}
_OT1_LIGATURES = {code: OT1[code] for code in range(0x0B, 0x10)}
OTHER = {**_OT1_LIGATURES, **T1}
LIGATURE_NAMES = {"ff": "ff", "fi": "fi", "fl": "fl", "ffi": "ffi", "ffl": "ffl", "ft": "ft",
                  "st": "st", "fj": "fj", "ffj": "ffj", "longs_t": "st", "IJ": "IJ", "ij": "ij",
                  "oe": "oe", "OE": "OE", "ae": "ae", "AE": "AE"}
_COMPATIBLE = re.compile("[\ufb00-\ufb17\uff01-\uff5e]")
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi|[-,]bd|^cmbx|^sfbx|^lmroman\d*-?dunh|^cmb\d",
                        re.IGNORECASE)


@dataclass
class Line:
    """One line of a page: its text (whitespace collapsed), the size of most of its letters
    (0 when unknown), whether all of them are bold, and how many leading characters are a
    bold prefix of an otherwise regular line (a run-in heading)."""

    text: str
    size: float = 0.0
    bold: bool = False
    lead: int = 0


def normalise(text: str) -> str:
    """Ligatures and full-width forms as their letters; soft hyphens removed.

    >>> normalise("signi\ufb01cance, su\ufb03cient, \uff21, 5 m\u00b2, 3 \u00b5g")
    'significance, sufficient, A, 5 m\u00b2, 3 \u00b5g'
    """
    text = _COMPATIBLE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.replace("\u00ad", "")


def _glyph_letters(name: str) -> str | None:
    """The letters a glyph name stands for, when its name says so; else None.

    >>> _glyph_letters("/f_i"), _glyph_letters("/fi.alt"), _glyph_letters("/T_h"), _glyph_letters("/g31")
    ('fi', 'fi', 'Th', None)
    """
    base = name.lstrip("/").split(".")[0]
    if base in LIGATURE_NAMES:
        return LIGATURE_NAMES[base]
    letters = []
    for part in base.split("_"):
        if len(part) == 1 and part.isalpha():
            letters.append(part)
        elif part in LIGATURE_NAMES:
            letters.append(LIGATURE_NAMES[part])
        elif re.fullmatch(r"uni[0-9A-F]{4}", part):
            letters.append(chr(int(part[3:], 16)))
        else:
            return None
    return "".join(letters) if len(letters) > 1 else None


class _Fonts:
    """What each font of a page needs repaired, and whether it is bold (cached per font)."""

    def __init__(self) -> None:
        self.cache: dict[int, tuple[dict[str, str], bool]] = {}

    def of(self, font) -> tuple[dict[str, str], bool]:
        key = id(font)
        if key not in self.cache:
            self.cache[key] = self._study(font)
        return self.cache[key]

    @staticmethod
    def _study(font) -> tuple[dict[str, str], bool]:
        if not font:
            return {}, False
        name = re.sub(r"^[A-Z]{6}\+", "", str(font.get("/BaseFont", "")).lstrip("/"))
        repairs: dict[str, str] = {}
        if str(font.get("/Subtype", "")) != "/Type0":
            codes = OT1 if re.match(r"CM[A-Z]", name) else T1 if re.match(r"(?:SF|EC)[A-Z]", name) else OTHER
            repairs.update((chr(code), letters) for code, letters in codes.items())
        try:
            encoding = font.get("/Encoding")
            encoding = encoding.get_object() if encoding is not None else None
            differences = encoding.get("/Differences", []) if hasattr(encoding, "get") else []
            for entry in differences:
                if isinstance(entry, str) and entry.startswith("/") and len(entry) > 2:
                    letters = _glyph_letters(entry)
                    if letters:
                        repairs[str(entry)] = letters
            descriptor = font.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            weight = float(descriptor.get("/FontWeight", 0) or 0)
            force_bold = int(descriptor.get("/Flags", 0) or 0) & (1 << 18)
        except Exception:  # noqa: BLE001 - a damaged font dictionary: no repairs, not bold
            weight, force_bold = 0.0, 0
        return repairs, bool(_BOLD_NAME.search(name) or weight >= 600 or force_bold)


def repair(text: str, repairs: dict[str, str]) -> str:
    """``text`` with the repairs of its font applied (longest glyph names first)."""
    if not repairs or not re.search(r"[\x0b-\x1f/]", text):
        return text
    for old in sorted(repairs, key=len, reverse=True):
        if old in text:
            text = text.replace(old, repairs[old])
    return text


def _size(cm, tm, font_size) -> float:
    """The run's height on the page: its font size scaled by the text and user matrices."""
    try:
        c = tm[2] * cm[0] + tm[3] * cm[2]
        d = tm[2] * cm[1] + tm[3] * cm[3]
        return round(float(font_size) * math.hypot(c, d) * 2) / 2
    except (TypeError, IndexError, ValueError):
        return 0.0


def page_lines(page) -> list[Line]:
    """The page's lines, repaired and normalised, with their font size and weight.

    When the runs pypdf reports do not add up to the text it returns (a form XObject, say),
    the text is still read, repaired with every font's repairs, without sizes."""
    fonts = _Fonts()
    runs: list[tuple[str, float, bool, dict[str, str]]] = []

    def visit(text, cm, tm, font, font_size) -> None:
        if text:
            repairs, bold = fonts.of(font)
            runs.append((text, _size(cm, tm, font_size), bold, repairs))

    text = page.extract_text(visitor_text=visit) or ""
    if "".join(run[0] for run in runs) != text:
        every: dict[str, str] = {}
        for repairs, _ in fonts.cache.values():
            every.update(repairs)
        every = every or {chr(code): letters for code, letters in OTHER.items()}
        return [Line(line) for line in _split(normalise(repair(text, every)))]
    return _styled_lines([(normalise(repair(t, r)), size, bold) for t, size, bold, r in runs])


def _split(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [" ".join(line.split()) for line in text.split("\n")]


def _styled_lines(runs: list[tuple[str, float, bool]]) -> list[Line]:
    """Runs cut into lines; a line takes the size most of its letters have."""
    lines: list[Line] = []
    pieces: list[tuple[str, float, bool]] = []

    def close() -> None:
        text = " ".join("".join(piece[0] for piece in pieces).split())
        weights: dict[float, int] = {}
        prefix, leading = [], True
        letters = bold_letters = 0
        for piece, size, bold in pieces:
            count = sum(not ch.isspace() for ch in piece)
            weights[size] = weights.get(size, 0) + count
            letters += count
            bold_letters += count if bold else 0
            leading = leading and (bold or not count)
            if leading:
                prefix.append(piece)
        size = max(weights, key=weights.get) if weights else 0.0
        all_bold = letters > 0 and bold_letters == letters
        lead = 0 if all_bold else len(" ".join("".join(prefix).split()))
        lines.append(Line(text, size, all_bold, lead))
        pieces.clear()

    for text, size, bold in runs:
        parts = text.replace("\r\n", "\n").split("\n")
        for index, part in enumerate(parts):
            if index:
                close()
            if part:
                pieces.append((part, size, bold))
    close()
    return lines
