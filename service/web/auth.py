"""Signing in with an API token: the session cookie, the CSRF token of forms, and roles as in the API.

The cookie holds the API token itself (HttpOnly, SameSite=Lax, Secure over HTTPS), so a revoked
token signs its sessions out at once and no session table is needed. The CSRF token of a session is
an HMAC of its token: a page of another site can neither read the cookie nor compute the token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request

from service.api.deps import SessionDep
from service.storage import access
from service.storage.access import AccessRole

COOKIE = "turnout_session"
COOKIE_MAX_AGE_S = 12 * 3600
"""A session lasts a working day; signing in again is one paste of the token."""


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in with an API token")
        self.next_path = next_path


class Forbidden(Exception):
    """The session's role may not do this, or a form came without its CSRF token."""


@dataclass(frozen=True)
class User:
    """Who is signed in."""

    name: str
    role: AccessRole
    token_id: int
    csrf: str
    """The token every form of this session carries."""

    @property
    def can_edit(self) -> bool:
        """Editors and admins may pause, resume, trigger and upload."""
        return access.role_allows(self.role, needed="editor")

    @property
    def can_admin(self) -> bool:
        """Admins also declare and change models, as in the API."""
        return access.role_allows(self.role, needed="admin")


def csrf_for(token: str) -> str:
    """The CSRF token of the session signed in with *token*."""
    return hmac.new(token.encode("utf-8"), b"turnout-dashboard-csrf", hashlib.sha256).hexdigest()


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path of this site only (never `//other.example`)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user; raises LoginRequired (a redirect to /login) without a live token."""
    token = request.cookies.get(COOKIE)
    row = access.authenticate(session, token=token) if token else None
    if row is None or row.id is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe="/"))
    role: AccessRole = "admin" if row.role == "admin" else "editor" if row.role == "editor" else "viewer"
    return User(name=row.name, role=role, token_id=row.id, csrf=csrf_for(token or ""))


Viewer = Annotated[User, Depends(current_user)]


def editor(user: Viewer, csrf: Annotated[str, Form()] = "") -> User:
    """A form post by an editor (or admin) that carries the session's CSRF token."""
    if not hmac.compare_digest(csrf, user.csrf):
        raise Forbidden("this form is out of date or came from another site: reload the page and send it again")
    if not user.can_edit:
        raise Forbidden(f"token '{user.name}' has role {user.role}; this needs editor or above "
                        "(`turnout token create --role editor`)")
    return user


Editor = Annotated[User, Depends(editor)]


def admin(user: Editor) -> User:
    """A form post by an admin that carries the session's CSRF token (models are an admin's, as in the API)."""
    if not user.can_admin:
        raise Forbidden(f"token '{user.name}' has role {user.role}; changing models needs admin "
                        "(`turnout token create --role admin`)")
    return user


Admin = Annotated[User, Depends(admin)]


def is_https(request: Request) -> bool:
    """True when the page was served over HTTPS (uvicorn's `--proxy-headers` honours X-Forwarded-Proto)."""
    return request.url.scheme == "https"
