"""`turnout token create|list|revoke` as an operator runs them, on the real database, and what the
API makes of the tokens they print. The first test runs `turnout` as a process of its own; the others
call its entry point (`service.cli.main.main`), which is what the console script runs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.api.app import create_app
from service.cli.main import main
from service.storage.db import get_engine


def process(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """`turnout ARGS` as a process of its own."""
    return subprocess.run([sys.executable, "-m", "service.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "TURNOUT_DATABASE_URL": database_url}, timeout=120)


@pytest.fixture
def turnout(database_url: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """`turnout ARGS` through the console script's entry point, in this process."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def checked_token(made: Ran | subprocess.CompletedProcess[str]) -> str:
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tnt_"), made.stdout  # stdout: the token alone, for scripts
    assert lines[0] not in made.stderr and "shown only now" in made.stderr
    return lines[0]


def create(turnout: Callable[..., Ran], role: str, name: str) -> str:
    return checked_token(turnout("token", "create", "--role", role, "--name", name))


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def every_stored_text() -> str:
    """Every value of every row of the token and audit tables, as text."""
    with get_engine().connect() as connection:
        rows = [*connection.execute(text("SELECT * FROM api_token")), *connection.execute(text("SELECT * FROM audit"))]
    return "\n".join(str(value) for row in rows for value in row)


def test_a_token_is_printed_once_and_only_its_hash_is_stored(database_url: str, client: TestClient,
                                                             turnout: Callable[..., Ran]) -> None:
    token = checked_token(process("token", "create", "--role", "viewer", "--name", "grafana",
                                  database_url=database_url))
    stored = every_stored_text()
    assert token not in stored and token[10:] not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    listed = turnout("token", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "grafana" in line)
    assert "viewer" in row and "active" in row and token[:10] in row and token not in listed.stdout
    # the API takes it, and it shows as used
    assert client.get("/api/v1/watches", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert "never used" not in next(line for line in turnout("token", "list")
                                    .stdout.splitlines() if "grafana" in line)


def test_a_revoked_token_is_refused_by_the_api(client: TestClient, turnout: Callable[..., Ran]) -> None:
    token = create(turnout, "editor", "ci")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/watches", headers=headers).status_code == 200
    token_id = next(line.split()[0] for line in turnout("token", "list").stdout
                    .splitlines() if " ci " in line)
    revoked = turnout("token", "revoke", token_id)
    assert revoked.returncode == 0 and f"token {token_id} 'ci' revoked" in revoked.stdout, revoked.stderr
    refused = client.get("/api/v1/watches", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    row = next(line for line in turnout("token", "list").stdout.splitlines()
               if " ci " in line)
    assert "revoked" in row
    # revoking again changes nothing; an unknown id is an error naming what to do
    assert turnout("token", "revoke", token_id).returncode == 0
    unknown = turnout("token", "revoke", "99999")
    assert unknown.returncode == 1 and "turnout token list" in unknown.stderr


def test_cli_tokens_keep_their_role_boundaries(client: TestClient, applied: Path,
                                               turnout: Callable[..., Ran]) -> None:
    made = {role: {"Authorization": "Bearer " + create(turnout, role, f"{role}-cli")}
            for role in ("viewer", "editor", "admin")}
    watch = {"golden_set": "qa", "production": "prod", "scorers": ["exact_match"]}
    model = {"model": "m", "base_url": "http://127.0.0.1:1/v1", "hosting": "self_hosted"}
    for role, headers in made.items():
        assert client.get("/api/v1/watches", headers=headers).status_code == 200
        wrote = client.put("/api/v1/watches/w-" + role, json=watch, headers=headers).status_code
        assert wrote == (403 if role == "viewer" else 200), role
        modelled = client.put("/api/v1/models/m-" + role, json=model, headers=headers).status_code
        assert modelled == (200 if role == "admin" else 403), role
        tokens = client.get("/api/v1/tokens", headers=headers).status_code
        assert tokens == (200 if role == "admin" else 403), role


def test_a_bad_role_is_a_usage_error_and_nothing_is_made(turnout: Callable[..., Ran]) -> None:
    refused = turnout("token", "create", "--role", "root")
    assert refused.returncode == 2 and "invalid choice: 'root'" in refused.stderr
    assert refused.stdout == ""
    listed = turnout("token", "list")
    assert listed.stdout == "" and "turnout token create --role admin" in listed.stderr
