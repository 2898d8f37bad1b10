"""The real app on the test database, tokens of each role, and a cycle replayed against local peers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage import access
from service.storage.db import session_scope


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def tokens(database_url: str) -> dict[str, str]:
    """A live token per role: role → `Authorization` header value."""
    made = {}
    with session_scope() as session:
        for role in access.ROLES:
            made[role] = "Bearer " + access.create_token(session, role=role, name=f"{role}-test").token
    return made
