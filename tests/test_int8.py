"""The int8 embedder ('minilm-int8', issue 29): its own identity, so its vectors are never
mixed with the fp32 model's in one index; its export kept beside the fp32 one; and (real)
its vectors close to the fp32 ones."""

from __future__ import annotations

import numpy as np
import pytest

from ingest import IndexProblem, check_compatible, ingest, load_index
from ingest.embed import embedding_key
from ingest.embedders import INT8_NAME, make_embedder
from tests.conftest import FakeEmbedder

FP32_NAME = "all-MiniLM-L6-v2"


class Named(FakeEmbedder):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def test_the_int8_embedder_has_its_own_identity_and_keys():
    assert INT8_NAME != FP32_NAME
    assert embedding_key(INT8_NAME, 384, "calcium") != embedding_key(FP32_NAME, 384, "calcium")
    with pytest.raises(ValueError, match="ONNX Runtime only"):
        make_embedder("minilm-int8", runtime="torch")


def test_an_index_never_mixes_int8_and_fp32_vectors(tmp_path, seed_corpus):
    from core.settings import load_settings

    settings = load_settings(environ={}, home=tmp_path / "home", corpus_dir=seed_corpus, judge="fake")
    first = ingest(settings, embedder=Named(FP32_NAME))
    int8 = Named(INT8_NAME)
    second = ingest(settings, embedder=int8)
    # nothing carried over from the fp32 index (reused counts only texts repeated within a run)
    assert second.embedded == first.embedded > 0 and second.reused == first.reused and int8.texts > 0
    index = load_index(settings.index_path)
    assert index.manifest["embedder"]["name"] == INT8_NAME
    check_compatible(index.manifest, INT8_NAME, int8.dimension)
    with pytest.raises(IndexProblem, match=f"built with embedder {INT8_NAME}"):
        check_compatible(index.manifest, FP32_NAME, int8.dimension)  # fp32 questions: refused


def _tiny_export(model_dir, out, opset):
    """A one-MatMul ONNX graph (what quantize_int8 quantizes), standing in for a transformer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(out))


def test_the_int8_copy_is_made_from_the_fp32_export_and_both_are_kept(tmp_path, monkeypatch):
    from core import onnx

    monkeypatch.setenv("SOURCEQA_MODEL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    full = onnx.exported(folder, "tiny", _tiny_export)
    small = onnx.exported(folder, "tiny" + onnx.INT8, _tiny_export)
    assert full.is_file() and small.is_file() and small != full  # neither prunes the other
    assert "int8" in small.name and onnx.exported(folder, "tiny", _tiny_export) == full
    (folder / "config.json").write_text("{} ")  # the model changed: its old exports go
    fresh = onnx.exported(folder, "tiny" + onnx.INT8, _tiny_export)
    assert not small.exists() and not full.exists() and fresh.is_file()


# Measured on the seed and the SQuAD articles (bench/int8.py, bench/RESULTS.md, 2026-12-04):
# the lowest cosine of an int8 vector to its fp32 one was 0.990 (chunks) and 0.988
# (sentences pooled from a chunk's pass); the bound leaves a little margin.
COSINE_BOUND = 0.98


@pytest.mark.real
def test_int8_vectors_are_close_to_fp32_ones(real_settings, real_embedder):
    from ingest.embed import identity, plan

    index = load_index(real_settings.index_path)
    work = plan(index.chunks, index.sentences, dict(index.documents), identity(real_embedder))
    spans: list[list] = [[] for _ in range(work.chunks)]
    for row in range(work.chunks, len(work.keys)):
        spans[work.context[row]].append(work.spans[row])
    int8 = make_embedder("minilm-int8")
    assert int8.name == INT8_NAME and int8.dimension == real_embedder.dimension
    texts = work.texts[:work.chunks]
    (fp32_chunks, fp32_pooled), (int8_chunks, int8_pooled) = (
        model.embed_spans(texts, spans) for model in (real_embedder, int8))
    assert np.sum(fp32_chunks * int8_chunks, axis=1).min() > COSINE_BOUND
    pairs = [(a, b) for row_a, row_b in zip(fp32_pooled, int8_pooled) for a, b in zip(row_a, row_b)
             if a is not None and b is not None]
    assert pairs and min(float(a @ b) for a, b in pairs) > COSINE_BOUND
