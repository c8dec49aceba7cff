"""Plain data that flows out of the answering stage: passages, spans, citations, the answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused rank score and its dense cosine (what a decline's
    "closest sections" are chosen by)."""

    chunk_id: str
    source: str
    section: str
    start: int
    end: int
    text: str
    score: float
    dense: float


@dataclass(frozen=True)
class Span:
    """A stretch of one cleaned document that an answer sentence can cite:
    ``documents[source][start:end]``, inside the section with heading path ``section``."""

    source: str
    start: int
    end: int
    section: str


@dataclass(frozen=True)
class Citation:
    """The exact source span that supports one or more answer sentences.

    ``quote == cleaned_document_text[start:end]``; ``page`` is the 1-based page where the
    quote begins in a paged source (a PDF), None in one without pages. ``also``: the
    same words at other places (another document says the sentence word for word), each
    cited as exactly: the sentence is shown once, citing all of them.
    """

    number: int
    quote: str
    source: str
    section: str
    start: int
    end: int
    page: int | None = None
    also: tuple[Span, ...] = ()


@dataclass(frozen=True)
class VerifiedSentence:
    """One answer sentence, streamed as soon as it is verified, with the span it cites.

    ``text`` is exactly as the final Answer shows it (a section label included).
    """

    text: str
    citation: Citation

    def to_dict(self) -> dict:
        return {"sentence": self.text, "citation": asdict(self.citation)}


@dataclass(frozen=True)
class DroppedSentence:
    """A generated sentence that failed verification (kept for debugging, never shown)."""

    text: str
    reason: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation]
    passages: list[Passage]
    llm: str
    timings: dict[str, float] = field(default_factory=dict)
    dropped: list[DroppedSentence] = field(default_factory=list)
    sentences: list[tuple[str, int]] = field(default_factory=list)  # (shown sentence, citation no.)
    note: str = ""  # e.g. why the answer fell back to the extractive backend
    standalone: str = ""  # the question as retrieved and answered (a follow-up, rewritten)
    index_version: str = ""  # the index version that answered
    short: str = ""  # the short answer phrase inside the first cited sentence ("" when none)

    def to_dict(self, view: str = "full") -> dict:
        """The answer as JSON-ready data, in one of three views:

        * ``"full"``: every field, the dropped sentences with their reasons included (the
          Python API, ``sourceqa ask --json``, evals);
        * ``"client"``: for HTTP clients: sentences that failed verification are counted
          (``dropped_count``), never sent;
        * ``"record"``: what the browser keeps of an answer for feedback (question, the
          shown text, citations, backend, note, index version).
        """
        data = asdict(self)
        if view == "full":
            return data
        if view == "client":
            data["dropped_count"] = len(data.pop("dropped"))
            return data
        if view == "record":
            return {key: data[key] for key in RECORD_FIELDS}
        raise ValueError(f"unknown view {view!r}; use 'full', 'client' or 'record'")

    def to_text(self, style: str = "plain", turn: int | None = None) -> str:
        """The answer as text: ``"plain"`` (the sentences with [n] markers, then one
        footnote per citation: quote, section, source, page) or ``"markdown"`` (a
        conversation turn: the question as a heading, footnotes ``[^turn.n]``)."""
        from .answer_text import markdown_text, plain_text

        if style == "plain":
            return plain_text(self)
        if style == "markdown":
            return markdown_text(self, turn)
        raise ValueError(f"unknown style {style!r}; use 'plain' or 'markdown'")


# The fields of an answer's "record" view (see Answer.to_dict).
RECORD_FIELDS = ("question", "standalone", "text", "abstained", "citations", "llm", "note", "index_version")
