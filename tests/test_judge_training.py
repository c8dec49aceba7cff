"""The judge's recipe: gold labels, twins, the question-level loss, swaps, and the
threshold rules (fast; the real mining and a short real training run are marked real)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from judge import evidence_text
from judge_training import batches
from judge_training.calibrate import GRID, choose_answer
from judge_training.mine import _gold_row, _label
from judge_training.sources import Question
from judge_training.swaps import swap
from judge_training.train import group_losses

PARAGRAPH = "In 911 Rollo met Charles. In 1066 William killed Harold. The year 1066 is famous."


def test_the_gold_sentence_is_the_one_at_the_answer_s_offset_when_the_answer_repeats():
    sentences = ["In 911 Rollo met Charles.", "In 1066 William killed Harold.", "The year 1066 is famous."]
    question = Question("q", "t", "doc", "When did William kill Harold?", ("1066",), (PARAGRAPH,),
                        PARAGRAPH.index("1066"))
    row, offset = _gold_row(question, [0, 1, 2], sentences.__getitem__)
    assert (row, offset) == (1, 3)
    # The other sentence holding "1066" is neither gold nor a negative.
    assert [_label(question, r, {row}, sentences.__getitem__) for r in range(3)] == [0, 1, -1]
    # A paragraph that does not hold the sentence gives no label at all.
    elsewhere = Question("q", "t", "doc", "When?", ("1066",), ("Another paragraph about 1066 entirely.",), 20)
    assert _gold_row(elsewhere, [0, 1, 2], sentences.__getitem__) is None


def _group(source="squad11", gold=True):
    gold_evidence = evidence_text("In 1066 William killed Harold.", "Normans", "In 911 Rollo met Charles.")
    group = {"id": "q", "source": source, "question": "When did William kill Harold?", "weight": 1.0,
             "answers": ["1066"] if gold else [],
             "candidates": [[evidence_text(f"Negative {i}.", "Normans", ""), 0] for i in range(8)]
             + [[evidence_text("The year 1066 is famous.", "Normans", ""), -1]]}
    if gold:
        group["gold"] = [gold_evidence, 3, "1066"]
    return group


def test_an_answerable_group_puts_the_gold_first_then_the_hardest_negatives_and_has_a_twin():
    example = batches.example(_group())
    assert example.evidences[0].startswith("In 1066 William") and example.positives == (0,)
    assert len(example.evidences) == batches.CANDIDATES and example.twin
    assert [e.split(" ||")[0] for e in example.evidences[1:]] == [f"Negative {i}." for i in range(5)]
    assert example.evidences[0][slice(*example.span)] == "1066"
    assert all("famous" not in e for e in example.evidences)  # ambiguous: left out
    unanswerable = batches.example(_group("squad2-dev", gold=False))
    assert unanswerable.positives == () and not unanswerable.twin


def test_the_question_level_loss_rewards_the_gold_and_no_answer_for_the_twin():
    torch = pytest.importorskip("torch")
    example = batches.example(_group())
    n = len(example.evidences)

    def loss(values):
        return float(group_losses(torch, torch.tensor(values, dtype=torch.float32), [example], [(0, n)]))

    gold_high = [6.0] + [-6.0] * (n - 1)
    assert loss(gold_high) < loss([-6.0] + [6.0] + [-6.0] * (n - 2))  # a negative on top costs more
    assert loss(gold_high) < loss([6.0] + [2.0] * (n - 1))  # negatives above "no answer" cost (the twin)
    none = batches.example(_group("squad2-dev", gold=False))
    m = len(none.evidences)
    low = float(group_losses(torch, torch.full((m,), -6.0), [none], [(0, m)]))
    high = float(group_losses(torch, torch.full((m,), 3.0), [none], [(0, m)]))
    assert low < 0.05 < high


def test_steps_keep_every_example_once_and_group_similar_lengths():
    examples = [batches.example({**_group(), "id": str(i), "question": "Q" * (i * 7 % 50 + 1)}) for i in range(40)]
    steps = batches.steps(examples, 4, random.Random(0), bucket_steps=5)
    assert sorted(len(s) for s in steps) == [4] * 10
    assert sorted(e.question for s in steps for e in s) == sorted(e.question for e in examples)


def test_a_swap_replaces_a_phrase_the_answer_sentence_holds_and_never_with_one_it_holds():
    rng = random.Random(3)
    made = [swap("When did Rollo meet Charles in 911?", "Rollo met Charles in 911 at Epte.",
                 ["Richard ruled Normandy.", "In 1066 William landed.", "Epte is a river."], rng) for _ in range(20)]
    assert len([m for m in made if m]) >= 10  # "911" has no other number to become: those give None
    for swapped in filter(None, made):
        new = set(swapped.rstrip("?").split()) - {"When", "did", "Rollo", "meet", "Charles", "in", "911"}
        assert new and not new & {"Rollo", "met", "Charles", "in", "911", "at", "Epte"}
    assert swap("What is it?", "It is a river.", ["Epte."], rng) is None


class _Engine:
    """What choose_answer reads: extractive drafts of judged sentences."""

    def extractive(self, judged, extra):
        from qa.compose import Draft

        return Draft([(judged[0].text, None)])


def _row(answerable, probability, text):
    from qa.engine import Judged, Judgement

    return {"answerable": answerable, "answers": ("1066",),
            "judgement": Judgement([Judged(0, text, "", probability, 1.0)], probability, [])}


def test_the_answer_threshold_is_the_lowest_on_the_top_of_the_balanced_accuracy_curve():
    rows = [_row(True, 0.9, "In 1066."), _row(True, 0.6, "In 1066."), _row(False, 0.3, "x"), _row(False, 0.5, "y")]
    threshold, how = choose_answer(_Engine(), rows)
    # Every threshold in (0.5, 0.6] answers both answerable and declines both others.
    assert threshold == min(t for t in GRID if 0.5 < t <= 0.6) and "1.000" in how
    assert np.isclose(threshold, 0.51)


NORMANS = ("Normans\n\nThe Normans were the people who gave their name to Normandy, a region in France. "
           "They descended from Norse raiders led by Rollo. In 911 Rollo agreed to swear fealty to King "
           "Charles III of West Francia. The Norman conquest of England began in 1066.\n")
BEES = ("Bees\n\nBees are flying insects closely related to wasps and ants. They are known for their role "
        "in pollination. There are over 16,000 known species of bees. Honey bees store honey in wax combs.\n")


@pytest.mark.real
def test_the_recipe_runs_end_to_end_mine_train_and_load_a_judge(tmp_path):
    """The real path of ``make train-judge`` on two tiny documents: the product's ingest
    and retriever mine the groups, a few real training steps write a judge v2 folder, and
    the product loads it (ONNX) and decides with it, a short answer included."""
    import gzip
    import json

    from judge import make_judge
    from judge_training import train
    from judge_training.mine import mine_shard
    from judge_training.sources import Document

    documents = [Document("Normans", NORMANS), Document("Bees", BEES)]
    sentence = "In 911 Rollo agreed to swear fealty to King Charles III of West Francia."
    questions = [
        Question("q1", "squad11", "Normans", "In what year did Rollo swear fealty?", ("911",), (NORMANS,),
                 NORMANS.index("911")),
        Question("q2", "squad11", "Bees", "How many species of bees are known?", ("over 16,000",), (BEES,),
                 BEES.index("over 16,000")),
        Question("q3", "squad2-dev", "Bees", "What colour is the wax of a wasp?"),
    ]
    groups = mine_shard(documents, questions, tmp_path / "work", random.Random(0), swaps=False, judge="bundled")
    by_id = {g["id"]: g for g in groups}
    assert set(by_id) == {"q1", "q2", "q3"}
    gold, offset, answer = by_id["q1"]["gold"]
    assert gold.startswith(sentence) and gold[offset:offset + 3] == "911" and answer == "911"
    assert "gold" not in by_id["q3"] and all(label == 0 for _, label in by_id["q3"]["candidates"])
    assert by_id["q1"]["candidates"], "the retriever offered no candidates"

    folder = tmp_path / "groups"
    folder.mkdir()
    for name in ("squad11-000", "squad11-001"):  # shard 1 is held out for the metrics
        with gzip.open(folder / f"{name}.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.writelines(json.dumps(g) + "\n" for g in groups)
    out = tmp_path / "judge-v2"
    assert train.main(["--groups", str(folder), "--data", str(tmp_path / "no-data"), "--out", str(out),
                       "--steps", "3", "--questions-per-step", "2", "--freeze-layers", "2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe"]["steps"] == 3 and metrics["held_out_groups"] == 3
    assert 0.0 <= metrics["question_auc"] <= 1.0
    judge = make_judge(f"ce:{out}")
    verdict = judge.decide("In what year did Rollo swear fealty?", [gold, by_id["q3"]["candidates"][0][0]])
    assert 0.0 < verdict.answer < 1.0 and abs(sum(verdict.shares) - 1.0) < 1e-5
    assert len(verdict.probabilities) == 2 and len(verdict.shorts) == 2
    assert any(s is not None for s in verdict.shorts)  # the span head gives a phrase for the top ones
    # Training on from that folder (--init) starts from its weights, and says so.
    again = tmp_path / "judge-v2-again"
    assert train.main(["--groups", str(folder), "--data", str(tmp_path / "no-data"), "--out", str(again),
                       "--steps", "1", "--questions-per-step", "2", "--learning-rate", "0", "--init", str(out)]) == 0
    recipe = json.loads((again / "metrics.json").read_text())["recipe"]
    assert recipe["init"] == str(out.resolve())
    # No step moves a weight at a zero rate, so the folder decides as the one it started from
    # (up to fp16 storage).
    assert np.allclose(make_judge(f"ce:{again}").decide("In what year did Rollo swear fealty?", [gold]).probabilities,
                       judge.decide("In what year did Rollo swear fealty?", [gold]).probabilities, atol=2e-3)



@pytest.mark.real
def test_a_warm_start_from_a_v1_cross_encoder_decides_as_it_did(tmp_path):
    """``--init`` with a v1 folder (``BertForSequenceClassification``, one logit): its
    pooler and classifier become the answer head, so before any step the network's answer
    logits are the cross-encoder's own; the span head is new."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from ingest import packaged_minilm_path
    from judge.network import JudgeNetwork

    torch.manual_seed(0)
    v1 = BertForSequenceClassification.from_pretrained(str(packaged_minilm_path()), num_labels=1,
                                                       dtype=torch.float32).eval()
    v1.save_pretrained(str(tmp_path / "v1"))
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_minilm_path()))
    encoding = tokenizer(["In what year did Rollo swear fealty?"] * 2,
                         ["In 911 Rollo agreed to swear fealty to King Charles III.", "Bees store honey in wax combs."],
                         padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = v1(**encoding).logits[:, 0]
        network = JudgeNetwork.from_judge(tmp_path / "v1").eval()
        answer, start, _ = network(encoding["input_ids"], encoding["attention_mask"], encoding["token_type_ids"])
    assert torch.allclose(answer, expected, atol=1e-4)
    assert start.shape == encoding["input_ids"].shape
