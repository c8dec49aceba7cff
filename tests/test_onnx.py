"""The ONNX Runtime embedder and judge give what torch gives (so rankings, thresholds and
answers are unchanged), and answering from the CLI imports no torch, no llama.cpp, no
Gradio and no llama-index (real models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, SEED

from core.text import split_sentences
from ingest.embedders import make_embedder
from judge import evidence_text, judge_query, make_judge

pytestmark = pytest.mark.real


def _sentences(limit: int = 60) -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return [text[s.start:s.end] for s in split_sentences(text)][:limit]


def test_the_onnx_embedder_gives_the_torch_vectors():
    texts = _sentences() + [" ".join(_sentences(400))[:3000], "calcium", ""]
    onnx, torch = make_embedder("minilm", "onnx"), make_embedder("minilm", "torch")
    assert onnx.name == torch.name and onnx.dimension == torch.dimension == 384
    a, b = onnx.embed(texts), torch.embed(texts)
    assert a.dtype == np.float32 and a.shape == b.shape
    assert np.abs(a - b).max() < 1e-5
    # and the same nearest other sentence for every sentence (the rankings retrieval sees)
    nearest = [np.argmax(m @ m.T - 2 * np.eye(len(m)), axis=0) for m in (a[:60], b[:60])]
    assert np.array_equal(*nearest)


def test_many_batches_run_side_by_side_and_come_back_in_order(monkeypatch):
    """``run_many`` spreads batches over lanes (one per core, up to MAX_LANES), each
    batch's outputs the ones it gets alone, in the order given."""
    import threading

    from core.onnx import MAX_LANES

    model = make_embedder("minilm")._model
    encodings = model.encode(_sentences(40))
    batches = [encodings[b:b + 4] for b in range(0, 40, 4)]
    threads, feed = set(), model._feed

    def traced(batch):
        threads.add(threading.current_thread().name)
        return feed(batch)

    monkeypatch.setattr(model, "_feed", traced)
    together = list(model.run_many(batches))
    lanes = min(len(os.sched_getaffinity(0)), MAX_LANES)
    assert len([t for t in threads if t.startswith("onnx-lane")]) == (lanes if lanes > 1 else 0)
    for batch, (outputs, mask) in zip(batches, together, strict=True):
        alone, alone_mask = model.run_encoded(batch)
        assert np.array_equal(mask, alone_mask) and np.abs(outputs[0] - alone[0]).max() < 1e-5


def test_the_onnx_judge_gives_the_torch_scores():
    sentences = _sentences(30)
    pairs = [(judge_query(q), evidence_text(s, "Calcinosis Cutis", ""))
             for q in ("What causes calcinosis cutis?", "How is it treated?") for s in sentences]
    pairs.append((judge_query("Who?", "A long claim " * 80), evidence_text("x " * 300, "h", "p")))  # truncated
    onnx, torch = make_judge("bundled", "onnx"), make_judge("bundled", "torch")
    assert onnx.thresholds == torch.thresholds
    a, b = onnx.score(pairs), torch.score(pairs)
    assert np.abs(a - b).max() < 1e-4
    # the whole question's verdict too: the answer probability, the shares, the short spans
    evidences = [e for _, e in pairs[:20]]
    x, y = onnx.decide("What causes calcinosis cutis?", evidences), torch.decide("What causes calcinosis cutis?", evidences)
    assert abs(x.answer - y.answer) < 1e-4 and np.abs(np.subtract(x.shares, y.shares)).max() < 1e-4
    # short spans come from the v2 span head; a one-output (v1) judge folder has none
    assert onnx.v2 == torch.v2 and x.shorts == y.shorts and any(x.shorts) == onnx.v2


def test_a_cold_extractive_answer_loads_only_what_it_needs(real_settings):
    heavy = ["torch", "transformers", "sentence_transformers", "gradio", "llama_cpp", "llama_index"]
    program = ("import sys; from app.cli import main; "
               "code = main(['ask', '--llm', 'extractive', '--json', 'What is calcinosis cutis?']); "
               f"print('LOADED', [m for m in {heavy!r} if m in sys.modules]); sys.exit(code)")
    env = {**os.environ, "SOURCEQA_HOME": str(real_settings.home),
           "SOURCEQA_CORPUS_DIR": str(real_settings.corpus_dir)}
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, env=env, capture_output=True, check=False,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answer_json, loaded = done.stdout.rsplit("LOADED", 1)
    assert json.loads(answer_json)["citations"], "no cited answer"
    assert loaded.strip() == "[]", f"answering imported {loaded.strip()}"


def test_a_cold_ingest_loads_only_what_it_needs(tmp_path):
    """The real CLI ingest on the file storage: ONNX Runtime and FAISS, no torch, no
    llama-index (importing it took 1.9 s of a 29 s ingest of twelve papers)."""
    heavy = ["torch", "transformers", "sentence_transformers", "gradio", "llama_cpp", "llama_index"]
    program = ("import sys; from app.cli import main; "
               f"code = main(['ingest', '--corpus', {str(REPO / 'corpus')!r}, '--index', {str(tmp_path / 'index')!r}]); "
               f"print('LOADED', [m for m in {heavy!r} if m in sys.modules]); sys.exit(code)")
    env = {**os.environ, "SOURCEQA_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, env=env, capture_output=True, check=False,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report, loaded = done.stdout.rsplit("LOADED", 1)
    assert " chunks, " in report and (tmp_path / "index").is_dir()
    assert loaded.strip() == "[]", f"ingest imported {loaded.strip()}"


def test_exports_of_gone_or_changed_model_folders_are_removed(tmp_path, monkeypatch):
    import shutil

    from core import onnx
    from ingest import packaged_minilm_path

    monkeypatch.setenv("SOURCEQA_MODEL_CACHE", str(tmp_path / "cache"))
    gone, kept = tmp_path / "gone" / "minilm", tmp_path / "kept" / "minilm"
    for folder in (gone, kept):
        shutil.copytree(packaged_minilm_path(), folder)
    (tmp_path / "cache").mkdir()
    stale = onnx.exported(gone, "embedding")
    other = onnx.exported(kept, "embedding")
    shutil.rmtree(gone.parent)
    (kept / "config.json").write_text((kept / "config.json").read_text() + " ")  # changed
    fresh = onnx.exported(kept, "embedding")
    assert fresh.is_file() and fresh != other
    assert not stale.exists() and not other.exists()  # the gone folder's, and the outdated one
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")) == [
        ".onnx", ".source"]
