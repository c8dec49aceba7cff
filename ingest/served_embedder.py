"""The ``openai:<model>`` embedder: any OpenAI-compatible ``/v1/embeddings`` server
(text-embeddings-inference, vLLM, Ollama, llama.cpp's server, Infinity) embeds for
ingest and for questions.

Texts go in batches of ``embedder_batch_size``, at most ``embedder_concurrency``
requests in flight per process (a small thread pool for ingest's many batches, the same
bound for questions); a 408/409/429/5xx answer, a refused or dropped connection and a
timeout are retried ``embedder_retries`` times with exponential backoff from
``embedder_backoff`` seconds (the server's Retry-After wins), then raise
:class:`EmbedderUnavailable` naming the server and what to check. Vectors come back
L2-normalised whether or not the server normalises them.

The name is ``openai:<model>`` and the dimension is what the server answers to a probe
when the embedder is made: the two form the reuse key of every vector
(:func:`ingest.embed.embedding_key`), so a server that now serves another size is
another model (re-embedded by ingest; refused at answer time by
:func:`ingest.storage.check_compatible`), and an answer of another size than the probe's
is an error, never a vector of the wrong model.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException

import numpy as np

log = logging.getLogger(__name__)
PREFIX = "openai:"
# HTTP statuses worth another try: rate limited, or the server (or a proxy) failing.
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
PROBE = "dimension probe"  # embedded once when the embedder is made, for its dimension
MAX_DELAY = 8.0  # the longest wait between tries, seconds


class EmbedderUnavailable(ValueError):
    """The embedding server failed (after the retries) or answered something unusable.

    A ValueError with ``status`` 503, so the CLI prints it in one line and the HTTP API
    answers 503 with it."""

    status = 503


@dataclass(frozen=True)
class ServerConfig:
    """How to reach the server: the ``embedder_*`` settings."""

    base_url: str
    api_key: str = field(default="", repr=False)  # never in a log line
    batch_size: int = 32
    concurrency: int = 4
    retries: int = 3
    backoff: float = 0.5
    timeout: float = 60.0

    @classmethod
    def of(cls, settings) -> ServerConfig:
        return cls(settings.embedder_base_url, settings.embedder_api_key, settings.embedder_batch_size,
                   settings.embedder_concurrency, settings.embedder_retries, settings.embedder_backoff,
                   settings.embedder_timeout)


def backoff_delay(attempt: int, base: float, retry_after: str | None = None) -> float:
    """Seconds before retry ``attempt`` (1-based): the server's Retry-After when it gives
    one in seconds, else ``base`` doubled each time with up to 25 % jitter; at most 8 s.

    >>> backoff_delay(1, 0.5, "2"), 2.0 <= backoff_delay(3, 0.5) <= 2.5, backoff_delay(9, 0.5)
    (2.0, True, 8.0)
    """
    try:
        return min(MAX_DELAY, max(0.0, float(retry_after))) if retry_after else _jittered(attempt, base)
    except ValueError:  # an HTTP date: use our own
        return _jittered(attempt, base)


def _jittered(attempt: int, base: float) -> float:
    return min(MAX_DELAY, base * 2 ** (attempt - 1) * (1 + random.random() * 0.25))


class ServedEmbedder:
    """An OpenAI-compatible embeddings endpoint as an :class:`core.embedding.Embedder`.

    Making one asks the server for one vector (its dimension), so an unreachable server
    or a wrong model name fails here, before an ingest reads anything into an index.
    """

    def __init__(self, model: str, config: ServerConfig) -> None:
        if not model:
            raise ValueError("embedder 'openai:' needs a model name, e.g. 'openai:all-MiniLM-L6-v2'")
        self.name = PREFIX + model
        self._model = model
        self._url = config.base_url.rstrip("/") + "/embeddings"
        self._config = config
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="embedding-server")
        self.requests = 0  # sent, retries included (read by tests and logs)
        self.dimension = 0
        self.dimension = int(self._post([PROBE]).shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text, in order; batches are sent concurrently."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        size = self._config.batch_size
        batches = [list(texts[i:i + size]) for i in range(0, len(texts), size)]
        if len(batches) == 1:
            return self._post(batches[0])
        return np.concatenate(list(self._pool.map(self._post, batches)))

    def _post(self, batch: list[str]) -> np.ndarray:
        """One batch's unit vectors, retried with backoff; EmbedderUnavailable after the last try."""
        body = json.dumps({"model": self._model, "input": batch}).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._config.api_key:
            headers["Authorization"] = f"Bearer {self._config.api_key}"
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
            retry_after = None
            try:
                with self._slots:
                    self.requests += 1
                    with urllib.request.urlopen(request, timeout=self._config.timeout) as response:
                        payload = json.loads(response.read())
            except urllib.error.HTTPError as error:
                retryable, retry_after = error.code in RETRY_STATUSES, error.headers.get("Retry-After")
                problem = f"HTTP {error.code} {_said(error)}".strip()
            except (urllib.error.URLError, HTTPException, OSError) as error:  # refused, reset, timed out
                retryable, problem = True, str(getattr(error, "reason", None) or error) or type(error).__name__
            except ValueError as error:  # not JSON
                retryable, problem = False, f"an answer that is not JSON ({error})"
            else:
                return self._vectors(payload, len(batch))
            if not retryable or attempt > self._config.retries:
                tries = f" after {attempt} tries" if attempt > 1 else ""
                raise EmbedderUnavailable(
                    f"embedder {self.name} at {self._url} failed{tries}: {problem}; check that the server "
                    "runs and serves that model (settings embedder_base_url, embedder)")
            delay = backoff_delay(attempt, self._config.backoff, retry_after)
            log.info("%s: %s; retry %d of %d in %.2f s", self.name, problem, attempt, self._config.retries, delay)
            time.sleep(delay)

    def _vectors(self, payload: object, count: int) -> np.ndarray:
        """The answer's vectors in input order, checked and L2-normalised."""
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or len(data) != count:
            raise EmbedderUnavailable(f"embedder {self.name} at {self._url} answered {len(data or [])} "
                                      f"vectors for {count} texts; is it an OpenAI-compatible /embeddings?")
        rows = sorted(data, key=lambda item: item.get("index", 0) if isinstance(item, dict) else 0)
        vectors = [item.get("embedding") if isinstance(item, dict) else None for item in rows]
        if any(isinstance(v, list) and v and isinstance(v[0], list) for v in vectors):
            raise EmbedderUnavailable(
                f"embedder {self.name} at {self._url} answered one vector per token, not per text: "
                "start it with pooling (llama.cpp: --pooling mean; llama-cpp-python: "
                "--kv_overrides <arch>.pooling_type=int:1)")
        try:
            out = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise EmbedderUnavailable(f"embedder {self.name} at {self._url} answered vectors that are "
                                      f"not lists of numbers of one size: {error}") from error
        if out.ndim != 2 or not out.shape[1] or not np.isfinite(out).all():
            raise EmbedderUnavailable(f"embedder {self.name} at {self._url} answered empty or "
                                      "non-finite vectors")
        if self.dimension and out.shape[1] != self.dimension:
            raise EmbedderUnavailable(
                f"embedder {self.name} at {self._url} now answers {out.shape[1]} dimensions, it answered "
                f"{self.dimension} before: another model is served under that name; restart sourceqa, "
                "and run `sourceqa ingest` if the model changed")
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def _said(error: urllib.error.HTTPError) -> str:
    """The first words of an error answer's body (servers put the reason there)."""
    try:
        return " ".join(error.read(300).decode("utf-8", "replace").split())[:200]
    except (OSError, ValueError):
        return ""
