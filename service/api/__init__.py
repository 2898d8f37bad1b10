"""The REST API (FastAPI, app factory). For now: health and readiness for deployments."""
