"""``GET /api/document``: the source viewer's whole cleaned document, looked up by name in
the served index (in-process app through the real Guard, on the fake-embedder index)."""

from __future__ import annotations

import pytest
from conftest import GOLD, SEED, client_for

from ingest import load_index


def test_the_whole_document_with_its_sections(app_settings):
    with client_for(app_settings) as client:
        response = client.get("/api/document", params={"source": SEED.name})
    assert response.status_code == 200
    body = response.json()
    text = load_index(app_settings.index_path).documents[SEED.name]
    assert body["source"] == SEED.name and body["text"] == text and body["title"] == "Calcinosis Cutis"
    assert body["pages"] == [] and GOLD in body["text"]
    sections = {" > ".join(s["path"]): s for s in body["sections"]}
    metastatic = sections["Classification > Metastatic calcinosis cutis"]
    assert text[metastatic["start"]:].startswith("Metastatic calcinosis cutis\n")  # the heading line
    assert GOLD in text[metastatic["start"]:metastatic["end"]]
    assert [s["start"] for s in body["sections"]] == sorted(s["start"] for s in body["sections"])


@pytest.mark.parametrize("name", ["nope.txt", "../corpus/calcinosis_cutis.txt", "/etc/passwd", ""])
def test_an_unknown_name_is_a_404_and_no_file_is_read(app_settings, name):
    with client_for(app_settings) as client:
        response = client.get("/api/document", params={"source": name})
    assert response.status_code == 404 and response.json() == {"error": "no document of that name in the index"}


def test_the_source_parameter_is_required(app_settings):
    with client_for(app_settings) as client:
        response = client.get("/api/document")
    assert response.status_code == 422 and "source" in response.json()["error"]


def test_the_token_is_required_when_set(app_settings):
    with client_for(app_settings, api_token="s3cret") as client:
        assert client.get("/api/document", params={"source": SEED.name}).status_code == 401
        good = client.get("/api/document", params={"source": SEED.name},
                          headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200 and good.json()["source"] == SEED.name


def test_no_index_is_a_503_that_says_what_to_run(tmp_path):
    from core.settings import load_settings

    settings = load_settings(environ={}, home=tmp_path / "empty", corpus_dir=tmp_path)
    with client_for(settings) as client:
        response = client.get("/api/document", params={"source": SEED.name})
    assert response.status_code == 503 and "sourceqa ingest" in response.json()["error"]


def test_pages_are_sent_for_a_paged_document():
    from types import SimpleNamespace

    from app.documents import documents_of
    from core.types import Chunk

    index = SimpleNamespace(documents={"a.pdf": "Title\n\nBody one. Body two."},
                            page_starts={"a.pdf": (0, 12)}.get,
                            chunks=[Chunk("c", "a.pdf", "Title", 7, 26, "Body one. Body two.")])
    document = documents_of(index)["a.pdf"].to_dict()
    assert document["pages"] == [0, 12] and document["sections"] == [{"path": ["Title"], "start": 0, "end": 26}]
