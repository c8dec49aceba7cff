"""The chat's status line names the backend that answered the latest question."""

from __future__ import annotations

from app.web import ChatSession
from qa import ask


def test_the_status_line_follows_the_backend_of_the_latest_answer(settings, fake_embedder, monkeypatch):
    from app import web

    monkeypatch.setattr(web, "_took", {})  # no answer of this server yet says how long it took
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


def test_the_status_line_says_how_slow_the_last_answer_of_a_backend_was(settings, fake_embedder, app_settings,
                                                                         monkeypatch):
    """A backend that runs into llm_timeout on this machine says so (issue 28): the chat's
    own answer records how long it took, and the backend choice says how slow a model may be."""
    from app import web

    monkeypatch.setattr(web, "_took", {})
    session = ChatSession(app_settings.model_copy(update={"llm_timeout": 20.0}))
    for _ in session.respond("What is the most frequent cause of metastatic calcinosis cutis?", [], [],
                             "extractive", 5, ""):
        pass
    assert 0 < web._took["extractive"] < 20
    turns = [{"answer": {"llm": "extractive", "note": "", "abstained": False}}]
    assert " s here)" in session.status(turns) and "past the" not in session.status(turns)
    web._took["local"] = 20.4
    turns = [{"answer": {"llm": "local", "note": "The local answer timed out", "abstained": False}}]
    assert "local (last answer; 20.4 s here, past the 20 s limit; source sentences shown)" in session.status(turns)
    assert "20 s" in web.backend_info(session.settings)
