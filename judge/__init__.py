"""The judge: reads (question, evidence) pairs and decides whether the source answers.

This is its front door: ``qa`` calls the judge through these names only. The judge v2
(``network``, weights in ``model/`` with their model card) gives each candidate an
answer logit against a "no answer" option and a short-answer span; ``runtime`` runs it
on ONNX Runtime (answering) or torch; ``interface`` is the small :class:`Judge`
protocol any judge implements, with :class:`Verdict`, what one question's candidates
come to; ``inputs`` the text format it reads; ``calibration`` its thresholds;
``spans`` turns span logits into a phrase; ``folder`` marks a v2 model folder. Its recipe (data, training, calibration)
is the ``judge_training`` package, which the product never imports.
"""

from .calibration import FILE as CALIBRATION_FILE
from .calibration import Thresholds, load_thresholds
from .inputs import CLAIM_MARKER, MAX_TOKENS, evidence_text, judge_query, sentence_part
from .interface import Judge, JudgeMissing, Verdict, decide, pairwise_verdict
from .runtime import BUNDLED_JUDGE, make_judge, register_judge, torch_network
from .spans import best_span
from .spans import chars as span_chars

__all__ = [
           "BUNDLED_JUDGE",
           "CALIBRATION_FILE",
           "CLAIM_MARKER",
           "MAX_TOKENS",
           "Judge",
           "JudgeMissing",
           "Thresholds",
           "Verdict",
           "best_span",
           "decide",
           "evidence_text",
           "judge_query",
           "load_thresholds",
           "make_judge",
           "pairwise_verdict",
           "register_judge",
           "sentence_part",
           "span_chars",
           "torch_network",
]
