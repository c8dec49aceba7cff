"""A property-based attack on the HTTP API from its own OpenAPI schema (schemathesis).

Every operation in ``/api/openapi.json`` gets generated requests, valid and invalid,
through the whole app (Guard, routes, API, mounted chat) on the seed corpus with the fake
embedder and judge. Each response must be no 5xx, carry a documented status and content
type, and match its documented schema. Bounded to about a minute on 2 cores
(``SCHEMATHESIS_EXAMPLES`` valid and as many invalid examples per operation, derandomised
so a failure repeats). Invalid data must be refused with a 4xx.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "250"))


@pytest.fixture
def api_app(settings_for_app):
    from app.serve import create_app

    return create_app(settings_for_app)


@pytest.fixture
def settings_for_app(settings, fake_embedder, monkeypatch):
    from ingest import embedders

    monkeypatch.setitem(embedders._cache, fake_embedder.name, fake_embedder)
    return settings.model_copy(update={"embedder": fake_embedder.name, "llm": "extractive",
                                       "allowed_hosts": ("testserver",)})


@schemathesis.check
def invalid_data_is_refused(ctx, response, case):
    """Schemathesis's negative_data_rejection, with a 413 (refused for its size before it is
    parsed, a documented status) counted as the refusal it is."""
    from schemathesis.specs.openapi.checks import negative_data_rejection

    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


def test_every_operation_survives_generated_requests(api_app):
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation.modes import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /api/ask", "POST /api/stream", "POST /api/feedback", "GET /healthz"}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance, invalid_data_is_refused]
    calls = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def attack(case):
                nonlocal calls
                calls += 1
                case.call_and_validate(checks=checks)

            try:
                attack()
            except Unsatisfiable:  # an operation without parameters has no invalid form
                assert mode == GenerationMode.NEGATIVE
    print(f"schemathesis: {calls} generated requests over {len(operations)} operations")
    assert calls >= len(operations) * 10
