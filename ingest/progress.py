"""How far an ingest is: files read of all, chunks embedded of all, chunks per second and
the time left, for the CLI (a tqdm bar on a terminal, else a line now and then) and for
a caller's callback (the chat's upload shows "Embedding 120 of 471 chunks, 35/s, 10 s left").

``ingest(progress=...)`` takes False (nothing), True (stderr) or a callable, which gets
a :class:`Progress` at the start of each stage, after every step and at its end.

>>> Progress("embedding", 120, 471, "chunks", 3.4).line()
'Embedding 120 of 471 chunks, 35/s, 10 s left'
>>> Progress("reading", 0, 12, "files", 0.0).line()
'Reading 0 of 12 files'
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

LINE_SECONDS = 5.0  # off a terminal: a line at most this often (and the first and last)


@dataclass(frozen=True)
class Progress:
    stage: str  # "reading" (files parsed) or "embedding" (chunks embedded)
    done: int
    total: int
    unit: str  # "files" or "chunks"
    seconds: float  # since the stage began

    @property
    def rate(self) -> float | None:
        """Units per second so far; None before the first step."""
        return self.done / self.seconds if self.done and self.seconds > 0 else None

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate else None

    def line(self) -> str:
        text = f"{self.stage.capitalize()} {self.done} of {self.total} {self.unit}"
        if self.rate is not None:
            text += f", {self.rate:.0f}/s" if self.rate >= 10 else f", {self.rate:.1f}/s"
            if self.done < self.total:
                text += f", {self.seconds_left:.0f} s left"
        return text

    def to_dict(self) -> dict:
        return {"stage": self.stage, "done": self.done, "total": self.total, "unit": self.unit,
                "rate": self.rate, "seconds_left": self.seconds_left, "text": self.line()}


Callback = Callable[[Progress], None]


class Stage:
    """One counted stage; ``advance`` after each step, ``close`` at the end (idempotent)."""

    def __init__(self, name: str, total: int, unit: str, report: Callback | None, bar=None) -> None:
        self._name, self._total, self._unit, self._report, self._bar = name, total, unit, report, bar
        self._began = time.perf_counter()
        self.done = 0
        self._closed = False
        self._emit()

    def _emit(self) -> None:
        if self._report is not None:
            self._report(Progress(self._name, self.done, self._total, self._unit,
                                  time.perf_counter() - self._began))

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        if self._bar is not None:
            self._bar.update(steps)
        self._emit()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._bar is not None:
                self._bar.close()


class Reporter:
    """Where an ingest's progress goes: nowhere, to ``stream`` (stderr), or a callback."""

    def __init__(self, progress: bool | Callback | None = False, stream: TextIO | None = None) -> None:
        self._callback = progress if callable(progress) else None
        self._stream = (stream or sys.stderr) if progress is True else None

    def stage(self, name: str, total: int, unit: str) -> Stage:
        if self._callback is not None:
            return Stage(name, total, unit, self._callback)
        if self._stream is None:
            return Stage(name, total, unit, None)
        if self._stream.isatty():
            from tqdm import tqdm

            bar = tqdm(total=total, desc=name, unit=unit.rstrip("s"),
                       file=self._stream, **_screen(self._stream))
            return Stage(name, total, unit, None, bar)
        return Stage(name, total, unit, _Lines(self._stream, total))


def _screen(stream: TextIO) -> dict:
    """tqdm's size settings for a terminal that has no size set (a bare pty), where tqdm
    would draw nothing; none for one that has."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    return {**({} if size.columns else {"ncols": 100}), **({} if size.lines else {"nrows": 24})}


class _Lines:
    """Progress as a line now and then: the first, every LINE_SECONDS, and the last."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream, self._total = stream, total
        self._last: float | None = None

    def __call__(self, progress: Progress) -> None:
        now = time.perf_counter()
        if self._last is None or progress.done >= self._total or now - self._last >= LINE_SECONDS:
            self._last = now
            print(progress.line(), file=self._stream, flush=True)
