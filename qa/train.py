"""Train the judge: ``python -m qa.train`` (or ``make train-judge``).

Fine-tunes the packaged all-MiniLM-L6-v2 weights into a one-output cross-encoder on the
pairs of :mod:`qa.judge_data`, read from ``--data`` (default ``../shared/data``), seeded,
and writes an fp16 model folder (default ``qa/judge_model``) with ``metrics.json``:
pair-level ROC AUC and accuracy per task on the calibration and validation articles,
which the judge never trains on. On a GPU it takes a few minutes; on 2 CPU cores about
an hour per epoch (``--max-pairs`` trades quality for time).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from core.text import tokenize

from . import judge_data as data
from .judge import BUNDLED_JUDGE
from .thresholds import JUDGE_MAX_TOKENS as MAX_TOKENS

REPO_ROOT = Path(__file__).resolve().parent.parent


def _mean_pool_embedder(model, tokenizer, device):
    """all-MiniLM-L6-v2 as sentence-transformers uses it: mean pooling, unit length."""
    import torch

    def embed(texts: list[str]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for begin in range(0, len(texts), 256):
                batch = tokenizer(texts[begin:begin + 256], padding=True, truncation=True,
                                  max_length=128, return_tensors="pt").to(device)
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)
    return embed


def make_ranker(embed):
    """The product's sentence pre-ranking: half embedder cosine, half word overlap."""
    cache: dict[tuple, tuple[np.ndarray, list[set[str]]]] = {}

    def rank(question: str, texts: list[str]) -> list[int]:
        key = (len(texts), texts[0], texts[-1])  # one article's sentences
        if key not in cache:
            cache[key] = (embed(texts), [set(tokenize(t)) for t in texts])
        vectors, token_sets = cache[key]
        dense = vectors @ embed([question])[0]
        words = set(tokenize(question))
        lexical = np.array([len(words & t) / max(len(words), 1) for t in token_sets])
        return list(np.argsort(-(0.5 * dense + 0.5 * lexical), kind="stable"))
    return rank


def build_pairs(data_dir: Path, rank, seed: int) -> dict[str, list[data.Pair]]:
    rng = random.Random(seed)
    squad = data_dir / "squad2-dev"
    splits: dict[str, list[data.Pair]] = {}
    articles, questions = data.load_squad_dev(squad, data.TRAIN_ARTICLES)
    train = list(data.squad_pairs(articles, questions, rank, rng, "squad2-dev"))
    sample = data_dir / "squad2-train-sample" / "train-v2.0-first10articles.json.gz"
    if sample.is_file():
        articles, questions = data.load_squad_official(sample)
        train += data.squad_pairs(articles, questions, rank, rng, "squad2-train")
    if (data_dir / "snli").is_dir():
        train += data.snli_pairs(data_dir / "snli" / "snli_1.0_dev.jsonl", 6000, rng)
    splits["train"] = train
    for name, names in (("calibration", data.CALIBRATION_ARTICLES), ("validation", data.VALIDATION_ARTICLES)):
        articles, questions = data.load_squad_dev(squad, names)
        splits[name] = list(data.squad_pairs(articles, questions, rank, random.Random(seed), "squad2-dev"))
    return splits


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative.

    >>> roc_auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.4, 0.3]))
    0.75
    """
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return float("nan")
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(score, pairs: list[data.Pair]) -> dict[str, dict[str, float]]:
    probabilities = score([(p.query, p.evidence) for p in pairs])
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_task[pair.source.split(":")[1]].append(i)
    report = {}
    for task, rows in sorted(by_task.items()):
        labels = np.array([pairs[i].label for i in rows])
        scores = probabilities[rows]
        report[task] = {"pairs": len(rows), "positives": int(labels.sum()),
                        "roc_auc": round(roc_auc(labels, scores), 4),
                        "accuracy_at_0.5": round(float(((scores >= 0.5) == (labels == 1)).mean()), 4)}
    return report


def train(pairs: list[data.Pair], model, tokenizer, device, *, epochs: int, batch_size: int,
          learning_rate: float, seed: int) -> None:
    import torch

    rng = random.Random(seed)
    steps = epochs * math.ceil(len(pairs) / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup))))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    step, began = 0, time.time()
    for epoch in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for begin in range(0, len(order), batch_size):
            batch = [pairs[i] for i in order[begin:begin + batch_size]]
            inputs = tokenizer([p.query for p in batch], [p.evidence for p in batch], padding=True,
                               truncation="longest_first", max_length=MAX_TOKENS, return_tensors="pt").to(device)
            labels = torch.tensor([p.label for p in batch], dtype=torch.float32, device=device)
            loss = loss_fn(model(**inputs).logits[:, 0], labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % 200 == 0:
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.4f} "
                      f"({time.time() - began:.0f} s)", flush=True)
    model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data",
                        help="folder of the training sets (default: ../shared/data)")
    parser.add_argument("--base", type=Path, default=None,
                        help="starting weights (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--out", type=Path, default=BUNDLED_JUDGE, help="model folder to write")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=4e-5)
    parser.add_argument("--max-pairs", type=int, default=0, help="train on at most this many pairs (0: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--device", default="auto", help="'cpu', 'cuda' or 'auto'")
    args = parser.parse_args(argv)
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    if not (args.data / "squad2-dev" / "qa.jsonl").is_file():
        parser.error(f"no squad2-dev data in {args.data}; pass --data /path/to/shared/data")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    if args.base is None:
        from ingest import packaged_minilm_path
        args.base = packaged_minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(str(args.base))
    encoder = AutoModel.from_pretrained(str(args.base), dtype=torch.float32).to(device).eval()
    splits = build_pairs(args.data, make_ranker(_mean_pool_embedder(encoder, tokenizer, device)), args.seed)
    del encoder
    pairs = splits["train"]
    if args.max_pairs:
        pairs = random.Random(args.seed).sample(pairs, min(args.max_pairs, len(pairs)))
    print(f"{len(pairs)} training pairs ({sum(p.label for p in pairs):.0f} positive) on {device}", flush=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(args.base), num_labels=1, dtype=torch.float32).to(device)
    train(pairs, model, tokenizer, device, epochs=args.epochs, batch_size=args.batch_size,
          learning_rate=args.learning_rate, seed=args.seed)
    score = _scorer(model, tokenizer, device)
    metrics = {name: evaluate(score, splits[name]) for name in ("calibration", "validation")}
    metrics["recipe"] = {k: str(v) for k, v in vars(args).items() if k not in ("data", "out", "base")}
    metrics["recipe"]["train_pairs"] = len(pairs)
    print(json.dumps(metrics, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(str(args.out), safe_serialization=True)
    tokenizer.save_pretrained(str(args.out))
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return 0


def _scorer(model, tokenizer, device):
    import torch

    def score(batch_pairs: list[tuple[str, str]]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for begin in range(0, len(batch_pairs), 256):
                chunk = batch_pairs[begin:begin + 256]
                inputs = tokenizer([q for q, _ in chunk], [e for _, e in chunk], padding=True,
                                   truncation="longest_first", max_length=MAX_TOKENS, return_tensors="pt").to(device)
                out.append(torch.sigmoid(model(**inputs).logits[:, 0]).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)
    return score


if __name__ == "__main__":
    raise SystemExit(main())
