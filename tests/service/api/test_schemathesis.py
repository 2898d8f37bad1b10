"""Schemathesis against `/openapi.json` with an editor token: no server error, every answer as declared."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from service.api.app import create_app

EXAMPLES = 15
"""Per operation: enough to reach every route's error paths, bounded so the run stays a few seconds."""


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_api_follows_its_schema(applied: Path, tokens: dict[str, str], ran: int) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    headers = {"Authorization": tokens["editor"]}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def follows(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        follows()
