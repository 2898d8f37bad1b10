"""The one place where errors become HTTP: problem details (RFC 9457, `application/problem+json`).

Domain errors carry no HTTP; this table maps each type to a status. An exception that is not a
`TurnoutError` (nor a lost database connection) is a bug: it is not caught here, so it reaches
the server's error log with its traceback instead of hiding behind a friendly 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from evals.errors import ConfigError, ConfigProblems, PolicyViolation, TurnoutError
from service.storage.db import StoreUnavailable, is_transient
from service.storage.migrate import SchemaOutOfDate
from service.storage.runs import InvalidState, NotFound

PROBLEM_JSON = "application/problem+json"

STATUS: tuple[tuple[type[TurnoutError], int, str], ...] = (
    (NotFound, 404, "not-found"),
    (InvalidState, 409, "invalid-state"),
    (PolicyViolation, 422, "policy-violation"),
    (ConfigError, 422, "invalid-input"),
    (StoreUnavailable, 503, "store-unavailable"),
    (SchemaOutOfDate, 503, "schema-out-of-date"),
)
"""Domain error type → status and problem type, most specific first. Other `TurnoutError`s are 400."""


class InputProblem(BaseModel):
    """One problem of the input: where, and what to change."""

    model_config = ConfigDict(frozen=True)

    file: str | None
    line: int | None
    field: str | None
    message: str


class Problem(BaseModel):
    """Problem details: what went wrong, and where in the input when the input is at fault."""

    model_config = ConfigDict(frozen=True)

    type: str
    """`about:blank` or a slug naming the kind of problem (`not-found`, `invalid-input`, ...)."""
    title: str
    status: int
    detail: str
    file: str | None = None
    """For bad input: the file at fault (in a config bundle, relative to turnout.yaml)."""
    line: int | None = None
    field: str | None = None
    errors: list[dict[str, Any]] | None = None
    """For a request that does not match the schema: one entry per problem (`loc`, `msg`)."""
    problems: list[InputProblem] | None = None
    """For bad input: every problem found (the first is also in `file`, `line`, `field`)."""
    more: int | None = None
    """How many further problems were found and not listed."""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring *statuses* as problem details."""
    return {status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": TITLES.get(status, "Problem")}
            for status in statuses}


TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found", 409: "Conflict",
          422: "Invalid input", 503: "Unavailable"}


def problem(status: int, detail: str, *, type_: str = "about:blank", headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    """A problem-details response."""
    body = Problem(type=type_, title=TITLES.get(status, "Error"), status=status, detail=detail, **extra)
    # Absent members are left out; inside `problems`, each keeps all four (null where unknown).
    content = {key: value for key, value in body.model_dump(mode="json").items() if value is not None}
    return JSONResponse(content, status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TurnoutError)
    status, slug = next(((status, slug) for kind, status, slug in STATUS if isinstance(exc, kind)),
                        (400, "turnout-error"))
    if isinstance(exc, ConfigProblems):
        first = exc.problems[0]
        return problem(status, str(exc), type_=slug, file=first.file, line=first.line, field=first.field,
                       problems=exc.to_data(), more=exc.more or None)
    if isinstance(exc, ConfigError):
        return problem(status, exc.reason, type_=slug, file=exc.file, line=exc.line, field=exc.field,
                       problems=[{"file": exc.file, "line": exc.line, "field": exc.field, "message": exc.reason}])
    return problem(status, str(exc), type_=slug)


def _database(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if not is_transient(exc):
        raise exc  # a bug (bad SQL, a violated constraint): let it be seen
    return problem(503, f"database unavailable: {exc.__class__.__name__}", type_="store-unavailable")


def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    field = ".".join(str(part) for part in first["loc"][1:]) or None
    return problem(422, f"{field or 'request'}: {first['msg']}", type_="invalid-request", field=field, errors=errors)


def install(app: FastAPI) -> None:
    """Register the mapping on *app*."""
    app.add_exception_handler(TurnoutError, _domain)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
