"""One forward pass per chunk (issue 29): sentence vectors pooled from the chunk's own token
states, behind the Embedder interface, with their own reuse keys; and ingest progress."""

from __future__ import annotations

import io

import numpy as np
import pytest

from core.embedding import span_pooling
from core.pooling import span_pooled
from core.types import Chunk, SentenceRow
from ingest.embed import embed_missing, embedding_key, identity, plan
from ingest.progress import Progress, Reporter
from ingest.spill import Spill
from tests.conftest import FakeEmbedder


class FakeSpanEmbedder(FakeEmbedder):
    """The fake-hash model that also pools spans: a span's vector is the fake vector of
    the characters it covers (so a test can tell which text it pooled); a span ending
    past ``keep`` characters is None, as a truncated pass gives."""

    span_pooling = "fake-pool-1"

    def __init__(self, keep: int = 10_000) -> None:
        super().__init__()
        self.keep = keep
        self.passes = 0
        self.pooled: list[str] = []

    def embed_spans(self, texts, spans):
        counted = self.calls, self.texts  # ``texts`` counts what is embedded alone
        self.passes += len(texts)
        out = []
        for text, text_spans in zip(texts, spans):
            row = []
            for span in text_spans:
                if max(end for _, end in span) > self.keep:
                    row.append(None)
                    continue
                covered = " ".join(text[a:b] for a, b in span)
                self.pooled.append(covered)
                row.append(self.embed([covered])[0])
            out.append(row)
        vectors = self.embed(texts)
        self.calls, self.texts = counted
        return vectors, out


def _document():
    text = "Ünïcode heading\n\nÉclairs are French. They are filled with crème 😀. Last one ends here."
    body = text.index("Éclairs")
    chunk = Chunk("d#0", "d.txt", "Çafé > Ünïcode", body, len(text), text[body:])
    starts = [body, text.index("They"), text.index("Last")]
    ends = [text.index(" They"), text.index(" Last"), len(text)]
    sentences = [SentenceRow("d.txt", a, b, 0) for a, b in zip(starts, ends)]
    return {"d.txt": text}, [chunk], sentences


def test_a_pooled_span_is_the_mean_of_its_tokens_with_the_special_ones():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(6, 4)).astype(np.float32)
    offsets = [(0, 0), (0, 3), (4, 7), (8, 11), (11, 12), (0, 0)]  # [CLS] abc def ghi . [SEP]
    special = [1, 0, 0, 0, 0, 1]
    [vector, none] = span_pooled(hidden, offsets, special, [((4, 12),), ((20, 25),)])
    expected = hidden[[0, 2, 3, 4, 5]].mean(axis=0)
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-6)
    assert none is None  # no token in it
    [first] = span_pooled(hidden, offsets, special, [((0, 3), (8, 11))])  # two ranges: one mean
    both = hidden[[0, 1, 3, 5]].mean(axis=0)
    assert np.allclose(first, both / np.linalg.norm(both), atol=1e-6)
    assert span_pooled(hidden, offsets, special, [((8, 12),)], kept_to=11) == [None]  # past the kept tokens


def test_real_tokenizer_offsets_pool_exactly_a_sentences_tokens_at_chunk_start_and_end():
    """Unicode (accents, a ligature, an emoji) before, in and after the sentences: the
    tokens pooled for each sentence are its own and the heading's, none of a neighbour's."""
    from tokenizers import Tokenizer

    from ingest.embedders import packaged_minilm_path

    texts, chunks, sentences = _document()
    work = plan(chunks, sentences, texts, {"name": "m", "dimension": 4, "sentence_vectors": "p"})
    text = chunks[0].embed_text
    encoding = Tokenizer.from_file(str(packaged_minilm_path() / "tokenizer.json")).encode(text)
    n = sum(encoding.attention_mask)  # the file pads; the embedder pools the unpadded tokens
    hidden = np.eye(n, dtype=np.float32)  # a token's state names the token
    spans = [work.spans[i] for i in range(1, 4)]
    pooled = span_pooled(hidden, encoding.offsets[:n], encoding.special_tokens_mask[:n], spans)
    words = []
    for vector in pooled:
        chosen = [encoding.tokens[t] for t in np.flatnonzero(vector)]
        words.append(" ".join(chosen))
    assert words[0] == "[CLS] cafe > unicode : ec ##lai ##rs are french . [SEP]"
    assert words[1] == "[CLS] cafe > unicode : they are filled with cr ##eme [UNK] . [SEP]"
    assert words[2] == "[CLS] cafe > unicode : last one ends here . [SEP]"
    for i, s in enumerate(sentences, start=1):  # the span's characters are the sentence's
        (h0, h1), (a, b) = work.spans[i]
        assert text[h0:h1] == "Çafé > Ünïcode:" and text[a:b] == texts["d.txt"][s.start:s.end]


def test_one_pass_per_chunk_with_its_own_keys_and_a_truncated_sentence_alone(tmp_path):
    texts, chunks, sentences = _document()
    model = FakeSpanEmbedder(keep=len(chunks[0].embed_text) - 5)  # the last sentence is cut off
    who = identity(model)
    assert who["sentence_vectors"] == "fake-pool-1" == span_pooling(model)
    work = plan(chunks, sentences, texts, who)
    alone = plan(chunks, sentences, texts, identity(FakeEmbedder()))
    assert work.keys[0] == alone.keys[0]  # a chunk's vector is the same either way
    assert not set(work.keys[1:]) & set(alone.keys[1:])  # pooled sentence vectors never mix
    vectors, embedded, made = embed_missing(work, {}, lambda: model, Reporter(), Spill(tmp_path / "s"))
    assert model.passes == 1 and embedded == 2 and made == 4  # one pass, one sentence alone
    assert model.pooled == ["Çafé > Ünïcode: Éclairs are French.", "Çafé > Ünïcode: They are filled with crème 😀."]
    assert np.allclose(vectors[3], model.embed([work.texts[3]])[0])  # past the pass: embedded alone
    assert work.texts[3] == "Çafé > Ünïcode: Last one ends here."


class CountingSpanEmbedder(FakeSpanEmbedder):
    """The pooling fake that says each text's tokens (its words) and records each call's texts."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]

    def embed_spans(self, texts, spans):
        self.batches.append(list(texts))
        return super().embed_spans(texts, spans)


def _chunks_of_mixed_lengths(count: int):
    """``count`` one-sentence chunks whose word counts go up and down through the corpus."""
    texts, chunks, sentences = {}, [], []
    for i in range(count):
        words = 5 + (i * 37) % 90
        body = " ".join(f"w{i}x{k}" for k in range(words)) + "."
        chunks.append(Chunk(f"d{i}#0", f"d{i}.txt", f"S{i}", 0, len(body), body))
        texts[f"d{i}.txt"] = body
        sentences.append(SentenceRow(f"d{i}.txt", 0, len(body), i))
    return texts, chunks, sentences


def test_ingest_hands_the_embedder_chunks_of_one_length_at_a_time_longest_and_shortest_in_turn(tmp_path):
    """Groups are cut from the chunks sorted by the embedder's token counts, not from
    corpus order, so a call's batches hardly pad; the vectors are the same as in corpus
    order, and the groups alternate long and short so the first rate is an average's."""
    from ingest import embed as embed_module

    texts, chunks, sentences = _chunks_of_mixed_lengths(4 * embed_module.EMBED_GROUP_CHUNKS)
    model = CountingSpanEmbedder()
    work = plan(chunks, sentences, texts, identity(model))
    seen = []
    vectors, embedded, made = embed_missing(work, {}, lambda: model, Reporter(seen.append), Spill(tmp_path / "s"))
    assert embedded == len(chunks) and made == 2 * len(chunks)
    lengths = [[len(t.split()) for t in batch] for batch in model.batches]
    assert [len(b) for b in lengths] == [embed_module.EMBED_GROUP_CHUNKS] * 4
    spans = [(min(b), max(b)) for b in lengths]
    ordered = sorted(spans, reverse=True)
    assert spans == [ordered[0], ordered[3], ordered[1], ordered[2]]  # longest, shortest, ...
    assert all(ordered[k][0] >= ordered[k + 1][1] for k in range(3))  # groups do not overlap in length
    corpus_order = CountingSpanEmbedder()  # one call over everything: the same vectors
    whole, _ = corpus_order.embed_spans([work.texts[c] for c in range(len(chunks))],
                                        [[work.spans[len(chunks) + c]] for c in range(len(chunks))])
    assert np.allclose(vectors[:len(chunks)], whole)
    assert [p.done for p in seen if p.stage == "embedding"] == [k * embed_module.EMBED_GROUP_CHUNKS for k in range(5)]


def test_an_embedder_without_spans_embeds_every_sentence_as_before(tmp_path, fake_embedder):
    texts, chunks, sentences = _document()
    work = plan(chunks, sentences, texts, identity(fake_embedder))
    assert identity(fake_embedder)["sentence_vectors"] == "alone" and span_pooling(fake_embedder) is None
    assert work.keys == [embedding_key("fake-hash", 64, t) for t in work.texts]
    vectors, embedded, made = embed_missing(work, {}, lambda: fake_embedder, Reporter(), Spill(tmp_path / "s"))
    assert embedded == made == fake_embedder.texts == 4
    assert np.allclose(vectors, fake_embedder.embed(work.texts))


def test_an_index_of_sentences_embedded_alone_gets_one_pass_vectors_reusing_its_chunks(settings, monkeypatch):
    """An index built before (sentences embedded alone) is re-made by the one-pass model:
    its chunk vectors are kept, its sentence vectors are not reused."""
    from ingest import ingest, load_index

    before = load_index(settings.index_path)
    model = FakeSpanEmbedder()
    report = ingest(settings, embedder=model)
    assert not report.unchanged and model.passes == report.chunks and model.texts == 0
    assert report.embedded == report.chunks  # one text per chunk, no sentence alone
    after = load_index(settings.index_path)
    assert after.manifest["embedder"]["sentence_vectors"] == "fake-pool-1"
    assert np.allclose(after.chunk_vectors, before.chunk_vectors, atol=1e-3)  # stored as float16
    assert ingest(settings, embedder=model).unchanged


def test_progress_reaches_a_callback_and_lines_off_a_terminal(settings, fake_embedder, seed_corpus):
    from ingest import ingest

    (seed_corpus / "more.txt").write_text("More\n\nA new document about calcium in the skin.\n", "utf-8")
    steps: list[Progress] = []
    ingest(settings, embedder=fake_embedder, progress=steps.append)
    reading = [s for s in steps if s.stage == "reading"]
    embedding = [s for s in steps if s.stage == "embedding"]
    assert [(s.done, s.total) for s in reading] == [(0, 2), (1, 2), (2, 2)]
    assert embedding[0].done == 0 and embedding[-1].done == embedding[-1].total == 1  # only the new chunk
    assert embedding[-1].to_dict()["text"].startswith("Embedding 1 of 1 chunks, ")
    stream = io.StringIO()
    stage = Reporter(True, stream=stream).stage("embedding", 3, "chunks")
    for _ in range(3):
        stage.advance()
    stage.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Embedding 0 of 3 chunks" and lines[-1].startswith("Embedding 3 of 3 chunks, ")


@pytest.mark.parametrize("done,seconds,text", [
    (120, 3.4, "Embedding 120 of 471 chunks, 35/s, 10 s left"),
    (2, 4.0, "Embedding 2 of 471 chunks, 0.5/s, 938 s left"),
    (471, 10.0, "Embedding 471 of 471 chunks, 47/s"),
])
def test_progress_lines(done, seconds, text):
    assert Progress("embedding", done, 471, "chunks", seconds).line() == text


def test_an_upload_being_indexed_shows_how_far_its_ingest_is(app_settings, monkeypatch):
    """``app.upload.upload_progress()`` holds the numbers the page shows while it waits."""
    from app import upload

    seen: list[dict] = []
    ingest = upload.ingest

    def watched(settings, **options):
        report = options["progress"]
        options["progress"] = lambda step: (report(step), seen.append(upload.upload_progress()))
        return ingest(settings, **options)

    monkeypatch.setattr(upload, "ingest", watched)
    upload.add_document(app_settings, "bees.md", b"# Bees\n\nA hive holds ten frames in each box.\n")
    assert seen[0]["bees.md"]["stage"] == "reading"
    last = seen[-1]["bees.md"]
    assert (last["stage"], last["done"], last["total"], last["unit"]) == ("embedding", 1, 1, "chunks")
    assert last["text"].startswith("Embedding 1 of 1 chunks, ") and last["rate"] > 0
    assert upload.upload_progress() == {}  # indexed: nothing in progress
