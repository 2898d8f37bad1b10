"""The dashboard app on the test database, and a signed-in client per role."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.storage import access
from service.storage.db import session_scope
from service.web.app import create_app


@pytest.fixture
def web(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


@pytest.fixture
def secrets(database_url: str) -> dict[str, str]:
    """An API token per role: role → token."""
    with session_scope() as session:
        return {role: access.create_token(session, role=role, name=f"{role}-web").token for role in access.ROLES}


def sign_in(client: TestClient, token: str) -> None:
    answer = client.post("/login", data={"token": token, "next": "/"})
    assert answer.status_code == 303, answer.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)
