"""One-pass sentence vectors with the real MiniLM (issue 29): close to the sentence embedded
alone, the same chunk vectors, the same best sentence for the seed questions; and the
real `sourceqa ingest` on a terminal shows determinate progress."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest import load_index
from ingest.embed import identity, plan
from tests.test_real_models import ANSWERABLE

pytestmark = pytest.mark.real
# Cosine between a seed sentence's one-pass vector and the same sentence embedded alone
# (f"{section}: {sentence}"), measured on the seed: mean 0.89, least 0.64;
# on the seed and the squad2 corpus (659): mean 0.86, 5th percentile 0.73, least 0.53.
MEAN_COSINE = 0.84
LEAST_COSINE = 0.55
# Questions whose two best sentences are near tied and swap places: the osteoma sentence
# that defines it (before 0.889, one pass 0.870) and the one on how it shows (0.880, 0.880).
NEAR_TIES = {"What is osteoma cutis?"}


def _alone(index, embedder) -> np.ndarray:
    """The seed's sentence vectors as before issue 29: every sentence embedded alone."""
    work = plan(index.chunks, index.sentences, dict(index.documents), {**identity(embedder), "sentence_vectors": "alone"})
    return embedder.embed(work.texts[len(index.chunks):])


def test_one_pass_vectors_are_close_to_sentences_embedded_alone(real_settings, real_embedder):
    index = load_index(real_settings.index_path)
    assert index.manifest["embedder"]["sentence_vectors"] == real_embedder.span_pooling
    cosines = np.sum(np.asarray(index.sentence_vectors, np.float32) * _alone(index, real_embedder), axis=1)
    assert cosines.mean() > MEAN_COSINE and cosines.min() > LEAST_COSINE, (cosines.mean(), cosines.min())
    texts = [c.embed_text for c in index.chunks]  # a pass's chunk vector is embed()'s
    assert np.allclose(real_embedder.embed_spans(texts, [[] for _ in texts])[0], real_embedder.embed(texts), atol=1e-5)


@pytest.mark.parametrize("question", [getattr(q, "values", q)[0] for q in ANSWERABLE])
def test_the_seed_questions_best_sentence_is_unchanged(real_settings, real_embedder, question):
    from dataclasses import replace

    from qa.evidence import score_sentences
    from qa.retrieve import HybridRetriever

    index = load_index(real_settings.index_path)
    retrieval = HybridRetriever(index, real_embedder).retrieve(question, real_settings.top_k)
    rows_of = {c.id: [] for c in index.chunks}
    for row, sentence in enumerate(index.sentences):
        rows_of[index.chunks[sentence.chunk].id].append(row)
    rows = [r for p in retrieval.passages for r in rows_of[p.chunk_id]]
    one_pass = score_sentences(index, rows, question, retrieval.question_vector)
    before = score_sentences(replace(index, sentence_vectors=_alone(index, real_embedder)), rows, question,
                             retrieval.question_vector)
    if question in NEAR_TIES:  # the two best swap places; the answer is unchanged (test_real_models)
        assert [e.row for e in one_pass[:2]] == [e.row for e in before[:2]][::-1]
        assert abs(one_pass[0].score - one_pass[1].score) < 0.02
    else:
        assert one_pass[0].row == before[0].row, (one_pass[0].text, before[0].text)
    assert len({e.row for e in one_pass[:5]} & {e.row for e in before[:5]}) >= 4  # measured: 4 or 5 of the best five


def test_sourceqa_ingest_on_a_terminal_shows_files_chunks_rate_and_time_left(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = Path(__file__).resolve().parent.parent / "corpus" / "calcinosis_cutis.txt"
    (corpus / seed.name).write_text(seed.read_text("utf-8"), "utf-8")
    (corpus / "second.txt").write_text("Second\n\nCalcium phosphate deposits in the skin are rare.\n", "utf-8")
    env = {**os.environ, "SOURCEQA_HOME": str(tmp_path / "home"), "COLUMNS": "120"}
    master, terminal = pty.openpty()  # stderr a terminal: the bars, as a person sees them
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "ingest", "--corpus", str(corpus)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, env=env,
                               cwd=Path(__file__).resolve().parent.parent)
    os.close(terminal)
    shown = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal's other end closed
            break
        if not data:
            break
        shown += data
    out, _ = process.communicate(timeout=300)
    os.close(master)
    assert process.returncode == 0, shown.decode(errors="replace")
    text = shown.decode("utf-8", errors="replace")
    assert re.search(r"reading: 100%.*\| 2/2 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(file/s|s/file)\]", text), text
    chunks = int(re.search(rb"(\d+) chunks", out).group(1))
    assert re.search(rf"embedding: +\d+%.*\| \d+/{chunks} \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(chunk/s|s/chunk)\]", text), text
    assert re.search(rf"embedding: 100%.*\| {chunks}/{chunks} ", text), text
    assert f"embedded {chunks}, reused 0" in out.decode()  # one pass per chunk: no sentence alone


def test_the_onnx_embedder_batches_by_tokens_so_formulas_and_prose_pad_little(real_embedder, monkeypatch):
    """Characters say little of tokens: a line of formulas takes several times the tokens
    of prose of the same length. Batches are cut by token count, so they pad (almost)
    nothing, and every vector is the one the text gets embedded alone."""
    prose = [" ".join(["calcium salts deposit in the skin"] * k) for k in range(1, 25)]
    formulas = [" ".join(["x_{ij}^2=(β̂−β)'Σ⁻¹(β̂−β)"] * k) for k in range(1, 25)]
    texts = [t for pair in zip(prose, formulas) for t in pair]  # equal characters, unequal tokens
    counts = real_embedder.token_counts(texts)
    assert all(counts[2 * k + 1] > 2 * counts[2 * k] for k in range(6))
    positions = []
    feed = real_embedder._model._feed  # every batch's inputs, padded, in a lane or not

    def counted(encodings):
        positions.append(len(encodings) * max(len(e.ids) for e in encodings))
        return feed(encodings)

    monkeypatch.setattr(real_embedder._model, "_feed", counted)
    vectors = real_embedder.embed(texts)
    by_characters = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # the batching before
    size = len(texts) // len(positions)
    padded_before = sum(len(rows) * max(counts[i] for i in rows)
                        for rows in (by_characters[b:b + size] for b in range(0, len(texts), size)))
    assert sum(positions) <= 1.1 * sum(counts) < padded_before, (sum(positions), sum(counts), padded_before)
    alone = np.concatenate([real_embedder.embed([t]) for t in texts])
    assert np.allclose(vectors, alone, atol=1e-5)
    pooled_from_passes, _ = real_embedder.embed_spans(texts, [[] for _ in texts])
    assert np.allclose(pooled_from_passes, alone, atol=1e-5)
