"""The streaming answer: iterate it for verified sentences, then read ``.answer``.

Shaped like simonw/llm's ``Response``: one object instead of a stream of two kinds of
item that every caller has to tell apart.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from core.answer import Answer, VerifiedSentence


class Response:
    """An answer being written.

    >>> def run():
    ...     yield VerifiedSentence("It is rare.", None)
    ...     return Answer(question="q?", text="It is rare. [1]", abstained=False, citations=[],
    ...                   passages=[], llm="extractive")
    >>> response = Response(run())
    >>> [s.text for s in response], response.answer.text
    (['It is rare.'], 'It is rare. [1]')

    Iterating yields each answer sentence as soon as it is verified (nothing unverified
    is ever yielded; an abstention yields none); ``answer`` is the final Answer, and
    reading it before the iteration has finished reads (and drops) the rest first. A
    response can be iterated once.
    """

    def __init__(self, run: Generator[VerifiedSentence, None, Answer]) -> None:
        self._run = run
        self._answer: Answer | None = None
        self._started = False

    def __iter__(self) -> Iterator[VerifiedSentence]:
        if self._started:
            raise RuntimeError("a Response can be iterated only once")
        self._started = True
        self._answer = yield from self._run

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            for _ in self if not self._started else ():
                pass
        if self._answer is None:
            raise RuntimeError("the answer is not finished: iterate the response to its end first")
        return self._answer

    def __repr__(self) -> str:
        state = "done" if self._answer is not None else "streaming" if self._started else "not started"
        return f"<Response {state}>"
