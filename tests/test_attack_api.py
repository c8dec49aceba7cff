"""The attack run's Python API findings (issue 13, items 1 and 12): bad arguments of any
type are a clear ValueError, and a backend that fails at once still falls back."""

from __future__ import annotations

import pytest
from conftest import GOLD, QUESTION

from qa import ask, stream
from qa.llms import check_gguf
from qa.question import InvalidQuestion


@pytest.mark.parametrize("llm", [123, b"local", object(), 4.5, ["local"]])
def test_an_llm_of_the_wrong_type_is_a_value_error(settings, fake_embedder, llm):
    with pytest.raises(ValueError, match="llm must be"):
        ask(QUESTION, llm=llm, settings=settings, embedder=fake_embedder)


@pytest.mark.parametrize("history", [(q for q in ["What is it?"]), {"a": "b"}, 7, "What is it?", b"x"])
def test_a_history_of_the_wrong_type_is_an_invalid_question(settings, fake_embedder, history):
    with pytest.raises(InvalidQuestion, match="history"):
        ask(QUESTION, llm="extractive", history=history, settings=settings, embedder=fake_embedder)


@pytest.mark.parametrize("history", [[None], [3], ["ok", ""]])
def test_a_history_with_a_bad_turn_is_an_invalid_question(settings, fake_embedder, history):
    with pytest.raises(InvalidQuestion):
        ask(QUESTION, llm="extractive", history=history, settings=settings, embedder=fake_embedder)


@pytest.mark.parametrize("argument", [{"settings": "home"}, {"embedder": "minilm"}, {"judge": 1}])
def test_other_arguments_of_the_wrong_type_are_value_errors(settings, fake_embedder, argument):
    with pytest.raises(ValueError):
        ask(QUESTION, llm="extractive", **{"settings": settings, "embedder": fake_embedder, **argument})


class FailsAtOnce:
    """A backend whose stream() raises before it yields anything (not a generator function)."""

    name = "fails-at-once"

    def stream(self, messages):
        raise RuntimeError("connection refused")


class FailsHalfway:
    name = "fails-halfway"

    def stream(self, messages):
        yield "Chronic renal"
        raise RuntimeError("connection reset")


@pytest.mark.parametrize("backend", [FailsAtOnce(), FailsHalfway()])
def test_a_failing_backend_always_falls_back_to_the_source(settings, fake_embedder, backend):
    answer = ask(QUESTION, llm=backend, settings=settings, embedder=fake_embedder)
    assert not answer.abstained and GOLD in answer.text
    assert backend.name in answer.note and "failed" in answer.note
    final = stream(QUESTION, llm=backend, settings=settings, embedder=fake_embedder).answer
    assert GOLD in final.text


def test_gguf_errors_do_not_tell_which_files_exist(tmp_path):
    (tmp_path / "text.gguf").write_text("hello")
    (tmp_path / "folder.gguf").mkdir()
    messages = []
    for path in (tmp_path / "missing.gguf", tmp_path / "text.gguf", tmp_path / "folder.gguf",
                 tmp_path / ("a" * 5000)):
        with pytest.raises(ValueError) as error:
            check_gguf(path)
        messages.append(str(error.value).replace(str(path)[:200], "PATH").replace("...", ""))
    assert len(set(messages)) == 1 and "exist" not in messages[0]
