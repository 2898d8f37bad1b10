"""The dashboard: server-rendered pages over the same storage functions the API and the CLI call."""
