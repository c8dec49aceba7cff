"""OCR for scans (the ``ocr`` setting, off by default): a PDF without a text layer, or an
image file (``.png``, ``.jpg``, ``.jpeg``, ``.tif``, ``.tiff``), read with Tesseract.

Everything runs locally and inside the bounded parse child (:mod:`ingest.bounded`): each
PDF page is rendered to a 300 dpi grey image (PGM) by ``pdftoppm`` (poppler-utils; it renders
the page as a reader sees it, whatever a scanner put in it: one image, strips, masks,
rotation, text as outlines), and each page image is read by the ``tesseract`` binary.
Both are Debian packages (``make ocr`` installs them) run as programs, so no Python
package is added. Every run inherits the child's CPU and memory limits (per run: the
``parse_cpu_seconds`` a page may take), has a wall-clock timeout, runs on one thread
(2 cores are shared) and dies with the child, so a hostile scan cannot hang the server;
the parent's wall clock restarts at each page read (``progress``).

An image is decoded by Pillow (its decompression-bomb check and the child's memory limit
bound it), turned upright by its EXIF orientation, and each frame of a multi-page TIFF is
a page. A page's text is Tesseract's, lines kept and its blocks as paragraphs, a word
hyphenated at a line's end joined again; the title is the PDF's metadata title, else the
file's name. The result says ``ocr=True``: the index keeps which documents were read by
OCR, and an answer citing one says so (:func:`qa.compose.ocr_note`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from .formats import Extracted, Unreadable, brief, title_line
from .pdf_text import normalise

__all__ = ["IMAGE_SUFFIXES", "engine_version", "missing", "ocr_image", "ocr_pdf"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})
DPI = 300  # what Tesseract is trained for; a letter-size grey page is 8 MB
LANGUAGE = "eng"
INSTALL = "run `make ocr` (or: apt-get install tesseract-ocr poppler-utils)"
TOOLS = ("tesseract", "pdftoppm")


def missing() -> list[str]:
    """The OCR programs that are not installed (none: [])."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@functools.cache
def engine_version() -> str:
    """Tesseract's and pdftoppm's versions, or which is missing: part of the parse cache
    key, so a scan is read again when OCR is installed or upgraded."""
    absent = missing()
    if absent:
        return "missing " + ",".join(absent)
    versions = []
    for tool in TOOLS:
        try:
            done = subprocess.run([tool, "-v"], capture_output=True, text=True, timeout=30, check=False)
            first = (done.stdout + done.stderr).strip().splitlines()
            versions.append(first[0].strip() if first else tool)
        except (OSError, subprocess.SubprocessError):
            versions.append(f"{tool} unknown")
    return "; ".join(versions)


def _dies_with_parent() -> None:
    """In the OCR program, before it starts: killed when the parse child goes."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _run(args: list[str], limits) -> subprocess.CompletedProcess:
    """One OCR program run within the parse's limits (the child's rlimits are inherited)."""
    wall = None if limits.cpu_seconds is None else 4 * limits.cpu_seconds + 30
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(args, capture_output=True, timeout=wall, check=False, env=env,
                              preexec_fn=_dies_with_parent)  # safe: the parse child runs no threads
    except subprocess.TimeoutExpired:
        raise Unreadable(f"OCR took more than {wall:g} s for one page") from None
    except OSError as error:
        raise Unreadable(f"OCR cannot run {args[0]} ({brief(error)}); {INSTALL}") from None
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise Unreadable(f"OCR of one page took more than the parse_cpu_seconds setting "
                         f"({limits.cpu_seconds:g} s)")
    if done.returncode != 0:
        said = " ".join(done.stderr.decode("utf-8", "replace").split())[-160:]
        raise Unreadable(f"OCR failed ({args[0]} exit code {done.returncode}{': ' + said if said else ''})")
    return done


def _require_tools(which: tuple[str, ...]) -> None:
    absent = [tool for tool in missing() if tool in which]
    if absent:
        raise Unreadable(f"the ocr setting is on but {' and '.join(absent)} is not installed; {INSTALL}")


def _read_page(image: Path, limits, dpi: int = DPI) -> str:
    done = _run(["tesseract", str(image), "stdout", "-l", LANGUAGE, "--dpi", str(dpi)], limits)
    return done.stdout.decode("utf-8", "replace")


def page_text(raw: str) -> str:
    """Tesseract's text of one page: its blocks as paragraphs, lines kept, a word
    hyphenated at a line's end joined again, ligatures as letters.

    >>> page_text("Calcinosis is treat-\\nment resistant.\\n\\n\\n  Next block \\n\\f")
    'Calcinosis is treatment\\nresistant.\\n\\nNext block'
    """
    paragraphs = []
    for block in re.split(r"\n\s*\n", normalise(raw.replace("\f", "\n"))):
        lines = [" ".join(line.split()) for line in block.splitlines()]
        lines = [line for line in lines if line]
        joined: list[str] = []
        for line in lines:
            if joined and re.search(r"[^\W\d_]-$", joined[-1]) and re.match(r"[a-z]", line):
                head, _, rest = line.partition(" ")
                joined[-1] = joined[-1][:-1] + head
                if rest:
                    joined.append(rest)
                continue
            joined.append(line)
        if joined:
            paragraphs.append("\n".join(joined))
    return "\n\n".join(paragraphs)


def _assembled(title: str, pages: list[str]) -> Extracted:
    """The pages as one document, as :func:`ingest.pdf.read_pdf` lays one out."""
    if not any(page.strip() for page in pages):
        raise Unreadable("OCR found no text in it (a blank or unreadable scan?)")
    text = title_line(title) + "\n\n"
    starts = []
    for number, page in enumerate(pages):
        starts.append(0 if number == 0 else len(text))
        text += page + "\n\n" if page else ""
    return Extracted(text, tuple(starts), ocr=True)


def ocr_pdf(data: bytes, source: str, title: str, count: int, limits,
            progress: Callable[[], None] | None = None) -> Extracted:
    """A PDF without a text layer (``count`` pages), read page by page by OCR."""
    _require_tools(TOOLS)
    pages = []
    with tempfile.TemporaryDirectory(prefix="sourceqa-ocr-") as folder:
        pdf = Path(folder) / "scan.pdf"
        pdf.write_bytes(data)
        for number in range(1, count + 1):
            stem = Path(folder) / "page"
            _run(["pdftoppm", "-q", "-r", str(DPI), "-gray", "-singlefile",  # PGM: 5x less CPU than PNG
                  "-f", str(number), "-l", str(number), str(pdf), str(stem)], limits)
            image = stem.with_suffix(".pgm")
            pages.append(page_text(_read_page(image, limits)) if image.exists() else "")
            image.unlink(missing_ok=True)
            if progress is not None:
                progress()
    return _assembled(title or PurePosixPath(source).stem or source, pages)


def ocr_image(data: bytes, source: str, limits, progress: Callable[[], None] | None = None) -> Extracted:
    """An image file read by OCR, each frame (a multi-page TIFF) a page."""
    if not limits.ocr:
        raise Unreadable("an image, and the ocr setting is off")
    _require_tools(("tesseract",))
    from PIL import Image, ImageOps

    pages = []
    try:
        with Image.open(io.BytesIO(data)) as image, tempfile.TemporaryDirectory(prefix="sourceqa-ocr-") as folder:
            frames = getattr(image, "n_frames", 1)
            if limits.max_pages is not None and frames > limits.max_pages:
                raise Unreadable(f"{frames} pages, over the max_document_pages setting ({limits.max_pages})")
            for index in range(frames):
                image.seek(index)
                page = ImageOps.exif_transpose(image)  # a phone's photo of a letter: upright
                page = page if page.mode in ("1", "L") else page.convert("L")
                path = Path(folder) / "page.pgm"
                dpi = max(70, min(1200, math.floor(float(image.info.get("dpi", (0, 0))[0] or DPI))))
                page.save(path)
                pages.append(page_text(_read_page(path, limits, dpi)))
                path.unlink(missing_ok=True)
                if progress is not None:
                    progress()
    except (Unreadable, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - a damaged or hostile image is skipped, whatever Pillow raises
        raise Unreadable(f"not a readable image ({brief(error)})") from None
    return _assembled(PurePosixPath(source).stem or source, pages)
