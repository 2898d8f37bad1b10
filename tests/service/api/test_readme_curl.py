"""The README's curl examples name operations the API serves: each method and path is in /openapi.json,
and every GET among them answers a viewer on the applied watch and its cycle."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from fastapi.testclient import TestClient

README = Path(__file__).resolve().parents[3] / "README.md"
URL = re.compile(r"localhost:8000(/[^\s\"']*)")


def examples() -> list[tuple[str, str]]:
    """(method, path with query) of every curl line in the README that calls the API."""
    found = []
    for line in README.read_text().splitlines():
        if not line.startswith("curl ") or "/api/v1/" not in line:
            continue
        words = shlex.split(line.split(" #")[0].rstrip("\\ "))
        method = words[words.index("-X") + 1] if "-X" in words else "GET"
        match = URL.search(line)
        assert match, line
        found.append((method, match.group(1)))
    return found


def test_every_curl_example_names_an_operation_of_the_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = [
        (method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"))
        for template, item in schema["paths"].items()
        for method in item
    ]
    found = examples()
    assert len(found) >= 30
    for method, path in found:
        bare = path.split("?")[0]
        assert any(method == m and pattern.match(bare) for m, pattern in operations), (method, path)


def test_the_readme_reads_answer_on_the_applied_watch(
    client: TestClient, tokens: dict[str, str], applied: Path, ran: int
) -> None:
    viewer = {"Authorization": tokens["viewer"]}
    for method, path in examples():
        if method != "GET" or path.startswith("/api/v1/tokens") or path.startswith("/api/v1/audit"):
            continue
        # the README's sample ids and hashes are the reader's own: here, the cycle that ran and its runs
        path = re.sub(r"/cycles/\d+", f"/cycles/{ran}", path)
        path = re.sub(r"cycle=\d+", f"cycle={ran}", path)
        path = re.sub(r"/runs/\d+", f"/runs/{_run_of(client, viewer, ran)}", path)
        path = re.sub(r"against=\d+", f"against={_run_of(client, viewer, ran)}", path)  # a run against itself
        path = re.sub(r"base=[0-9a-f]+", "base=current", path)
        answer = client.get(path, headers=viewer)
        # a watch's first cycle has no reference run to compare with, so no Evidently report yet
        expected = 404 if "/drift/snapshot" in path or "/drift/report" in path else 200
        assert answer.status_code == expected, (path, answer.status_code, answer.text)


def _run_of(client: TestClient, headers: dict[str, str], cycle_id: int) -> int:
    return int(client.get(f"/api/v1/cycles/{cycle_id}", headers=headers).json()["runs"][0]["run_id"])
