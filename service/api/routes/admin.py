"""What only an admin may do: manage tokens and read the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import AdminToken, Cursor, RowId, SessionDep
from service.api.errors import problem_responses
from service.storage import access
from service.storage.access import AccessRole, AuditPublic, NewTokenPublic, TokenPublic, TokensPublic
from service.storage.listing import MAX_PAGE

router = APIRouter(responses=problem_responses(401, 403, 422, 503))


class TokenCreate(BaseModel):
    """A token to make."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: AccessRole
    name: str | None = Field(default=None, min_length=1, max_length=200)


@router.get("/tokens", response_model=TokensPublic, tags=["tokens"])
def list_tokens(session: SessionDep, _: AdminToken) -> TokensPublic:
    """Every token, revoked ones included; never the secrets."""
    return access.list_tokens(session)


@router.post("/tokens", response_model=NewTokenPublic, status_code=status.HTTP_201_CREATED, tags=["tokens"])
def create_token(session: SessionDep, token: AdminToken, body: TokenCreate) -> NewTokenPublic:
    """Make a token; the answer holds the secret, shown this once."""
    created = access.create_token(session, role=body.role, name=body.name, actor=token.name, actor_token_id=token.id)
    session.commit()
    return created


@router.delete("/tokens/{token_id}", response_model=TokenPublic, tags=["tokens"], responses=problem_responses(404))
def revoke_token(session: SessionDep, token: AdminToken, token_id: RowId) -> TokenPublic:
    """Revoke a token; it stops working at once."""
    revoked = access.revoke_token(session, token_id=token_id, actor=token.name, actor_token_id=token.id)
    session.commit()
    return revoked


@router.get("/audit", response_model=AuditPublic, tags=["audit"])
def audit(session: SessionDep, _: AdminToken,
          limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
          cursor: Cursor = None,
          ) -> AuditPublic:
    """Every write through the API and the token commands: who, what, when; newest first."""
    return access.audit_log(session, limit=limit, before=cursor)
