"""Parse one untrusted binary file (PDF, Word) in a child process with limits on its CPU
time, memory and size, so that a tiny hostile file cannot take the machine.

An 8 KB PDF whose pages share one compressed content stream took pypdf 89 s; a 103 KB
.docx whose ``document.xml`` unpacks to 30 MB took python-docx 94 s and 526 MB. In a
child, such a file costs at most ``parse_cpu_seconds`` of CPU and ``parse_memory_mb`` of
memory above what the child starts with, and is then skipped with one line naming the
limit; the parent (the ingest, or the server) is never at risk. With the ``ocr`` setting,
a scan's OCR runs in the same child (:mod:`ingest.ocr`): each page's programs inherit
the limits, and the child tells the parent of each page read, which restarts its clock.

Children are forked from a small fork server (:mod:`multiprocessing`'s "forkserver"),
started once per process with only the readers imported, so a file costs one fork
(milliseconds), not a new interpreter, and a child never inherits the server's threads
or models.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .formats import Extracted, Unreadable

__all__ = ["Cancelled", "Limits", "parse_within", "read_bounded"]

_lock = threading.Lock()
_context = None


@dataclass(frozen=True)
class Limits:
    """What one file's parse may use (``None``: no limit). The ingest settings hold the
    defaults and say how each was chosen (:class:`core.settings.IngestSettings`)."""

    cpu_seconds: float | None = None
    memory_mb: int | None = None
    max_pages: int | None = None
    max_chars: int | None = None
    ocr: bool = False  # read scans (PDFs without a text layer, images) by OCR

    @classmethod
    def of(cls, settings) -> Limits:
        """The parse limits of the ingest settings (:class:`core.settings.Settings`)."""
        return cls(cpu_seconds=settings.parse_cpu_seconds, memory_mb=settings.parse_memory_mb,
                   max_pages=settings.max_document_pages, max_chars=settings.max_document_chars,
                   ocr=bool(getattr(settings, "ocr", False)))

    def key(self) -> str:
        """What a parse's outcome depends on besides the file (for the parse cache)."""
        key = f"cpu={self.cpu_seconds};mem={self.memory_mb};pages={self.max_pages};chars={self.max_chars}"
        if self.ocr:  # off: the key of before OCR existed; on: read again when OCR is installed or upgraded
            from .ocr import engine_version

            key += f";ocr={engine_version()}"
        return key


def _get_context():
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["ingest.bounded", "ingest.pdf", "ingest.word", "ingest.ocr"])
            _context = context
        return _context


def _virtual_bytes() -> int:
    """This process's virtual memory size now (what RLIMIT_AS counts)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _peak_virtual_bytes() -> int:
    """The most virtual memory this process has had (VmPeak), or 0 when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _child(connection, suffix: str, data: bytes, source: str, limits: Limits) -> None:
    import resource

    if limits.cpu_seconds is not None:
        seconds = max(1, math.ceil(limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 2))
    near_ceiling = None
    if limits.memory_mb is not None:
        try:
            start = _virtual_bytes()
            ceiling = start + int(limits.memory_mb) * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
            near_ceiling = start + int(limits.memory_mb) * 2**20 * 0.9
        except (OSError, ValueError):  # no /proc: the CPU limit still holds
            pass

    def out_of_memory() -> bool:
        # libxml2 reports a failed allocation as a syntax error, pypdf as whatever it was
        # doing: a failure after the process came near its ceiling is the memory limit.
        return near_ceiling is not None and _peak_virtual_bytes() >= near_ceiling

    try:
        extracted = parse_within(suffix, data, source, limits, lambda: _alive(connection))
        connection.send(("ok", extracted.text, extracted.page_starts, extracted.ocr))
    except MemoryError:
        connection.send(("memory", "", None))
    except Unreadable as error:
        connection.send(("memory", "", None) if out_of_memory() else ("unreadable", str(error), None))
    except Exception as error:  # noqa: BLE001 - a parser's bug on a hostile file skips that file only
        connection.send(("memory", "", None) if out_of_memory() else ("error", type(error).__name__, None))
    finally:
        connection.close()


def _alive(connection) -> None:
    """Tell the parent a page was read (by OCR); when it has stopped listening (cancelled),
    stop: the OCR programs die with this child."""
    try:
        connection.send(("page", "", None))
    except OSError:
        os._exit(1)


def parse_within(suffix: str, data: bytes, source: str, limits: Limits,
                 progress: Callable[[], None] | None = None) -> Extracted:
    """The reader of ``suffix`` on ``data`` in this process, with the page and character
    limits (the child runs it under the CPU and memory limits; a text file needs no child);
    a scan is read by OCR when ``limits.ocr`` (``progress`` is called after each page)."""
    from .ocr import IMAGE_SUFFIXES, ocr_image, ocr_pdf
    from .pdf import NoTextLayer, read_pdf
    from .readers import READERS

    if suffix == ".pdf":
        try:
            extracted = read_pdf(data, source, max_pages=limits.max_pages)
        except NoTextLayer as scan:
            if not limits.ocr:
                raise
            extracted = ocr_pdf(data, source, scan.title, scan.pages, limits, progress)
    elif suffix in IMAGE_SUFFIXES:
        extracted = ocr_image(data, source, limits, progress)
    else:
        extracted = READERS[suffix](data, source)
    if limits.max_chars is not None and len(extracted.text) > limits.max_chars:
        raise Unreadable(f"{len(extracted.text):,} characters of text, over the max_document_chars "
                         f"setting ({limits.max_chars:,})")
    return extracted


def _over_memory(limits: Limits) -> Unreadable:
    return Unreadable(f"parsing it needed more than the parse_memory_mb setting ({limits.memory_mb} MB)")


def _over_cpu(limits: Limits) -> Unreadable:
    return Unreadable(f"parsing it took more than the parse_cpu_seconds setting ({limits.cpu_seconds:g} s)")


def read_bounded(suffix: str, data: bytes, source: str, limits: Limits,
                 cancelled: threading.Event | None = None) -> Extracted:
    """Parse ``data`` as ``suffix`` in a child process within ``limits``; raises
    :class:`Unreadable` naming the limit a file went over (or why it cannot be read).
    ``cancelled``, when set by another thread (a client that went away), kills the child
    and raises :class:`Cancelled`."""
    context = _get_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, suffix, data, source, limits), daemon=True)
    process.start()
    sender.close()
    # CPU time bounds the parse; the wall clock only guards against a child that sleeps or
    # is starved (2 cores shared with embedding): generous, and never the usual stop.
    wall = None if limits.cpu_seconds is None else 4 * limits.cpu_seconds + 30
    message = None
    try:
        waited = 0.0
        while True:
            if cancelled is not None and cancelled.is_set():
                raise Cancelled(source)
            if receiver.poll(0.25):
                try:
                    message = receiver.recv()
                except (EOFError, OSError):
                    message = None
                if message is not None and message[0] == "page":  # a page read by OCR: alive
                    waited, message = 0.0, None
                    continue
                break
            waited += 0.25
            if not process.is_alive() and not receiver.poll(0):
                break
            if wall is not None and waited > wall:
                break
    finally:
        receiver.close()
        if process.is_alive():
            process.join(2)
        if process.is_alive():
            process.kill()
            process.join(5)
    if message is None:
        code = process.exitcode
        if code in (-signal.SIGXCPU, -signal.SIGKILL) or code is None:
            raise _over_cpu(limits)
        raise Unreadable(f"the parser stopped (exit code {code})")
    kind, text, page_starts = message[:3]
    if kind == "ok":
        return Extracted(text, None if page_starts is None else tuple(page_starts), ocr=bool(message[3]))
    if kind == "memory":
        raise _over_memory(limits)
    if kind == "unreadable":
        raise Unreadable(text)
    raise Unreadable(f"cannot read it ({text})")


class Cancelled(Exception):
    """The parse was stopped because its client went away."""
