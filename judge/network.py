"""The judge v2 network (torch): all-MiniLM-L6-v2's encoder with two heads.

* the **answer head** reads the pair's first token and gives one logit ``a`` per
  (question, evidence) pair, measured against a "no answer" option fixed at 0: a pair's
  own probability is ``sigmoid(a)``; over one question's candidates, the softmax over
  ``[0, a_1, ..., a_n]`` puts its mass on the sentence that answers, or on "no answer"
  (SQuAD 2.0 readers' null score, at the level of the question);
* the **span head** gives a start and an end logit per word piece: the short answer
  inside the evidence sentence.

Saved as a model folder: BERT's ``config.json`` with a ``sourceqa_judge`` entry
(:mod:`judge.folder`), the
tokenizer, and ``model.safetensors`` (fp16). Training (``judge_training``), the torch
runtime and the ONNX export all build it here. Importing this module imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .folder import CONFIG_KEY, FORMAT, is_v2


class JudgeNetwork(nn.Module):
    def __init__(self, config) -> None:
        from transformers import BertModel

        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        hidden = config.hidden_size
        self.answer = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.span = nn.Linear(hidden, 2)

    def forward(self, input_ids, attention_mask, token_type_ids):
        """(answer logits [batch], start logits [batch, tokens], end logits [batch, tokens])."""
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        answer = self.answer(hidden[:, 0]).squeeze(-1)
        start, end = self.span(hidden).unbind(-1)
        return answer, start, end

    @classmethod
    def from_encoder(cls, folder: Path) -> JudgeNetwork:
        """New heads on the encoder weights of a sentence-transformers / BERT folder."""
        from transformers import BertConfig, BertModel

        config = BertConfig.from_pretrained(str(folder))
        network = cls(config)
        encoder = BertModel.from_pretrained(str(folder), add_pooling_layer=False, dtype=torch.float32)
        network.bert.load_state_dict(encoder.state_dict())
        return network

    @classmethod
    def from_judge(cls, folder: Path) -> JudgeNetwork:
        """Continue from a judge folder: a v2 folder as saved, or a v1 cross-encoder
        (``BertForSequenceClassification``), whose pooler and classifier are the answer
        head's two layers (the same shapes: first token -> dense -> tanh -> one logit),
        so the network starts out deciding as v1 did; the span head is new."""
        from safetensors.torch import load_file
        from transformers import BertConfig

        folder = Path(folder)
        if is_v2(json.loads((folder / "config.json").read_text(encoding="utf-8"))):
            return cls.load(folder).train()
        config = BertConfig.from_pretrained(str(folder))
        network = cls(config)
        state = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
        renamed = {"bert.pooler.dense.weight": "answer.0.weight", "bert.pooler.dense.bias": "answer.0.bias",
                   "classifier.weight": "answer.2.weight", "classifier.bias": "answer.2.bias"}
        state = {renamed.get(k, k): v for k, v in state.items()}
        missing, unexpected = network.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"span.weight", "span.bias"}:
            raise ValueError(f"{folder} is not a MiniLM judge: missing {missing}, unexpected {unexpected}")
        return network

    def save(self, folder: Path, tokenizer, recipe: dict) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        config = self.config.to_dict()
        config[CONFIG_KEY] = {"format": FORMAT, "heads": ["answer", "span"], "recipe": recipe}
        config.pop("architectures", None)
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        tokenizer.save_pretrained(str(folder))

    @classmethod
    def load(cls, folder: Path) -> JudgeNetwork:
        from safetensors.torch import load_file
        from transformers import BertConfig

        config = BertConfig.from_pretrained(str(folder))
        network = cls(config)
        state = {k: v.float() for k, v in load_file(str(Path(folder) / "model.safetensors")).items()}
        network.load_state_dict(state)
        return network.eval()


def export_onnx(folder: Path, out: Path, opset: int) -> None:
    """The network as one ONNX graph: (input_ids, attention_mask, token_type_ids) ->
    (answer, start, end); :mod:`core.onnx` calls this for a v2 folder."""
    network = JudgeNetwork.load(folder)
    sample = torch.ones((2, 8), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "start", "end"]}
    axes["answer"] = {0: "batch"}
    with torch.inference_mode():
        torch.onnx.export(network, (sample, sample, torch.zeros_like(sample)), str(out), input_names=names,
                          output_names=["answer", "start", "end"], dynamic_axes=axes, opset_version=opset,
                          dynamo=False)
