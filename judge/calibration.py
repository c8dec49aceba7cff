"""The judge's decision thresholds, read from ``calibration.json`` beside its weights,
because a threshold belongs to the model it was calibrated for.

``python -m judge_training.calibrate`` writes that file from the calibration articles of
squad2-dev (never from ``evals/data``) and records in it how each number was chosen. A
user's own cross-encoder (``judge = "ce:/path"``) without the file gets the defaults
below, with a warning, until they calibrate it the same way.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)
FILE = "calibration.json"


@dataclass(frozen=True)
class Thresholds:
    """The judge's calibrated thresholds; the defaults are for an uncalibrated judge
    (set by hand, not tuned); the bundled judge's come from its calibration.json."""

    answer: float = 0.5  # decline unless the question-level probability of an answer reaches this
    extra: float = 0.9  # an extractive answer adds a further sentence at this pair probability or more
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
                    "`python -m judge_training.calibrate --judge ce:%s`", FILE, model_folder, model_folder)
        return Thresholds()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Thresholds(float(data["answer"]), float(data["extra"]), float(data["claim"]),
                      dict(data.get("how", {})))
