"""Dependencies of the routes, as `Annotated` aliases: a session, the caller's token, its role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from service.storage import access
from service.storage.access import AccessRole
from service.storage.db import session_scope
from service.storage.listing import MAX_ID
from service.storage.tables import ApiTokenRow


def get_session() -> Iterator[Session]:
    """One session per request; it commits when the route returns (routes that write commit themselves,
    so that a failed commit is the client's answer, not a log line after it)."""
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="An API token from `turnout token create`.")


def current_token(session: SessionDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiTokenRow:
    """The live token the request carries as `Authorization: Bearer …`; 401 without one."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "send an API token as 'Authorization: Bearer <token>' "
                            "(`turnout token create --role viewer` makes one)", headers=challenge)
    row = access.authenticate(session, token=credentials.credentials)
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the API token is unknown or was revoked",
                            headers=challenge)
    return row


CurrentToken = Annotated[ApiTokenRow, Depends(current_token)]


def require(role: AccessRole) -> Callable[[ApiTokenRow], Awaitable[ApiTokenRow]]:
    """A dependency that lets through tokens whose role is at least *role*, and answers 403 to others."""

    async def check(token: CurrentToken) -> ApiTokenRow:  # no I/O: run on the loop, not in a thread
        if not access.role_allows(token.role, needed=role):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"token '{token.name}' has role {token.role}; this needs {role} or above")
        return token

    return check


ViewerToken = Annotated[ApiTokenRow, Depends(require("viewer"))]
EditorToken = Annotated[ApiTokenRow, Depends(require("editor"))]
AdminToken = Annotated[ApiTokenRow, Depends(require("admin"))]


RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
"""An id in a path, within the range of the id columns."""
Cursor = Annotated[int | None, Query(ge=1, le=MAX_ID, description="`next_cursor` of the previous page")]
"""An id cursor of a newest-first list."""
