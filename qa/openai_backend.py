"""The ``openai`` backend: any OpenAI-compatible chat endpoint, with bounded retries and
a cap on requests in flight (see :class:`OpenAIGenerator`)."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator

from core.settings import Settings

from .llms import GeneratorError

log = logging.getLogger(__name__)

# What llama-index is told of the endpoint model's context window. It only feeds
# llama-index's prompt helpers, which sourceqa does not use: our prompts (question plus
# ``evidence_sentences`` source sentences) stay far below any chat model's window. Set
# by hand to a common size, not measured.
ASSUMED_CONTEXT_WINDOW = 8192

# HTTP statuses worth another try: rate limited, or the server (or a proxy) failing.
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


def backoff_delay(attempt: int, base: float, retry_after: str | None = None, cap: float = 8.0) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): the server's Retry-After when it
    gives one, else exponential from ``base`` with up to 25 % jitter, never over ``cap``.

    >>> backoff_delay(1, 0.5, "2"), backoff_delay(3, 0.5) >= 2.0, backoff_delay(9, 0.5) <= 8.0
    (2.0, True, True)
    """
    if retry_after:
        try:
            return min(cap, max(0.0, float(retry_after)))
        except ValueError:
            pass
    delay = base * 2 ** (attempt - 1)
    return min(cap, delay * (1 + random.random() * 0.25))


class OpenAIGenerator:
    """Any OpenAI-compatible chat endpoint (vLLM, TGI, Ollama, llama.cpp server, OpenAI),
    through llama-index's OpenAILike.

    At most ``llm_concurrency`` requests per process are in flight to the endpoint;
    429 and 5xx answers and connection failures are retried ``openai_retries`` times
    with exponential backoff from ``openai_backoff`` seconds (or the server's
    Retry-After), but only before the first token: a stream is never restarted halfway.
    """

    def __init__(self, settings: Settings) -> None:
        from llama_index.llms.openai_like import OpenAILike

        self.name = f"openai:{settings.openai_model}"
        self._llm = OpenAILike(model=settings.openai_model, api_base=settings.openai_base_url,
                               api_key=settings.openai_api_key, is_chat_model=True,
                               temperature=0.0, max_tokens=settings.llm_max_tokens,
                               timeout=settings.llm_timeout, max_retries=0,
                               context_window=ASSUMED_CONTEXT_WINDOW)
        self._retries = settings.openai_retries
        self._backoff = settings.openai_backoff
        self._timeout = settings.llm_timeout
        self._slots = threading.BoundedSemaphore(settings.llm_concurrency) if settings.llm_concurrency else None

    def _failure(self, error: Exception) -> GeneratorError:
        return GeneratorError(f"{self.name} at {self._llm.api_base} failed: {error}; check that the server runs "
                              "and the openai_base_url and openai_model settings")

    @staticmethod
    def _retryable(error: Exception) -> tuple[bool, str | None]:
        import openai

        if isinstance(error, openai.APIStatusError):
            return error.status_code in RETRY_STATUSES, error.response.headers.get("retry-after")
        return isinstance(error, (openai.APIConnectionError, openai.APITimeoutError)), None

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        deadline = time.monotonic() + self._timeout
        if self._slots is not None and not self._slots.acquire(timeout=self._timeout):
            raise GeneratorError(f"{self.name}: no free request slot within {self._timeout:g} s "
                                 "(setting llm_concurrency)")
        try:
            attempt = 0
            while True:
                attempt += 1
                started = False
                try:
                    for piece in self._llm.stream_chat(chat):
                        if piece.delta:
                            started = True
                            yield piece.delta
                    return
                except GeneratorExit:
                    raise
                except Exception as error:  # openai raises many types: connection, timeout, HTTP status
                    retryable, retry_after = self._retryable(error)
                    delay = backoff_delay(attempt, self._backoff, retry_after)
                    if started or not retryable or attempt > self._retries or time.monotonic() + delay > deadline:
                        raise self._failure(error) from error
                    log.info("%s: %s; retry %d of %d in %.2f s", self.name, error, attempt, self._retries, delay)
                    time.sleep(delay)
        finally:
            if self._slots is not None:
                self._slots.release()
