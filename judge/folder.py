"""What marks a judge v2 model folder (torch-free: the runtime reads it before it
knows which network to run, and :mod:`judge.network` writes it).

>>> is_v2({"model_type": "bert", CONFIG_KEY: {"format": FORMAT}})
True
>>> is_v2({"model_type": "bert", "num_labels": 1})
False
"""

from __future__ import annotations

FORMAT = 2
CONFIG_KEY = "sourceqa_judge"  # the entry of config.json a v2 folder carries (format, heads, recipe)


def is_v2(config: dict) -> bool:
    """Whether a folder's parsed config.json is a judge v2 (answer and span heads) rather
    than a one-logit cross-encoder (v1)."""
    return CONFIG_KEY in config
