"""User feedback on answers: an append-only log (a JSONL file, or a table in PostgreSQL with
the postgres store, so that every replica writes to the same place), and eval-case drafts.

Each thumbs click or comment appends one line; lines about the same answer share its
``answer_id`` and are merged when read (the last rating wins, comments accumulate).
Appends take an exclusive file lock, so several server processes can share one file.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.answer import Answer
from evals import draft_case

RATINGS = ("up", "down")
# Bounds of one entry's fields (the HTTP API refuses larger ones; the chat, whose answer
# records come back from the browser, clips them), so no entry can grow the log much.
LIMITS = {"answer_id": 64, "question": 10_000, "standalone": 10_000, "answer": 20_000, "backend": 200,
          "index_version": 200, "comment": 2_000}
CITATION_LIMITS = {"quote": 5_000, "section": 500, "source": 500}
MAX_CITATIONS = 50


class FeedbackFull(OSError):
    """The feedback log reached the ``feedback_max_mb`` setting; it takes no more entries."""


@dataclass(frozen=True)
class FeedbackEntry:
    """One feedback event about one shown answer."""

    answer_id: str
    question: str
    standalone: str
    answer: str
    abstained: bool
    citations: list[dict]
    backend: str
    index_version: str
    rating: str | None = None  # "up", "down", or None for a comment on its own
    comment: str = ""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @classmethod
    def about(cls, answer: Answer | dict, answer_id: str, rating: str | None, comment: str = "") -> FeedbackEntry:
        """An entry about an Answer, or about its ``to_dict("record")`` (what the browser keeps)."""
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS} or empty, got {rating!r}")
        record = answer if isinstance(answer, dict) else answer.to_dict("record")
        try:
            entry = cls(str(answer_id), str(record["question"]), str(record["standalone"] or record["question"]),
                        str(record["text"]), bool(record["abstained"]), list(record["citations"]),
                        str(record["llm"]), str(record["index_version"]), rating, str(comment).strip())
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not an answer record ({type(error).__name__}: {error})") from error
        return entry.bounded()

    def bounded(self) -> FeedbackEntry:
        """This entry with every field clipped to :data:`LIMITS` (citations: 50, each clipped).

        >>> FeedbackEntry("1", "q" * 20_000, "", "a", False, [], "x", "v").bounded().question == "q" * 10_000
        True
        """
        citations = []
        for citation in self.citations[:MAX_CITATIONS]:
            if isinstance(citation, dict):
                citations.append({k: (v[:CITATION_LIMITS.get(k, 500)] if isinstance(v, str) else v)
                                  for k, v in citation.items()
                                  if k in (*CITATION_LIMITS, "number", "start", "end", "page")
                                  and (isinstance(v, (str, int)) or v is None)})
        clipped = {name: getattr(self, name)[:limit] for name, limit in LIMITS.items()}
        return FeedbackEntry(**{**asdict(self), **clipped, "citations": citations})


def new_answer_id() -> str:
    return uuid.uuid4().hex[:12]


class JsonlFeedback:
    """Feedback in a JSONL file (``<home>/feedback.jsonl`` by default)."""

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes

    def add(self, entry: FeedbackEntry) -> None:
        """Append one entry (clipped to the field limits); raises FeedbackFull at the size
        limit and OSError when the disk refuses (full, read-only); nothing half-written stays."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(asdict(entry.bounded()), ensure_ascii=False) + "\n").encode("utf-8")
        with open(self.path, "ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            size = handle.seek(0, os.SEEK_END)
            try:
                if self.max_bytes is not None and size + len(line) > self.max_bytes:
                    raise FeedbackFull(f"the feedback log is full ({self.max_bytes // 1_000_000} MB, setting "
                                       "feedback_max_mb); an operator has to move it away")
                try:
                    handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
                except OSError:
                    handle.truncate(size)  # no torn line is left behind
                    raise
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def entries(self) -> list[FeedbackEntry]:
        """Every well-formed entry, oldest first (a torn or foreign line is skipped)."""
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text("utf-8", errors="replace").splitlines():
            try:
                out.append(FeedbackEntry(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return out


class PostgresFeedback:
    """Feedback in the ``sourceqa_feedback`` table, shared by every app replica."""

    def __init__(self, database_url: str) -> None:
        from ingest import postgres_engine as engine_for
        from ingest import redact_url as redact

        self.engine = engine_for(database_url)
        self.path = f"{redact(database_url)} (table sourceqa_feedback)"

    def add(self, entry: FeedbackEntry) -> None:
        import sqlalchemy

        with self.engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                "INSERT INTO sourceqa_feedback (answer_id, entry) VALUES (:id, CAST(:entry AS jsonb))"),
                {"id": entry.answer_id, "entry": json.dumps(asdict(entry.bounded()), ensure_ascii=False)})

    def entries(self) -> list[FeedbackEntry]:
        with self.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT entry FROM sourceqa_feedback ORDER BY id").scalars().all()
        return [FeedbackEntry(**row) for row in rows]


def feedback_store(settings) -> JsonlFeedback | PostgresFeedback:
    """Where feedback goes: the database with the postgres store (so replicas share it), else JSONL."""
    if settings.vector_store == "postgres" and settings.database_url:
        return PostgresFeedback(settings.database_url)
    return JsonlFeedback(settings.feedback_path, int(settings.feedback_max_mb * 1_000_000))


def merged(entries: list[FeedbackEntry]) -> list[FeedbackEntry]:
    """One entry per answer: the last rating given, all comments joined.

    >>> a = FeedbackEntry("1", "q", "q", "a", False, [], "x", "v", "up", created="t1")
    >>> b = FeedbackEntry("1", "q", "q", "a", False, [], "x", "v", "down", "wrong dose", created="t2")
    >>> [(e.rating, e.comment) for e in merged([a, b])]
    [('down', 'wrong dose')]
    """
    by_answer: dict[str, FeedbackEntry] = {}
    for entry in entries:
        old = by_answer.get(entry.answer_id)
        if old is None:
            by_answer[entry.answer_id] = entry
            continue
        comment = " | ".join(c for c in (old.comment, entry.comment) if c)
        rating = entry.rating or old.rating
        by_answer[entry.answer_id] = FeedbackEntry(**{**asdict(entry), "rating": rating, "comment": comment})
    return list(by_answer.values())


def draft_cases(entries: list[FeedbackEntry]) -> list[dict]:
    """Down-voted answers as draft eval cases for a curator to complete.

    A draft has the fields of ``evals/data/cases.jsonl`` with the ones only a person can
    fill left empty (``answerable`` is null), plus what the user said was wrong and
    what was answered, so ``python -m evals.validate`` rejects it until it is finished.
    ``question`` is the question as typed; ``standalone`` is how a follow-up was
    rewritten (empty when it was not), kept apart so a bad rewrite is visible as such.
    """
    drafts = []
    for entry in merged(entries):
        if entry.rating != "down":
            continue
        drafts.append(draft_case(
            f"feedback-{entry.answer_id}", entry.question,
            standalone=entry.standalone if entry.standalone != entry.question else "",
            note=f"Draft from feedback of {entry.created[:10]}; index {entry.index_version}, "
                 f"backend {entry.backend}.",
            what_was_wrong=entry.comment or "(no comment; thumbs down)", answer_given=entry.answer,
            abstained=entry.abstained, citations_given=[c.get("quote", "") for c in entry.citations]))
    return drafts
