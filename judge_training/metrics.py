"""Held-out metrics of a judge network: question-level and pair-level ROC AUC, top-1
accuracy and short-answer F1, on mined groups of articles it never trained on."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np

from . import batches

SAMPLE = 600  # held-out groups read (scoring every candidate of each)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half).

    >>> roc_auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.4, 0.3]))
    0.75
    """
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return float("nan")
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style token F1 (lower case, words only).

    >>> token_f1("the Norman conquest", "Norman conquest")
    0.8
    """
    p, g = prediction.lower().split(), gold.lower().split()
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _score(torch, network, tokenizer, query: str, evidences: list[str], device):
    encoding = batches.encode(tokenizer, [query] * len(evidences), evidences)
    inputs = {k: encoding[k].to(device) for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.inference_mode():
        logits, start, end = network(**inputs)
    return logits.float().cpu().numpy(), start.float().cpu().numpy(), end.float().cpu().numpy(), encoding


def evaluate(torch, network, tokenizer, groups: list[dict], device) -> dict:
    from judge import best_span, sentence_part
    from judge import span_chars as chars

    rng = random.Random(0)
    groups = rng.sample(groups, min(SAMPLE, len(groups)))
    question_labels, question_scores, pair_labels, pair_scores, top1, f1 = [], [], [], [], [], []
    for group in groups:
        listed = [(e, label) for e, label in group["candidates"] if label >= 0]
        if not listed:
            continue
        logits, start, end, encoding = _score(torch, network, tokenizer, group["question"], [e for e, _ in listed], device)
        labels = np.array([label for _, label in listed])
        pair_labels += list(labels)
        pair_scores += list(logits)
        lse = lambda values: float(np.logaddexp.reduce(values)) if len(values) else -math.inf
        if labels.any():
            question_labels.append(1)
            question_scores.append(lse(logits))
            top1.append(bool(labels[int(np.argmax(logits))]))
            question_labels.append(0)  # its twin: the negatives alone
            question_scores.append(lse(logits[labels == 0]))
        elif group["source"] == "swap" or not group.get("gold"):
            question_labels.append(0)
            question_scores.append(lse(logits))
        if group.get("gold") and group["gold"][1] >= 0 and labels.any():
            row = int(np.flatnonzero(labels)[0])
            evidence = listed[row][0]
            sentence = sentence_part(evidence)
            allowed = [s == 1 and b > a and b <= len(sentence) for s, (a, b) in
                       zip(encoding.sequence_ids(row), encoding["offset_mapping"][row].tolist())]
            span = best_span(start[row], end[row], allowed)
            if span:
                a, b = chars(span, encoding["offset_mapping"][row].tolist())
                f1.append(max(token_f1(evidence[a:b], answer) for answer in group["answers"]))
    return {"held_out_groups": len(groups),
            "question_auc": round(roc_auc(np.array(question_labels), np.array(question_scores)), 4),
            "pair_auc": round(roc_auc(np.array(pair_labels), np.array(pair_scores)), 4),
            "top1_when_answered": round(float(np.mean(top1)), 4) if top1 else None,
            "short_f1": round(float(np.mean(f1)), 4) if f1 else None}
