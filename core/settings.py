"""The one settings object shared by every stage.

Settings are grouped by concern (storage, ingest, retrieval, answer, server: one class
each, in the style of paper-qa's nested settings) and read flat, ``settings.top_k``:
every name is unique across groups, so ``SOURCEQA_TOP_K`` stays one variable and a config
file may write ``top_k = 5`` or, grouped, ``[retrieval]`` then ``top_k = 5``.

Precedence (lowest to highest): field defaults, a TOML config file
(``SOURCEQA_CONFIG`` or ``<home>/config.toml``), environment variables
``SOURCEQA_<FIELD>``, then explicit keyword overrides (CLI flags, ``ask(settings=...)``).
Unknown keys are an error in every layer, so a typo never silently does nothing.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "SOURCEQA_"
# Environment variables with the prefix that are not settings fields.
_ENV_NOT_FIELDS = {"SOURCEQA_CONFIG"}


class SettingsError(ValueError):
    """A setting is unknown or has a value that cannot be used."""


class StorageSettings(BaseModel):
    """Where the index and the data live. (``[storage]`` in a config file)"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(REPO_ROOT / ".sourceqa", description="Data directory (index, logs, feedback).")
    index_dir: Path | None = Field(None, description="Index folder; default <home>/index.")
    vector_store: str = Field("faiss", description="Where the index lives: 'faiss' (files under index_dir) "
                              "or 'postgres' (PostgreSQL with pgvector at database_url).")
    database_url: str = Field("", description="PostgreSQL URL for vector_store 'postgres', e.g. "
                              "postgresql://user:password@host:5432/sourceqa.")
    pg_hnsw_min_rows: int = Field(50_000, ge=0, description="From this many chunks on, the postgres "
                                  "store builds an HNSW index on the embeddings (0: always).")
    pg_ef_search: int = Field(100, ge=1, le=1000, description="HNSW candidates searched per query in "
                              "postgres (recall vs speed; see bench/pgscale.json).")
    ann_min_vectors: int = Field(
        50_000, ge=0, description="From this many chunks on, FAISS uses an approximate IVF index "
                                   "instead of exact search (0: always exact); see bench/RESULTS.md.")
    ann_nprobe: int = Field(32, ge=1, le=4096, description="IVF lists searched per query (recall vs speed).")

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir) if self.index_dir else Path(self.home) / "index"


class IngestSettings(BaseModel):
    """What is read and how it is cut and embedded. (``[ingest]`` in a config file)"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    corpus_dir: Path = Field(REPO_ROOT / "corpus", description="Folder of source documents to ingest.")
    embedder: str = Field("minilm", description="Embedder name: 'minilm', 'st:/path/to/model' or "
                          "'openai:<model>' (an OpenAI-compatible /v1/embeddings server at embedder_base_url).")
    model_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description="What runs the embedder and the judge: 'onnx' (ONNX Runtime, exported "
        "once from the same weights; same scores, faster start) or 'torch'.")
    max_document_mb: float = Field(50.0, gt=0, description="Larger corpus files are skipped with a "
                                   "warning, which bounds ingest memory.")
    # Parse limits (issue 26): a PDF or .docx is parsed in a child process bounded by them
    # and skipped with one line naming the limit it went over. Set from measurement on
    # 2 cores: pypdf reads ordinary pages at 20-100 a second, python-docx about 1 MB of XML
    # a second, so a 1,000-page book fits well inside 60 s and 1 GB, while the attack
    # run's 8 KB PDF (89 s) and 1 MB .docx (15 min, 4.5 GB) do not.
    parse_cpu_seconds: float = Field(60.0, gt=0, description="Most CPU seconds parsing one PDF or "
                                     ".docx may take (in a child process); a file over it is skipped.")
    parse_memory_mb: int = Field(1024, ge=64, description="Most memory (MB, above the parser's own) "
                                 "parsing one PDF or .docx may take; a file over it is skipped.")
    max_document_pages: int = Field(3000, ge=1, description="PDFs with more pages are skipped.")
    max_document_chars: int = Field(20_000_000, ge=1000, description="Files whose text is longer "
                                    "(characters) are skipped.")
    ocr: bool = Field(False, description="Read scans with Tesseract OCR (local): a PDF without a text "
                      "layer, and .png, .jpg, .jpeg, .tif and .tiff images (off: such a PDF is skipped, images "
                      "are not read); `make ocr` installs Tesseract. Answers citing OCR text say so.")
    follow_outside_links: bool = Field(False, description="Follow symbolic links in the corpus folder "
                                       "that lead out of it (off: such a link is skipped with a warning).")
    index_previews: bool = Field(False, description="Also index removed link previews as passages.")
    chunk_max_words: int = Field(120, ge=20, le=400, description="Most words per chunk.")
    # --- Embedding on a server: embedder = "openai:<model>" (ingest/served_embedder.py) ---
    embedder_base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible "
                                   "endpoint whose /embeddings embeds for an 'openai:<model>' embedder.")
    embedder_api_key: str = Field("", description="API key sent to the embedding server as a bearer "
                                  "token (set it in the environment); empty: none is sent.")
    embedder_batch_size: int = Field(32, ge=1, le=2048, description="Texts per request to the "
                                     "embedding server.")
    embedder_concurrency: int = Field(4, ge=1, le=64, description="Most requests in flight to the "
                                      "embedding server per process.")
    embedder_retries: int = Field(3, ge=0, le=10, description="Retries of a request to the embedding "
                                  "server after a 429, a 5xx, a timeout or a connection failure.")
    embedder_backoff: float = Field(0.5, ge=0, le=30, description="Seconds before the first retry to the "
                                    "embedding server; doubles each time (the server's Retry-After wins).")
    embedder_timeout: float = Field(60.0, gt=0, description="Seconds one request to the embedding "
                                    "server may take.")
    # --- end: embedding on a server ---


class RetrievalSettings(BaseModel):
    """Which passages a question reaches. (``[retrieval]`` in a config file)"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")
    history_turns: int = Field(6, ge=0, le=50,
                               description="Earlier questions used to rewrite a follow-up question.")


class AnswerSettings(BaseModel):
    """Who decides, who writes, and what is shown. (``[answer]`` in a config file)"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    judge: str = Field("bundled", description="Judge that decides answer or decline and checks every "
                       "sentence: 'bundled' (trained by `make train-judge`, shipped in judge/model) "
                       "or 'ce:/path/to/folder' (a judge folder in our format, or any local one-output cross-encoder).")
    llm: str = Field(
        "extractive",
        description="Answer backend: 'extractive' (the verified source sentences), 'local' (the "
                    "packaged SmolLM2-135M), 'gguf:/path/model.gguf' or 'openai'. Extractive is the "
                    "default because the 135M model adds nothing measurable over it (README, "
                    "'Choosing a backend'); bring a capable model with gguf: or openai.",
    )
    evidence_sentences: int = Field(3, ge=1, le=12, description="Source sentences shown to the LLM "
                                    "(3 beats 4 on the curated set, and the prompt is read faster).")
    unverified_fallback: bool = Field(
        True,
        description="When no generated sentence survives verification, show the supporting "
                    "source sentences verbatim (with a note) instead of abstaining.",
    )
    llm_timeout: float = Field(30.0, gt=0, description="Seconds an answer may take to generate (waiting "
                               "for the model included) before the source sentences are shown instead.")
    llm_max_tokens: int = Field(120, gt=0, le=2048, description="Most tokens an answer may generate.")
    llm_threads: int = Field(2, gt=0, description="CPU threads for the local llama.cpp model.")
    llm_context: int = Field(2048, ge=512, description="Context window for the local llama.cpp model.")
    llm_models_kept: int = Field(2, ge=1, le=16, description="Most llama.cpp models kept loaded at once "
                                 "(the least recently used one is let go first).")
    openai_base_url: str = Field("http://127.0.0.1:11434/v1", description="OpenAI-compatible endpoint.")
    openai_model: str = Field("llama3.2", description="Model name sent to the OpenAI-compatible endpoint.")
    openai_api_key: str = Field("not-needed", description="API key for the endpoint, if it wants one.")
    openai_retries: int = Field(3, ge=0, le=10, description="Retries of an OpenAI-compatible request after "
                                "a 429, a 5xx or a connection failure (before the first token only).")
    openai_backoff: float = Field(0.5, ge=0, le=30, description="Seconds before the first retry; doubles "
                                  "each time (the server's Retry-After wins).")
    llm_concurrency: int = Field(4, ge=0, le=1024, description="Most requests in flight to the OpenAI-compatible "
                                 "endpoint per process (0: no limit).")


class ServerSettings(BaseModel):
    """The web chat and HTTP API: where they listen and whom they serve. (``[server]`` in a config file)"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", description="Address the web chat and HTTP API bind to; anything "
                      "but loopback exposes the service to the network.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the web chat and HTTP API (0: any free port).")
    allowed_hosts: tuple[str, ...] = Field((), description="Host names the server answers to besides "
                                     "localhost, 127.0.0.1 and ::1 (any Host header is refused otherwise, "
                                     "which stops DNS rebinding); bound to a non-loopback address with "
                                     "this empty, every Host is accepted.")
    api_token: str = Field("", description="Bearer token the HTTP API and web chat require; empty: none.")
    api_llms: tuple[str, ...] = Field(
        ("local", "extractive", "openai"),
        description="Backends a client of the HTTP API or the web chat may choose (the llm setting "
                    "always may). A 'gguf:' path is never taken from a client: list it here to offer it.")
    read_only: bool = Field(False, description="Refuse uploads into the corpus folder from the web chat "
                            "and POST /api/upload (they are also refused while bound to a non-loopback "
                            "address without api_token).")
    feedback_file: Path | None = Field(None, description="Feedback JSONL file; default <home>/feedback.jsonl.")
    feedback_max_mb: float = Field(50.0, gt=0, description="The feedback log stops taking entries "
                                   "at this size (the API answers 503) until an operator moves it away.")

    @field_validator("allowed_hosts", "api_llms", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """Lists from the environment or a flag come as 'a,b,c'."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class Settings(StorageSettings, IngestSettings, RetrievalSettings, AnswerSettings, ServerSettings):
    """Every setting, grouped by concern (the classes above); read flat (``settings.top_k``),
    set flat in the environment (``SOURCEQA_TOP_K``) and flat or grouped in a config file
    (``top_k = 5`` or ``[retrieval]`` then ``top_k = 5``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def feedback_path(self) -> Path:  # default: in home (a storage setting)
        return Path(self.feedback_file) if self.feedback_file else Path(self.home) / "feedback.jsonl"


# Group name -> its class, in the order the README and `sourceqa config` list them.
GROUPS: dict[str, type[BaseModel]] = {"storage": StorageSettings, "ingest": IngestSettings,
                                      "retrieval": RetrievalSettings, "answer": AnswerSettings,
                                      "server": ServerSettings}


def group_of(name: str) -> str:
    """The group a setting belongs to.

    >>> group_of("top_k"), group_of("api_token")
    ('retrieval', 'server')
    """
    return next(group for group, model in GROUPS.items() if name in model.model_fields)


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key in _ENV_NOT_FIELDS:
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name not in Settings.model_fields:
            raise SettingsError(
                f"unknown setting {key}; known: "
                + ", ".join(ENV_PREFIX + n.upper() for n in Settings.model_fields)
            )
        values[name] = value
    return values


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read config file {path}: {error}") from error
    return _flatten(data, str(path))


def _flatten(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A config file's settings, flat: a ``[group]`` table holds that group's settings.

    >>> _flatten({"llm": "local", "retrieval": {"top_k": 8}}, "f")
    {'llm': 'local', 'top_k': 8}
    >>> _flatten({"retrieval": {"llm": "local"}}, "f")
    Traceback (most recent call last):
    core.settings.SettingsError: setting llm in f belongs in [answer], not [retrieval]
    """
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in GROUPS and isinstance(value, dict):
            for name, inner in value.items():
                if name not in GROUPS[key].model_fields:
                    where_it_is = f"[{group_of(name)}]" if name in Settings.model_fields else "no group"
                    raise SettingsError(f"setting {name} in {where} belongs in {where_it_is}, not [{key}]")
                values[name] = inner
        elif key in Settings.model_fields:
            values[key] = value
        else:
            raise SettingsError(f"unknown setting(s) {[key]} in {where}")
    return values


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, config file, environment and overrides.

    ``overrides`` whose value is None are ignored, so CLI flags can be passed straight through.
    """
    environ = dict(os.environ if environ is None else environ)
    env_values = _from_env(environ)
    home = Path(overrides.get("home") or env_values.get("home") or Settings.model_fields["home"].default)
    config = environ.get("SOURCEQA_CONFIG")
    config_path = Path(config) if config else home / "config.toml"
    values: dict[str, Any] = {}
    if config or config_path.is_file():
        values.update(_from_file(config_path))
    values.update(env_values)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as error:
        raise SettingsError(f"invalid settings: {error}") from error
