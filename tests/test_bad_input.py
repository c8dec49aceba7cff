"""Bad input through the Python API and the CLI: a clear error or an abstention, never a
traceback and never a wrong answer. (The HTTP API's side is in test_http_api.py.)"""

from __future__ import annotations

import logging
import os
import re

import pytest
from conftest import GOLD, QUESTION

from app.cli import main
from core.settings import SettingsError, load_settings
from ingest import CorpusError, ingest, load_index
from qa import InvalidQuestion, ask


@pytest.mark.parametrize("question, says", [
    ("", "empty"), ("   \n\t  ", "empty"), ("\x00\x00", "empty"), ("?!?...", "no words"),
    ("\U0001F642\U0001F642\U0001F642", "no words"), ("x" * 100_000, "too long"), ("x" * 1001, "too long"),
    (None, "must be text"), (42, "must be text"), (b"bytes?", "must be text"), (["a"], "must be text"),
])
def test_invalid_questions_raise_value_error_with_a_reason(settings, fake_embedder, question, says):
    with pytest.raises(InvalidQuestion, match=says) as caught:
        ask(question, llm="extractive", settings=settings, embedder=fake_embedder)
    assert isinstance(caught.value, ValueError)


def test_the_length_limit_is_a_documented_setting(settings, fake_embedder):
    assert "Longest question" in type(settings).model_fields["max_question_chars"].description
    longer = settings.model_copy(update={"max_question_chars": 5000})
    answer = ask(QUESTION + " " + "please " * 500, llm="extractive", settings=longer, embedder=fake_embedder)
    assert answer.abstained or GOLD in answer.text


def test_control_characters_and_nul_bytes_are_removed(settings, fake_embedder):
    answer = ask("What is the most\x00 frequent\x07 cause of\x1b[31m metastatic calcinosis cutis?\r\n",
                 llm="extractive", settings=settings, embedder=fake_embedder)
    assert GOLD in answer.text and "\x00" not in answer.question and "\x1b" not in answer.question


@pytest.mark.parametrize("question", [
    "What is the most frequent cause of metastatic calcinosis cutis? 🙂🙂",
    "Каковы причины calcinosis cutis? 什么是钙质沉着症？",
    "ما هو calcinosis cutis؟",
    "ｗｈａｔ　ｉｓ　ｃａｌｃｉｎｏｓｉｓ　ｃｕｔｉｓ？",  # full-width forms, folded by NFKC
])
def test_mixed_scripts_and_emoji_answer_or_abstain(settings, fake_embedder, question):
    answer = ask(question, llm="extractive", settings=settings, embedder=fake_embedder)
    text = load_index(settings.index_path).documents["calcinosis_cutis.txt"]
    assert answer.abstained or all(text[c.start:c.end] == c.quote for c in answer.citations)


@pytest.mark.parametrize("argv, says", [
    (["ask", "--llm", "extractive", ""], "empty"),
    (["ask", "--llm", "extractive", "?!"], "no words"),
    (["ask", "--llm", "extractive", "x" * 100_000], "too long"),
    (["ask", "--llm", "no-such-backend", QUESTION], "unknown"),
    (["ask", "--llm", "gguf:/no/such/model.gguf", QUESTION], "no readable GGUF model file"),
    (["ask", "--top-k", "0", "--llm", "extractive", QUESTION], "top_k"),
])
def test_cli_errors_are_one_clear_line(settings, monkeypatch, capsys, argv, says):
    monkeypatch.setenv("SOURCEQA_HOME", str(settings.home))
    monkeypatch.setenv("SOURCEQA_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("SOURCEQA_EMBEDDER", "st:/nonexistent")  # errors must come before any model load
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("sourceqa: error:") and says in error and "Traceback" not in error


def test_unknown_setting_in_the_environment_names_the_known_ones(monkeypatch, capsys):
    monkeypatch.setenv("SOURCEQA_TOPK", "3")
    assert main(["ask", "--llm", "extractive", QUESTION]) == 2
    error = capsys.readouterr().err
    assert "unknown setting SOURCEQA_TOPK" in error and "SOURCEQA_TOP_K" in error


def test_invalid_setting_values_say_which_and_why():
    with pytest.raises(SettingsError, match="top_k"):
        load_settings(environ={"SOURCEQA_TOP_K": "lots"})
    with pytest.raises(SettingsError, match="port"):
        load_settings(environ={"SOURCEQA_PORT": "99999"})


def test_a_file_that_is_not_gguf_says_so(settings, fake_embedder, tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(ValueError, match="no readable GGUF model file"):
        ask(QUESTION, llm=f"gguf:{fake}", settings=settings, embedder=fake_embedder)


def test_an_unreachable_openai_endpoint_names_the_setting(settings, fake_embedder):
    unreachable = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:9/v1", "llm_timeout": 5})
    answer = ask(QUESTION, llm="openai", settings=unreachable, embedder=fake_embedder)
    assert "openai backend failed" in answer.note and "127.0.0.1:9" in answer.note
    assert "openai_base_url" in answer.note
    assert GOLD in answer.text  # the source sentences, with that note


# -- corpus problems ------------------------------------------------------------------
def corpus_settings(tmp_path, corpus, **changes):
    return load_settings(environ={}, home=tmp_path / "home", corpus_dir=corpus, **{"judge": "fake", **changes})


def test_empty_corpus_folder_says_what_to_put_where(tmp_path, fake_embedder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"no readable documents in .*empty; put UTF-8 \.txt, \.md or \.html"):
        ingest(corpus_settings(tmp_path, tmp_path / "empty"), embedder=fake_embedder)
    with pytest.raises(CorpusError, match="does not exist"):
        ingest(corpus_settings(tmp_path, tmp_path / "missing"), embedder=fake_embedder)


def test_unreadable_files_are_skipped_and_named(seed_corpus, tmp_path, fake_embedder, caplog):
    (seed_corpus / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (seed_corpus / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with caplog.at_level(logging.WARNING):
        report = ingest(corpus_settings(tmp_path, seed_corpus), embedder=fake_embedder)
    assert report.documents == 1
    assert "latin1.txt: not UTF-8" in caplog.text and "image.md: binary content" in caplog.text


def test_duplicate_documents_are_indexed_once(seed_corpus, tmp_path, fake_embedder, caplog):
    (seed_corpus / "copy").mkdir()
    (seed_corpus / "copy" / "again.txt").write_bytes((seed_corpus / "calcinosis_cutis.txt").read_bytes())
    with caplog.at_level(logging.WARNING):
        report = ingest(corpus_settings(tmp_path, seed_corpus), embedder=fake_embedder)
    assert report.documents == 1 and report.chunks == 17 and "same content as" in caplog.text


def test_symlink_loops_do_not_hang_the_walk(seed_corpus, tmp_path, fake_embedder):
    os.symlink(seed_corpus, seed_corpus / "loop")
    os.symlink(seed_corpus / "nowhere", seed_corpus / "dangling.txt")
    report = ingest(corpus_settings(tmp_path, seed_corpus), embedder=fake_embedder)
    assert report.documents == 1


def test_a_large_file_ingests_with_progress_and_an_oversized_one_is_skipped(tmp_path, fake_embedder,
                                                                             capsys, caplog):
    corpus = tmp_path / "big"
    corpus.mkdir()
    paragraph = "Calcium deposits form hard white nodules in the skin of the patient. " * 8
    (corpus / "large.txt").write_text("Large\n\n" + "\n\n".join([paragraph] * 2500))  # about 1.4 MB
    (corpus / "huge.txt").write_text("Huge\n\n" + "word " * 500_000)  # 2.5 MB
    with caplog.at_level(logging.WARNING):
        report = ingest(corpus_settings(tmp_path, corpus, max_document_mb=2), embedder=fake_embedder,
                        progress=True)
    assert report.documents == 1 and report.chunks >= 2500
    assert "huge.txt: 2.5 MB is over the max_document_mb setting" in caplog.text
    err = capsys.readouterr().err  # the progress lines (off a terminal): determinate, of the total
    # (2,500 identical paragraphs are one text to embed: the total is what is embedded)
    assert re.search(r"Reading \d+ of 2 files", err) and re.search(r"Embedding (\d+) of \1 chunks", err), err[-500:]
