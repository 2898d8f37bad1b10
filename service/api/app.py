"""`create_app()` builds the API; `turnout api` serves it with uvicorn."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from evals.errors import TurnoutError
from service.api import errors, metrics
from service.api.routes import admin, alerts, catalog_writes, golden_sets, insight, reads, runs, scoring, series, writes
from service.storage import migrate
from service.storage.db import get_engine

API_PREFIX = "/api/v1"


def create_app() -> FastAPI:
    """The Turnout API: `/api/v1` for people and tools, `/healthz`, `/readyz` and `/metrics` for operators."""
    app = FastAPI(title="Turnout", version="0.1.0",
                  description="Continuous evaluation of LLMs. Send an API token as `Authorization: Bearer …`.")
    errors.install(app)
    metrics.install(app)
    for router in (reads.router, runs.router, series.router, insight.router, writes.router, admin.router,
                   golden_sets.router, catalog_writes.router, alerts.router, scoring.router):
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=None)
    def readyz() -> dict[str, Any] | JSONResponse:
        """The database answers and is at the code's schema."""
        try:
            engine = get_engine()
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            migrate.ensure_current(engine)
        except (TurnoutError, Exception) as exc:  # readiness reports any failure as not ready
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return {"status": "ready"}

    return app
