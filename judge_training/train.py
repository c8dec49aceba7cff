"""Train the judge v2: ``python -m judge_training.train`` (``make train-judge``).

Reads the question groups that :mod:`judge_training.mine` wrote (``--groups``) and the
claim sets in ``--data`` (default ``../shared/data``), starts from the packaged
all-MiniLM-L6-v2 encoder with new heads (:mod:`judge.network`), or from a judge folder
(``--init``: the v1 cross-encoder's answer head carries over), and trains, seeded:

* per question, a softmax over ["no answer", its candidates] (the gold's share up, or
  "no answer"'s for an unanswerable question and for every answerable question's twin);
* each pair's own logit, as a probability (binary cross-entropy, a lighter weight);
* the span head on the gold answer's word pieces; claims, as pairs.

``--steps`` sets the length; ``--budget MINUTES`` instead measures the first steps and
fits the run into that many minutes. bf16 on a GPU or a CPU with AMX or AVX512-BF16, else fp32. Writes
an fp16 model folder (default ``judge/model``) with ``metrics.json`` from held-out
training articles (the calibration articles are the calibration step's).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
from pathlib import Path

import numpy as np

from judge import BUNDLED_JUDGE

from . import batches, claims
from .metrics import evaluate

REPO = Path(__file__).resolve().parent.parent
HOLDOUT_EVERY = 25  # squad11 shards 1, 26, 51, ... are held out for metrics (by article)
TWIN_WEIGHT = 0.5
PAIR_WEIGHT = 0.25
SPAN_WEIGHT = 0.5
CLAIM_WEIGHT = 1.0
CLAIMS_PER_STEP = 6
NEW_HEAD_RATE = 5.0  # a head that starts from random weights learns at this multiple of the rate
ADVERSARIAL = ("squad2-train", "squad2-dev")  # the only written unanswerables: seen --adversarial-repeat times a pass


def load_groups(folder: Path) -> tuple[list[dict], list[dict]]:
    train, held = [], []
    for path in sorted(folder.glob("*.jsonl.gz")):
        number = int(path.name.split("-")[-1].split(".")[0])
        target = held if path.name.startswith("squad11") and number % HOLDOUT_EVERY == 1 else train
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            target += [json.loads(line) for line in handle]
    return train, held


def claim_pairs(groups: list[dict], data: Path, rng: random.Random) -> list[claims.Pair]:
    pairs = [p for g in groups for p in claims.from_group(g, rng)]
    squad = len(pairs)
    if (data / "snli").is_dir():
        pairs += claims.snli(data / "snli" / "snli_1.0_dev.jsonl", 6000, rng)
    if (data / "fever-nli").is_dir():
        pairs += claims.fever(data / "fever-nli" / "fever_dev_claim_evidence_2way.jsonl.gz", 6000, rng)
    print(f"{len(pairs)} claim pairs ({squad} from the questions)", flush=True)
    return pairs


def group_losses(torch, logits, examples, offsets):
    """Softmax over ["no answer" = 0, candidates] per example, and its twin."""
    losses = []
    for example, (begin, end) in zip(examples, offsets):
        scores = torch.cat([logits.new_zeros(1), logits[begin:end].float()])
        total = torch.logsumexp(scores, 0)
        if example.positives:
            gained = torch.logsumexp(scores[[1 + i for i in example.positives]], 0)
            losses.append(example.weight * (total - gained))
            if example.twin:
                rest = [1 + i for i in range(end - begin) if i not in example.positives]
                twin = torch.logsumexp(torch.cat([scores[:1], scores[rest]]), 0)
                losses.append(TWIN_WEIGHT * example.weight * twin)
        else:
            losses.append(example.weight * total)  # -log share("no answer") = logsumexp - 0
    return torch.stack(losses).sum() / len(examples)


def run_step(torch, network, tokenizer, step, claim_step, device, autocast):
    queries, evidences, offsets, labels = [], [], [], []
    for example in step:
        begin = len(queries)
        queries += [example.question] * len(example.evidences)
        evidences += list(example.evidences)
        offsets.append((begin, len(queries)))
        labels += [1.0 if i in example.positives else 0.0 for i in range(len(example.evidences))]
    group_count = len(queries)
    queries += [p.query for p in claim_step]
    evidences += [p.evidence for p in claim_step]
    encoding = batches.encode(tokenizer, queries, evidences)
    spans = []
    for example, (begin, _) in zip(step, offsets):
        if example.span is not None:
            found = batches.span_tokens(encoding, begin, example.span)
            if found:
                spans.append((begin, *found))
    inputs = {k: encoding[k].to(device) for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        logits, start, end = network(**inputs)
    logits = logits.float()
    loss = group_losses(torch, logits[:group_count], step, offsets)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    loss = loss + PAIR_WEIGHT * bce(logits[:group_count], torch.tensor(labels, device=device))
    if claim_step:
        claim_labels = torch.tensor([p.label for p in claim_step], device=device)
        loss = loss + CLAIM_WEIGHT * bce(logits[group_count:], claim_labels)
    if spans:
        rows = torch.tensor([s[0] for s in spans], device=device)
        mask = inputs["token_type_ids"][rows] == 1
        span_start = start[rows].float().masked_fill(~mask, -1e4)
        span_end = end[rows].float().masked_fill(~mask, -1e4)
        cross = torch.nn.functional.cross_entropy
        loss = loss + SPAN_WEIGHT * 0.5 * (cross(span_start, torch.tensor([s[1] for s in spans], device=device))
                                           + cross(span_end, torch.tensor([s[2] for s in spans], device=device)))
    return loss


def _checkpoint(torch, network, parameters, master, tokenizer, folder: Path, recipe: dict) -> None:
    """Save the weights so far (a long CPU run can be stopped and still give a judge)."""
    state = {name: value.detach().clone() for name, value in network.state_dict().items()}
    if master is not parameters:
        names = {id(p): n for n, p in network.named_parameters()}
        for weight, copy in zip(parameters, master):
            state[names[id(weight)]] = copy.detach().clone()
    clone = type(network)(network.config)
    clone.load_state_dict({k: v.float() for k, v in state.items()})
    clone.save(folder, tokenizer, recipe)


def _init_name(folder: Path | None) -> str:
    """Where the weights started, as the recipe records it (a path inside the repo is
    written relative to it)."""
    if folder is None:
        return "all-MiniLM-L6-v2"
    folder = folder.resolve()
    return str(folder.relative_to(REPO)) if folder.is_relative_to(REPO) else str(folder)


def precision_for(torch, device, choice: str) -> bool:
    """Whether to train in bf16: on a GPU, or on a CPU with AMX tiles or AVX512-BF16 (about
    2 times fp32's speed there, measured); else fp32."""
    if choice != "auto":
        return choice == "bf16"
    if device.type == "cuda":
        return True
    return any(bool(getattr(torch.cpu, probe, lambda: False)())
               for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m judge_training.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--groups", type=Path, default=REPO / ".cache" / "judge-data",
                        help="question groups written by python -m judge_training.mine")
    parser.add_argument("--out", type=Path, default=BUNDLED_JUDGE)
    parser.add_argument("--steps", type=int, default=0, help="optimizer steps (0: one pass, or --budget)")
    parser.add_argument("--budget", type=float, default=0, help="minutes to train (sets --steps)")
    parser.add_argument("--questions-per-step", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--device", default="auto", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--freeze-layers", type=int, default=0,
                        help="keep the embeddings and the lowest N encoder layers as packaged (no "
                             "backward pass through them: faster on a CPU)")
    parser.add_argument("--init", type=Path, default=None,
                        help="continue from this judge folder (v1 or v2) instead of the packaged "
                             "encoder with new heads")
    parser.add_argument("--adversarial-repeat", type=int, default=1,
                        help="how many times a pass shows each SQuAD 2.0 question (the adversarial "
                             "unanswerables and their articles' answerable ones)")
    parser.add_argument("--checkpoint-every", type=int, default=0,
                        help="also save the weights every N steps beside --out (0: never)")
    args = parser.parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    from ingest import packaged_minilm_path
    from judge import torch_network

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    autocast = precision_for(torch, device, args.precision)
    precision = "bf16" if autocast else "fp32"
    groups, held = load_groups(args.groups)
    if not groups:
        parser.error(f"no question groups in {args.groups}; run python -m judge_training.mine first")
    rng = random.Random(args.seed)
    examples = [e for e in (batches.example(g) for g in groups) if e is not None]
    claim_list = claim_pairs(groups, args.data, rng)
    base = packaged_minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    network = (torch_network().from_judge(args.init) if args.init else
               torch_network().from_encoder(base)).to(device)
    network.bert.embeddings.word_embeddings.weight.requires_grad_(False)  # 11.7M rows no step needs
    if args.freeze_layers:
        for module in [network.bert.embeddings, *network.bert.encoder.layer[:args.freeze_layers]]:
            module.requires_grad_(False)
    examples += [e for e in examples if e.source in ADVERSARIAL] * (args.adversarial_repeat - 1)
    plan = batches.steps(examples, args.questions_per_step, rng)
    claim_plan = batches.steps(claim_list, CLAIMS_PER_STEP, rng)
    print(f"{len(examples)} questions ({sum(not e.positives for e in examples)} unanswerable), "
          f"{len(plan)} steps a pass, on {device}, {precision}", flush=True)
    parameters = [p for p in network.parameters() if p.requires_grad]
    master = parameters
    if autocast and device.type == "cpu":
        # On a CPU, bf16 weights run about 1.4 times faster than autocast; the optimizer
        # keeps fp32 copies, so small updates are not lost to bf16's 8-bit mantissa.
        master = [p.detach().float().clone() for p in parameters]
        network.to(torch.bfloat16)
        autocast = False
    # A warm start (--init v1) brings every weight but the span head's; a cold one also
    # starts the answer head from random weights. New heads learn at NEW_HEAD_RATE times.
    names = {id(p): n for n, p in network.named_parameters()}
    new_heads = ("span.",) if args.init else ("span.", "answer.")
    fresh = [names[id(p)].startswith(new_heads) for p in parameters]
    optimizer = torch.optim.AdamW(
        [{"params": [m for m, f in zip(master, fresh) if not f], "scale": 1.0},
         {"params": [m for m, f in zip(master, fresh) if f], "scale": NEW_HEAD_RATE}],
        lr=args.learning_rate, weight_decay=0.01)
    total = args.steps or len(plan)
    began, step = time.time(), 0
    network.train()
    while step < total:
        if args.budget and step == 20:
            per_step = (time.time() - began) / 20
            total = max(40, int(args.budget * 60 / per_step))
            print(f"{per_step:.2f} s a step: {total} steps fit {args.budget:g} minutes", flush=True)
        warmup = max(1, total // 20)
        rate = min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
        for group in optimizer.param_groups:
            group["lr"] = args.learning_rate * rate * group["scale"]
        loss = run_step(torch, network, tokenizer, plan[step % len(plan)],
                        claim_plan[step % len(claim_plan)], device, autocast)
        loss.backward()
        if master is not parameters:
            for weight, copy in zip(parameters, master):
                copy.grad = None if weight.grad is None else weight.grad.float()  # unused head: no step
                weight.grad = None
        torch.nn.utils.clip_grad_norm_(master, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if master is not parameters:
            with torch.no_grad():
                for weight, copy in zip(parameters, master):
                    weight.copy_(copy)
        step += 1
        if step % 50 == 0:
            print(f"step {step}/{total} loss {loss.item():.4f} ({time.time() - began:.0f} s)", flush=True)
        if args.checkpoint_every and step % args.checkpoint_every == 0 and step < total:
            _checkpoint(torch, network, parameters, master, tokenizer, args.out.with_name(args.out.name + ".checkpoint"),
                        {"step": step, "of": total})
    if master is not parameters:
        with torch.no_grad():
            network.float()
            for weight, copy in zip(parameters, master):
                weight.copy_(copy)
    network.eval()
    metrics = evaluate(torch, network, tokenizer, held, device)
    metrics["recipe"] = {"steps": total, "questions_per_step": args.questions_per_step,
                         "learning_rate": args.learning_rate, "seed": args.seed, "device": str(device),
                         "precision": precision, "freeze_layers": args.freeze_layers,
                         "init": _init_name(args.init),
                         "adversarial_repeat": args.adversarial_repeat, "train_questions": len(examples),
                         "claim_pairs": len(claim_list), "minutes": round((time.time() - began) / 60, 1),
                         "questions_seen": total * args.questions_per_step}
    print(json.dumps(metrics, indent=2), flush=True)
    network.save(args.out, tokenizer, metrics["recipe"])
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
