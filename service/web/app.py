"""`create_app()` builds the API with the dashboard mounted at `/`; `turnout api` serves it.

The dashboard is a layer above the API: it reuses the API's app (routes, error mapping, metrics)
and adds its pages, its static files and the security headers every page carries.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from evals.errors import TurnoutError
from service.api import errors
from service.api.app import create_app as create_api
from service.api.errors import TITLES
from service.web import auth
from service.web.render import render
from service.web.routes import alerts, declarations, drift, goldensets, runs, session, watches

STATIC = Path(__file__).parent / "static"

API_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi", "/redoc")
"""Paths the API answers (with problem JSON), not the dashboard."""

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
"""Every page: scripts and styles from our static files only, never inline."""


def create_app() -> FastAPI:
    """The API (`/api/v1`, `/healthz`, `/readyz`, `/metrics`) plus the dashboard at `/`."""
    app = create_api()
    for router in (session.router, declarations.router, watches.router, runs.router, drift.router, goldensets.router,
                   alerts.router):
        app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    _web_errors(app)

    @app.exception_handler(auth.LoginRequired)
    async def to_login(request: Request, exc: auth.LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.exception_handler(auth.Forbidden)
    async def forbidden(request: Request, exc: auth.Forbidden) -> Response:
        return render(request, "error.html", {"title": "Not allowed", "message": str(exc)}, status_code=403)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.url.path.startswith(API_PATHS):
            return response
        # A drift report sets its own, looser policy (Evidently's inline scripts) and is only ever framed.
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app


def _web_errors(app: FastAPI) -> None:
    """Domain and HTTP errors as pages on the dashboard's paths, as problem JSON on the API's."""
    for kind in (TurnoutError, StarletteHTTPException, RequestValidationError):
        api_handler = app.exception_handlers[kind]

        async def handle(request: Request, exc: Exception, api_handler: Any = api_handler) -> Response:
            if request.url.path.startswith(API_PATHS):
                return cast(Response, await _maybe_await(api_handler(request, exc)))
            status = 422 if isinstance(exc, RequestValidationError) else getattr(exc, "status_code", None) or next(
                (code for error, code, _ in errors.STATUS if isinstance(exc, error)), 400)
            message = str(exc.detail) if isinstance(exc, StarletteHTTPException) else str(exc)
            return render(request, "error.html", {"title": TITLES.get(status, "Error"), "message": message},
                          status_code=status)

        app.add_exception_handler(kind, handle)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
