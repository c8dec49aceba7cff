from __future__ import annotations

from conftest import SEED

from core.text import split_sentences
from ingest.chunk import chunk_document
from ingest.clean import clean_page

DOCUMENT = clean_page(SEED.read_text(encoding="utf-8"), "calcinosis_cutis.txt")


def test_every_chunk_round_trips_its_offsets_and_has_a_heading_path():
    chunks = chunk_document(DOCUMENT)
    assert len(chunks) >= 15
    for chunk in chunks:
        assert DOCUMENT.text[chunk.start:chunk.end] == chunk.text
        assert chunk.section and chunk.text.strip() == chunk.text


def test_no_chunk_crosses_a_section():
    for chunk in chunk_document(DOCUMENT, max_words=40):
        sections = [s for s in DOCUMENT.sections if s.body_start <= chunk.start and chunk.end <= s.end]
        assert len(sections) == 1 and sections[0].heading == chunk.section


def test_small_chunks_break_at_sentences_and_respect_the_size():
    chunks = chunk_document(DOCUMENT, max_words=40)
    for chunk in chunks:
        sentences = split_sentences(chunk.text)
        # a chunk is whole sentences: it starts and ends where sentences do
        assert chunk.text.startswith(sentences[0].text) and chunk.text.endswith(sentences[-1].text)
        assert len(chunk.text.split()) <= 40 or len(sentences) == 1


def test_metastatic_section_is_one_chunk_at_default_size():
    chunks = [c for c in chunk_document(DOCUMENT) if c.section == "Classification > Metastatic calcinosis cutis"]
    assert len(chunks) == 1 and chunks[0].text.endswith("Chronic renal failure is the most frequent underlying cause.")


def test_sentence_offsets_round_trip():
    text = DOCUMENT.text
    for sentence in split_sentences(text):
        assert text[sentence.start:sentence.end] == sentence.text
