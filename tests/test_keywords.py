"""The file storage's keyword index (bm25s): ranking, ties, idf, saving without pickle,
memory-mapped loading, damage, and ranking like the postgres storage's :func:`bm25`."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from core.text import tokenize
from ingest.keywords import KeywordIndex, bm25

TEXTS = [
    "Calcinosis cutis is the deposition of calcium salts in the skin.",
    "Chronic renal failure is the most frequent cause of metastatic calcinosis cutis.",
    "Dystrophic calcification occurs in damaged skin; calcium and phosphate levels are normal.",
    "The lesions are firm, white nodules around the joints, 1 mm to several centimetres wide.",
    "Treatment: diltiazem, sodium thiosulfate, surgery for painful calcium nodules.",
    "Iatrogenic calcinosis follows calcium gluconate infusions or EEG electrode paste.",
    "The the and of a",  # stop words only: a chunk with no tokens
    "Renal renal renal failure: kidney disease raises serum phosphate and calcium.",
    "Idiopathic calcinosis of the scrotum; no cause is found.",
    "Calcinosis cutis is the deposition of calcium salts in the skin.",  # row 0 again: a tie
]
QUERIES = ["calcium", "renal failure", "calcinosis cutis skin", "phosphate calcium kidney",
           "nodules joints", "What causes calcinosis?", "scrotum idiopathic cause", "1 mm"]


def reference(texts: list[str], query: str, k1: float = 1.2, b: float = 0.75
              ) -> list[tuple[int, float]]:
    """Lucene BM25 written out plainly: idf log(1 + (N - df + .5)/(df + .5)), tf/(tf + norm)."""
    documents = [Counter(tokenize(t)) for t in texts]
    lengths = [sum(d.values()) for d in documents]
    average = sum(lengths) / len(lengths)
    scores = {}
    for term in set(tokenize(query)):
        df = sum(1 for d in documents if term in d)
        if not df:
            continue
        idf = math.log(1 + (len(texts) - df + 0.5) / (df + 0.5))
        for row, document in enumerate(documents):
            if document[term]:
                norm = k1 * (1 - b + b * lengths[row] / average)
                scores[row] = scores.get(row, 0.0) + idf * document[term] / (document[term] + norm)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.from_texts(TEXTS)


@pytest.mark.parametrize("query", QUERIES)
def test_ranking_and_scores_equal_a_plain_bm25(index, query):
    expected = reference(TEXTS, query)
    found = index.search(query, len(TEXTS))
    assert expected, query
    assert [row for row, _ in found] == [row for row, _ in expected]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected], rel=1e-5)


def test_ties_go_to_the_lower_row_even_when_k_cuts_them(index):
    rows = [row for row, _ in index.search("deposition salts", 10)]
    assert rows == [0, 9]
    assert index.search("deposition salts", 1)[0][0] == 0
    same = KeywordIndex.from_texts(["other words"] + ["widget text"] * 5)
    assert [row for row, _ in same.search("widget", 3)] == [1, 2, 3]


def test_no_words_unknown_words_or_k_zero_find_nothing(index):
    for query in ("", "   ", "the and of", "zeppelin quasar", "?!"):
        assert index.search(query, 5) == []
    assert index.search("calcium", 0) == []


def test_idf_is_a_mapping_over_the_vocabulary(index):
    documents = [set(tokenize(t)) for t in TEXTS]
    vocabulary = set().union(*documents)
    assert set(index.idf) == vocabulary and len(index.idf) == len(vocabulary)
    for token in ("calcium", "scrotum", "renal"):
        df = sum(token in d for d in documents)
        assert index.idf[token] == pytest.approx(math.log(1 + (len(TEXTS) - df + 0.5) / (df + 0.5)))
    assert index.idf.get("zeppelin") is None and "zeppelin" not in index.idf
    assert index.count == len(TEXTS)
    assert index.average == pytest.approx(sum(len(tokenize(t)) for t in TEXTS) / len(TEXTS))


def test_the_postgres_ranking_from_statistics_ranks_like_the_index(index):
    """:class:`PgKeywords` scores candidates with :func:`bm25` and the saved statistics."""
    statistics = json.loads(json.dumps(index.statistics))  # as the postgres storage keeps it
    tokens = [tokenize(t) for t in TEXTS]
    for query in QUERIES:
        terms = [t for t in set(tokenize(query)) if t in statistics["idf"]]
        scores = []
        for row, chunk in enumerate(tokens):
            frequency = Counter(chunk)
            score = sum(bm25(frequency[t], len(chunk), statistics["idf"][t], statistics["k1"],
                             statistics["b"], statistics["average"]) for t in terms if frequency[t])
            if score > 0:
                scores.append((row, score))
        ranked = sorted(scores, key=lambda item: (-item[1], item[0]))
        assert [r for r, _ in ranked] == [r for r, _ in index.search(query, len(TEXTS))], query


def test_saved_flat_without_pickle_and_loaded_memory_mapped(index, tmp_path, monkeypatch):
    names = index.save(tmp_path)
    assert sorted(names) == sorted(KeywordIndex.FILES) == sorted(p.name for p in tmp_path.iterdir())
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) for name in names)
    for name in names:
        if name.endswith(".npy"):
            assert np.load(tmp_path / name, allow_pickle=False).dtype.kind in "fi"
        else:
            json.loads((tmp_path / name).read_text("utf-8"))
    calls = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **kw: calls.append(kw) or real_load(*a, **kw))
    loaded = KeywordIndex.load(tmp_path)
    assert len(calls) == 3
    assert all(c["allow_pickle"] is False and c["mmap_mode"] == "r" for c in calls)
    assert isinstance(loaded._retriever.scores["data"], np.memmap)
    assert loaded.count == index.count and loaded.average == index.average
    assert dict(loaded.idf) == dict(index.idf) and loaded.statistics == index.statistics
    for query in QUERIES:
        assert loaded.search(query, 5) == index.search(query, 5)


@pytest.mark.parametrize("texts", [[], ["the and", "of a"], ["one chunk only"]])
def test_tiny_indexes_save_load_and_search(tmp_path, texts):
    index = KeywordIndex.from_texts(texts)
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path)
    assert loaded.count == len(texts)
    assert loaded.search("one chunk", 3) == index.search("one chunk", 3)
    assert loaded.statistics["idf"] == index.statistics["idf"]


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


DAMAGE = {
    "weights truncated": lambda d: (d / KeywordIndex.DATA).write_bytes(
        (d / KeywordIndex.DATA).read_bytes()[:100]),
    "weights not numbers": lambda d: (d / KeywordIndex.DATA).write_bytes(b"garbage"),
    "a column pointer missing": lambda d: np.save(
        d / KeywordIndex.INDPTR, np.load(d / KeywordIndex.INDPTR)[:-1]),
    "rows past the chunks": lambda d: np.save(
        d / KeywordIndex.INDICES, np.load(d / KeywordIndex.INDICES) + 100),
    "weights of text": lambda d: np.save(d / KeywordIndex.DATA, np.array(["x"] * 3)),
    "chunk count wrong": lambda d: _edit_json(d / KeywordIndex.STATISTICS,
                                              lambda s: s.__setitem__("count", 3)),
    "statistics not an object": lambda d: (d / KeywordIndex.STATISTICS).write_text("[1]"),
    "another method": lambda d: _edit_json(d / KeywordIndex.PARAMETERS,
                                           lambda p: p.__setitem__("method", "bm25+")),
    "an unknown parameter": lambda d: _edit_json(d / KeywordIndex.PARAMETERS,
                                                 lambda p: p.__setitem__("evil", 1)),
    "vocabulary a list": lambda d: (d / KeywordIndex.VOCABULARY).write_text("[1, 2]"),
    "vocabulary misnumbered": lambda d: _edit_json(d / KeywordIndex.VOCABULARY,
                                                   lambda v: v.__setitem__(next(iter(v)), 10**6)),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_files_raise_value_error(index, tmp_path, damage):
    index.save(tmp_path)
    DAMAGE[damage](tmp_path)
    with pytest.raises(ValueError):
        KeywordIndex.load(tmp_path)
