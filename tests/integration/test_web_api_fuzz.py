"""Schema-driven fuzz of the session API: generated valid and invalid requests, none may get a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from support.stack import WebServer

EXAMPLES_PER_OPERATION_AND_MODE = 100
MIN_REQUESTS = 500


def test_generated_requests_never_get_a_server_error(launch_web_server) -> None:
    web: WebServer = launch_web_server("web-fuzz", "no-such-agent")
    schema = schemathesis.openapi.from_url(f"{web.url}/openapi.json")
    statuses: list[tuple[str, int]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call(base_url=web.url, timeout=20)
                statuses.append((operation.label, response.status_code))
                assert response.status_code < 500, f"{case.as_curl_command()} → {response.status_code} {response.text}"

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"
                # an operation without parameters (GET /healthz) has no invalid request to make
    assert len(statuses) >= MIN_REQUESTS, f"only {len(statuses)} requests were generated"
    assert {label for label, _ in statuses} >= {
        "POST /api/sessions",
        "DELETE /api/sessions/{session_id}",
        "POST /api/token",
        "POST /api/avatars",
        "DELETE /api/avatars/{avatar_id}",
        "GET /api/avatars/{avatar_id}/preview",
    }
