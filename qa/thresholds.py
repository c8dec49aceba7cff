"""Every number that shapes an answer, in one place.

The judge's decision thresholds (:class:`Thresholds`) are read from ``calibration.json``
beside the judge's weights, because a threshold belongs to the model it was calibrated
for. ``python -m qa.calibrate`` writes that file from the calibration articles of
squad2-dev (never from ``evals/data``), and records in it how each number was chosen. A
user's own cross-encoder (``judge = "ce:/path"``) without the file gets the defaults
below, with a warning, until they calibrate it the same way.

The constants after it are the engine's fixed limits and weights; each says how it was
set. "Set by hand, not tuned" means no measurement chose it: change one only with
``make eval`` (and the SQuAD gate) before and after.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)
FILE = "calibration.json"

# -- retrieval (qa/retrieve.py) ------------------------------------------------------------
# The usual constant of reciprocal rank fusion (Cormack et al., 2009); not tuned here.
RRF_K = 60
# Each side (dense, BM25) is searched this many times deeper than top_k, and at least
# MIN_SEARCH_DEPTH chunks deep, before fusion; set by hand, not tuned.
SEARCH_DEPTH_FACTOR = 4
MIN_SEARCH_DEPTH = 20

# -- pre-ranking for the judge (qa/evidence.py, qa/engine.py) -------------------------------
# Weight of the embedder cosine against IDF-weighted question-word coverage; set by hand
# (an even mix), not tuned.
DENSE_WEIGHT = 0.5
# Pre-ranked sentences the judge reads per question: latency against recall; set by hand
# when the judge replaced the word lists (9255f11), not tuned.
JUDGE_CANDIDATES = 16
# Word pieces of one (query, evidence) pair the judge reads; the length the bundled judge
# was trained at (qa/train.py, qa/judge_model/README.md); set by hand, not tuned.
JUDGE_MAX_TOKENS = 160

# -- answers (qa/compose.py, qa/engine.py) ---------------------------------------------------
# Source sentences an extractive answer shows at most; matches the "one to three short
# sentences" the prompt asks a model for (qa/prompts.py); set by hand, not tuned.
MAX_ANSWER_SENTENCES = 3
# Generated sentences read at most before the model is told to stop (e7eb0e8: "reading
# stops after 6 generated sentences"); set by hand, not tuned.
MAX_GENERATED_SENTENCES = MAX_ANSWER_SENTENCES * 2
# How far back a sentence opening with "It"/"This"... looks for what it refers to (the
# span it is cited with grows by at most this many sentences); set by hand, not tuned.
MAX_CONTEXT_SENTENCES = 2
# A declined question names the sections of the retrieved passages whose dense cosine
# reaches this, at most CLOSEST_SECTIONS_SHOWN of them; both set by hand, not tuned.
CLOSEST_SECTION_MIN_COSINE = 0.25
CLOSEST_SECTIONS_SHOWN = 3

# -- verification of generated sentences (qa/verify.py, qa/vetoes.py) -----------------------
# Candidate spans a generated sentence is checked against, those sharing most words with
# it first; set by hand when the judge replaced the word lists (9255f11), not tuned.
CLAIM_SPANS = 4
# Two stemmed words match when their first PREFIX_LETTERS letters agree and their lengths
# differ by at most PREFIX_LENGTH_SLACK: "prevalent"/"prevalenc" do; "calcifi"/"calcification"
# (of "calcified") and "cal"/"calm" do not. Set by hand from such pairs, not tuned.
PREFIX_LETTERS = 5
PREFIX_LENGTH_SLACK = 4


@dataclass(frozen=True)
class Thresholds:
    """The judge's calibrated thresholds; the defaults are for an uncalibrated judge
    (set by hand, not tuned); the bundled judge's come from its calibration.json."""

    answer: float = 0.5  # decline unless the best evidence sentence reaches this probability
    extra: float = 0.9  # an extractive answer adds a further sentence at this probability or more
    claim: float = 0.5  # a generated sentence is shown only when its claim reaches this
    how: dict[str, str] = field(default_factory=dict, compare=False)  # how each was set

    def __post_init__(self) -> None:
        for name in ("answer", "extra", "claim"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold {name} must be a probability from 0 to 1, got {value!r}")


def load_thresholds(model_folder: Path) -> Thresholds:
    path = Path(model_folder) / FILE
    if not path.is_file():
        log.warning("no %s beside the judge in %s: using uncalibrated defaults; run "
                    "`python -m qa.calibrate --judge ce:%s`", FILE, model_folder, model_folder)
        return Thresholds()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Thresholds(float(data["answer"]), float(data["extra"]), float(data["claim"]),
                      dict(data.get("how", {})))
