"""Schemathesis against `/openapi.json` with an editor token: every operation fuzzed, no server error,
every answer as declared."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from service.api.app import create_app

EXAMPLES = 15
"""Per operation: enough to reach every route's error paths, bounded so the run stays a few seconds."""

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

NAMED = {
    "golden sets": ("/api/v1/golden-sets", "/api/v1/golden-sets/{name}", "/api/v1/golden-sets/{name}/diff",
                    "/api/v1/golden-sets/{name}/versions/{version}/cases"),
    "watches": ("/api/v1/watches", "/api/v1/watches/{name}", "/api/v1/watches/{name}/cycles"),
    "runs": ("/api/v1/cycles", "/api/v1/cycles/{cycle_id}", "/api/v1/cycles/{cycle_id}/cases",
             "/api/v1/runs/{run_id}", "/api/v1/watches/{name}/metrics", "/api/v1/runs/{run_id}/compare",
             "/api/v1/runs/{run_id}/rescore", "/api/v1/scorers", "/api/v1/cycles/{cycle_id}/cancel"),
    "drift": ("/api/v1/watches/{name}/drift", "/api/v1/watches/{name}/drift/history",
              "/api/v1/watches/{name}/drift/snapshot", "/api/v1/watches/{name}/drift/report",
              "/api/v1/runs/{run_id}/pin"),
    "recommendations": ("/api/v1/watches/{name}/recommendation", "/api/v1/watches/{name}/recommendations",
                        "/api/v1/cycles/{cycle_id}/advise"),
    "alerts": ("/api/v1/alerts", "/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/retry",
               "/api/v1/watches/{name}/alerts/test"),
}
"""What the schema must cover, by area: the issue's Done-when names them."""


def test_api_follows_its_schema(applied: Path, tokens: dict[str, str], ran: int) -> None:
    app = create_app()
    with TestClient(app) as client:
        served = client.get("/openapi.json").json()
    declared = {(method.upper(), path) for path, item in served["paths"].items() for method in item
                if method in METHODS}
    for area, paths in NAMED.items():
        assert set(paths) <= set(served["paths"]), f"{area}: {set(paths) - set(served['paths'])} not in the schema"

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": tokens["editor"]}
    called: set[tuple[str, str]] = set()
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def follows(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)
            called.add((case.method.upper(), case.operation.path))

        follows()
    assert called == declared
