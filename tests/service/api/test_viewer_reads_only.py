"""A viewer token reads and cannot write, on every operation the schema declares (not a list kept by hand);
tokens and the audit log are not a viewer's to read either."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

READS = {"get", "head"}
WRITES = {"put", "post", "delete", "patch"}
ADMIN_READS = {"/api/v1/tokens", "/api/v1/audit"}
"""Reads for admins only (README: admins manage tokens and read the audit log)."""


def test_a_viewer_token_is_let_through_every_read_and_refused_every_write(
    client: TestClient, tokens: dict[str, str], applied: Path, ran: int
) -> None:
    schema = client.get("/openapi.json").json()
    viewer = {"Authorization": tokens["viewer"]}
    audit_before = client.get("/api/v1/audit", headers={"Authorization": tokens["admin"]}).json()
    reads = writes = 0
    for template, item in schema["paths"].items():
        # every path parameter names something that exists: the applied watch, golden set and model, the cycle
        path = re.sub(r"\{[^}]*_id\}", str(ran), template)
        path = path.replace(
            "{name}", "qa-watch" if "/watches/" in template else "qa" if "/golden-sets/" in template else "prod"
        ).replace("{version}", "current")
        for method in item:
            if method in READS and template not in ADMIN_READS:
                answer = client.request(method, path, headers=viewer)
                assert answer.status_code not in (401, 403) and answer.status_code < 500, (method, path, answer.text)
                reads += 1
            elif method in WRITES or method in READS:
                answer = client.request(method, path, headers=viewer)
                assert answer.status_code == 403, (method, path, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
                writes += 1
    assert reads and writes
    # and nothing was written: the audit log, which records every write, is as it was
    assert client.get("/api/v1/audit", headers={"Authorization": tokens["admin"]}).json() == audit_before
