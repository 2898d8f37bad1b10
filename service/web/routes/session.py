"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from service.api.deps import SessionDep
from service.storage import access
from service.web.auth import COOKIE, COOKIE_MAX_AGE_S, Viewer, is_https, safe_next
from service.web.render import render

router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"title": "Sign in", "next": safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, session: SessionDep, token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    """Check the API token and set the session cookie."""
    row = access.authenticate(session, token=token.strip()) if token.strip() else None
    if row is None:
        message = ("paste an API token (`turnout token create --role viewer` makes one)" if not token.strip()
                   else "that token is unknown or was revoked")
        return render(request, "login.html", {"title": "Sign in", "next": safe_next(next), "error": message},
                      status_code=401)
    session.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token.strip(), max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="lax",
                        secure=is_https(request), path="/")
    return response


@router.post("/logout")
def logout(request: Request, user: Viewer, csrf: Annotated[str, Form()] = "") -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    if csrf == user.csrf:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return response

