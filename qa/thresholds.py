"""Every number that shapes an answer, in one place.

The judge's decision thresholds (``judge.Thresholds``: answer, extra, claim) are read
from ``calibration.json`` beside the judge's weights (``judge/model``), because a
threshold belongs to the model it was calibrated for. ``python -m
judge_training.calibrate`` writes that file from the calibration articles of squad2-dev
(never from ``evals/data``), and records in it how each number was chosen.

The constants after it are the engine's fixed limits and weights; each says how it was
set. "Set by hand, not tuned" means no measurement chose it: change one only with
``make eval`` (and the SQuAD gate) before and after.
"""

from __future__ import annotations

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

# -- answers (qa/compose.py, qa/engine.py) ---------------------------------------------------
# Source sentences an extractive answer shows at most; matches the "one to three short
# sentences" the prompt asks a model for (qa/prompts.py); set by hand, not tuned.
MAX_ANSWER_SENTENCES = 3
# A further sentence joins an extractive answer only when the judge gives it at least this
# share of the best one's probability (besides ``thresholds.extra``): "near the best", so
# a sentence that merely passes ``extra`` beside a far better one is left out (issue 27).
# Set by hand, not tuned; checked with ``make eval`` and the SQuAD gate before and after.
NEAR_BEST = 0.7
# A list shown with its items shows at most this many (a longer list is not shown, as its
# introduction alone would mislead); set by hand, not tuned.
MAX_LIST_ITEMS = 30
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

# The longest short answer shown, in words (SQuAD's answers are nearly all shorter); a
# longer span is the sentence itself, not a phrase; set by hand, not tuned.
MAX_SHORT_WORDS = 12

# -- verification of generated sentences (qa/verify.py, qa/vetoes.py) -----------------------
# Candidate spans a generated sentence is checked against, those sharing most words with
# it first; set by hand when the judge replaced the word lists (9255f11), not tuned.
CLAIM_SPANS = 4
# Two stemmed words match when their first PREFIX_LETTERS letters agree and their lengths
# differ by at most PREFIX_LENGTH_SLACK: "prevalent"/"prevalenc" do; "calcifi"/"calcification"
# (of "calcified") and "cal"/"calm" do not. Set by hand from such pairs, not tuned.
PREFIX_LETTERS = 5
PREFIX_LENGTH_SLACK = 4
