"""The README quick start and the CLI, run for real."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO

from app.cli import main
from ingest import load_index

pytestmark = pytest.mark.real


def readme_python() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.search(r"```python\n(.*?)```", text, re.DOTALL).group(1)


def test_readme_quick_start_runs_and_prints_what_it_says(monkeypatch, capsys, real_settings):
    monkeypatch.setenv("SOURCEQA_HOME", str(real_settings.home))
    namespace: dict = {}
    exec(compile(readme_python(), "README.md", "exec"), namespace)  # noqa: S102 - our own README
    answer = namespace["answer"]
    promised = re.search(r'print\(answer.text\)\s+# "(.*?)"', readme_python()).group(1)
    assert answer.text == promised
    assert not answer.abstained
    citation = namespace["citation"]
    documents = load_index(real_settings.index_path).documents
    assert documents[citation.source][citation.start:citation.end] == citation.quote
    response = namespace["stream"]("Who gets tumoral calcinosis?", llm="extractive")
    sentences = list(response)
    assert [s.text for s in sentences] == [text for text, _ in response.answer.sentences]
    assert isinstance(response.answer, type(answer))
    assert capsys.readouterr().out


def test_cli_ask_json_and_text(monkeypatch, capsys, real_settings):
    monkeypatch.setenv("SOURCEQA_HOME", str(real_settings.home))
    assert main(["ask", "--llm", "extractive", "--json",
                 "What is the most frequent cause of metastatic calcinosis cutis?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["abstained"] is False
    assert any(c["quote"].startswith("Chronic renal failure") for c in data["citations"])
    assert main(["ask", "--llm", "extractive", "Which gene mutation causes tumoral calcinosis?"]) == 0
    assert capsys.readouterr().out.startswith("Not in the source. The source does not answer this question.")


def test_cli_errors_are_clear_not_tracebacks(monkeypatch, capsys, tmp_path):
    assert main(["ask", "--llm", "extractive", "   "]) == 2
    assert "question is empty" in capsys.readouterr().err
    assert main(["ingest", "--corpus", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv("SOURCEQA_NO_SUCH", "1")
    assert main(["ask", "--llm", "extractive", "hi"]) == 2
    assert "unknown setting SOURCEQA_NO_SUCH" in capsys.readouterr().err


def test_cli_ingest_prints_a_summary(monkeypatch, capsys, tmp_path):
    assert main(["ingest", "--index", str(tmp_path / "index")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"1 documents, \d+ sections, \d+ chunks, 30 previews removed", out)
    assert main(["ingest", "--index", str(tmp_path / "index")]) == 0
    assert "corpus unchanged, nothing re-embedded" in capsys.readouterr().out


def test_gguf_backend_errors_say_what_to_fix(real_settings, real_embedder, tmp_path):
    from qa import ask

    with pytest.raises(ValueError, match="no readable GGUF model file"):
        ask("What is osteoma cutis?", llm=f"gguf:{tmp_path}/none.gguf", settings=real_settings, embedder=real_embedder)
    (tmp_path / "fake.gguf").write_text("not a model")
    with pytest.raises(ValueError, match="no readable GGUF model file"):
        ask("What is osteoma cutis?", llm=f"gguf:{tmp_path}/fake.gguf", settings=real_settings, embedder=real_embedder)
