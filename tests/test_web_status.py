"""The chat's status line names the backend that answered the latest question."""

from __future__ import annotations

from app.web import ChatSession
from qa import ask


def test_the_status_line_follows_the_backend_of_the_latest_answer(settings, fake_embedder):
    settings = settings.model_copy(update={"embedder": fake_embedder.name})
    session = ChatSession(settings.model_copy(update={"llm": "local"}))
    assert "backend: local" in session.status()
    assert "backend: local" in session.status([])
    answer = ask("What is the most frequent cause of metastatic calcinosis cutis?", llm="extractive",
                 settings=settings, embedder=fake_embedder)
    turns = [{"question": answer.question, "answer": answer.to_dict("record")}]
    line = session.status(turns)
    assert "backend: extractive (last answer)" in line and "17 chunks" in line
    turns[-1]["answer"]["llm"], turns[-1]["answer"]["note"] = "local", "The local answer could not be verified"
    assert "backend: local (last answer; source sentences shown)" in session.status(turns)
    assert "backend: local" in session.status([{"answer": "not a record"}])  # what a browser sent back
