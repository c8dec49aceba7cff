"""The Python API: ``ask`` and ``stream``.

>>> from qa import ask                                   # doctest: +SKIP
>>> answer = ask("What is the most frequent cause of metastatic calcinosis cutis?")  # doctest: +SKIP
>>> answer.citations[0].quote                            # doctest: +SKIP
'Chronic renal failure is the most frequent underlying cause.'
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from core.answer import Answer
from core.embedding import Embedder
from core.settings import Settings, load_settings
from ingest import IndexProblem, check_compatible, ingest, make_embedder, storage_for
from judge import Judge, make_judge

from .engine import Engine
from .llms import Generator, make_generator
from .question import Request, UnknownSources, request
from .response import Response

log = logging.getLogger(__name__)

_engines: dict[tuple, Engine] = {}
# Per index: the served state last loaded and the problem it had (None: it loaded intact).
_checked: dict[str, tuple[object, IndexProblem | None]] = {}
_lock = threading.Lock()


def get_engine(settings: Settings, embedder: Embedder | None = None, judge: Judge | None = None) -> Engine:
    """The engine for these settings, loaded once per process (thread-safe).

    With no index yet, it is built from the configured corpus first; an index built by
    another embedder than the one configured raises IndexProblem. Each call checks
    what is served (the version and its files' sizes and times: a few ``stat`` calls, or
    one query for postgres), so a re-ingest by any process is picked up by the next
    question, and damage on disk makes it reload, verify and refuse (IndexProblem)
    instead of answering from a copy a restart could not load.
    """
    storage = storage_for(settings)
    where = _where(settings)
    with _lock:
        state = storage.state()
        key = (where, state, settings, id(embedder), id(judge))
        if key not in _engines:
            _engines.pop(next((k for k in _engines if k[0] == where), None), None)
            if state is None:
                log.warning("no index yet; building it from %s", settings.corpus_dir)
                ingest(settings, embedder=embedder)
                state = storage.state()
                key = (where, state, settings, id(embedder), id(judge))
            try:
                index = storage.load()
                model = embedder or make_embedder(settings.embedder, settings.model_runtime, settings)
                # Questions are embedded by this model: an index of another one's vectors is
                # a 503 "run sourceqa ingest", not a FAISS assertion on the first question.
                check_compatible(index.manifest, model.name, int(model.dimension))
            except IndexProblem as problem:
                _checked[where] = (state, problem)
                raise
            _checked[where] = (state, None)
            _engines.clear()  # one served version at a time; a re-ingest replaces it
            _engines[key] = Engine(settings, index, model, judge or make_judge(settings.judge, settings.model_runtime))
        return _engines[key]


def _where(settings: Settings) -> str:
    return settings.database_url if settings.vector_store == "postgres" else str(Path(settings.index_path))


def check_served(settings: Settings, deep: bool = False) -> None:
    """Raise IndexProblem when what is served was found damaged and has not changed since,
    or changed since it was loaded and no longer loads intact (for health checks: cheap
    while nothing changes; an index never loaded yet is not loaded here). ``deep``: also
    every served file against its checksum (:func:`verify_served`)."""
    where = _where(settings)
    state = storage_for(settings).state()
    with _lock:
        checked = _checked.get(where)
        loaded = any(key[0] == where for key in _engines)
    if checked is not None and checked[0] == state:
        if checked[1] is not None:
            raise checked[1]
    elif loaded:
        get_engine(settings)
    if deep:
        verify_served(settings)


# A deep check reads every served file (about 0.1 s per 10k chunks): a monitor polling
# /healthz?deep=1 every second costs at most one read per this many seconds.
DEEP_CHECK_SECONDS = 10.0
_deep: dict[str, tuple[float, object, IndexProblem | None]] = {}


def verify_served(settings: Settings) -> None:
    """Raise IndexProblem unless every served file matches its checksum now (byte damage
    that left sizes and times alone included); at most one read per
    :data:`DEEP_CHECK_SECONDS` per index while what is served stays the same version and
    files (a repair is checked at once), later calls get the last result."""
    import time

    where = _where(settings)
    storage = storage_for(settings)
    state = storage.state()
    with _lock:
        last = _deep.get(where)
    if last is None or last[1] != state or time.monotonic() - last[0] >= DEEP_CHECK_SECONDS:
        problem = None
        if storage.current() is not None and storage.intact_manifest() is None:
            problem = IndexProblem("the served index does not match its checksums (damaged on disk); "
                                   "run `sourceqa ingest` to rebuild it")
        last = (time.monotonic(), state, problem)
        with _lock:
            _deep[where] = last
    if last[2] is not None:
        raise last[2]


def engine_loaded(settings: Settings) -> bool:
    """Whether an engine for this index is already in memory (no loading wait)."""
    with _lock:
        return any(key[0] == _where(settings) for key in _engines)


def _resolve(question: object, llm: object, top_k: object, history: object, settings: object,
             embedder: object = None, judge: object = None,
             sources: object = None) -> tuple[Settings, Request, Generator | None, str]:
    """Validate every argument first (nothing is loaded for a bad one), then pick the backend.

    A bad argument of any type is a ValueError (``InvalidQuestion`` for the question and
    the history) that says what was expected, never an AttributeError or TypeError.
    """
    if settings is not None and not isinstance(settings, Settings):
        raise ValueError(f"settings must be a Settings object, got {type(settings).__name__}")
    settings = settings or load_settings()
    asked = request(question, history, top_k, settings.max_question_chars, sources)
    for part, what, method in ((embedder, "embedder", "embed"), (judge, "judge", "score")):
        if part is not None and not callable(getattr(part, method, None)):
            raise ValueError(f"{what} must be an object with a {method}() method, got {type(part).__name__}")
    if llm is None or isinstance(llm, str):
        name = llm or settings.llm
        return settings, asked, make_generator(name, settings), name
    if not callable(getattr(llm, "stream", None)) or not isinstance(getattr(llm, "name", None), str):
        raise ValueError(  # noqa: TRY004 - every bad argument is a ValueError (documented)
            "llm must be a backend name ('local', 'gguf:/path.gguf', 'openai', 'extractive') "
            f"or a Generator (a name and a stream() method), got {type(llm).__name__}")
    return settings, asked, llm, llm.name


def stream(question: str, *, llm: str | Generator | None = None, top_k: int | None = None,
           history: list[str] | None = None, settings: Settings | None = None,
           embedder: Embedder | None = None, judge: Judge | None = None,
           sources: list[str] | None = None) -> Response:
    """The answer as it is written: iterate the :class:`Response` for each answer sentence
    as soon as it is verified (a :class:`VerifiedSentence` with its citation), then read
    ``response.answer`` for the final Answer.

    Nothing unverified is ever yielded: the model's text is checked sentence by sentence
    as it is written, and a sentence the source does not support never leaves. An
    abstention yields no sentence. Arguments are those of :func:`ask`; they are checked,
    and the index loaded, before this returns (so a bad argument raises here).
    """
    settings, asked, generator, name = _resolve(question, llm, top_k, history, settings, embedder, judge,
                                                sources)
    engine = get_engine(settings, embedder, judge)
    return Response(engine.within(chosen(asked.sources, engine.index.documents)).run(asked, generator, name))


def chosen(sources: tuple[str, ...] | None, documents) -> tuple[str, ...] | None:
    """The documents to answer from: None for all of them (no filter); UnknownSources for a
    name the index does not hold.

    >>> chosen(("a.txt",), {"a.txt": "", "b.txt": ""}), chosen(("b.txt", "a.txt"), {"a.txt": "", "b.txt": ""})
    (('a.txt',), None)
    """
    if sources is None:
        return None
    unknown = [s for s in sources if s not in documents]
    if unknown:
        names = ", ".join(repr(s if len(s) <= 60 else s[:60] + "...") for s in unknown[:5])
        raise UnknownSources(f"sources: the index holds no document named {names}"
                             f"{f' (and {len(unknown) - 5} more)' if len(unknown) > 5 else ''}; "
                             "GET /api/documents lists them")
    return None if len(sources) == len(documents) else sources


def ask(question: str, *, llm: str | Generator | None = None, top_k: int | None = None,
        history: list[str] | None = None, settings: Settings | None = None,
        embedder: Embedder | None = None, judge: Judge | None = None,
        sources: list[str] | None = None) -> Answer:
    """Answer ``question`` from the source, with a verified citation for every sentence.

    ``llm`` is a backend name ('local', 'gguf:/path.gguf', 'openai', 'extractive') or a
    Generator object; ``history`` holds the conversation's earlier questions, oldest
    first, so a follow-up ("And how is it treated?") is answered as a standalone
    question (``Answer.standalone``); ``sources`` (document names, as in a citation's
    ``source``) answers only from those documents, retrieving from nothing else
    (``UnknownSources``, a ValueError, for a name the index does not hold); ``judge`` overrides the ``judge`` setting with a
    Judge object (tests pass a fake); ``settings`` defaults to
    :func:`core.settings.load_settings`. Raises ``ValueError`` (``InvalidQuestion``
    for the question and history) for an empty, too long or non-text question and for any
    argument of the wrong type; a backend that fails, at once or halfway, never raises: the
    source sentences are shown with a note instead.
    """
    return stream(question, llm=llm, top_k=top_k, history=history, settings=settings, embedder=embedder,
                  judge=judge, sources=sources).answer


def prepare(settings: Settings | None = None) -> list[str]:
    """Load the configured embedder and judge once, so that the first question does not
    wait for them; with ``model_runtime = 'onnx'`` this exports them to ONNX when the
    cache has none (``make install`` runs it through ``sourceqa prepare``). Returns what
    was loaded, one line each."""
    settings = settings or load_settings()
    embedder = make_embedder(settings.embedder, settings.model_runtime, settings)
    judge = make_judge(settings.judge, settings.model_runtime)
    return [f"embedder {embedder.name} ({settings.model_runtime})",
            f"judge {judge.name} ({settings.model_runtime})"]
