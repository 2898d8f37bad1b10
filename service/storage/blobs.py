"""Blobs (Evidently snapshots) behind one small interface: files beside the SQLite database on the
embedded default, the database itself in production (an S3-compatible bucket can sit behind the same)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url
from sqlmodel import Session

from service.settings import Settings
from service.storage.drift_tables import BlobRow

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class BlobStore(Protocol):
    """Where blobs live; keys are short relative paths such as `drift/12/34.json`."""

    def put(self, session: Session, key: str, data: bytes) -> None:
        """Store *data* under *key*, replacing what was there."""

    def get(self, session: Session, key: str) -> bytes | None:
        """The blob under *key*; None when there is none (pruned)."""

    def delete(self, session: Session, key: str) -> None:
        """Remove the blob under *key*, if any."""


class FileBlobs:
    """Blobs as files under one directory (the embedded default: beside the SQLite file)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"blob key {key!r} is not a short relative path")
        return self.root / key

    def put(self, session: Session, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(data)
        partial.replace(path)  # a reader never sees half a snapshot

    def get(self, session: Session, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None

    def delete(self, session: Session, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class DatabaseBlobs:
    """Blobs as rows of the `blob` table, written in the caller's transaction."""

    def put(self, session: Session, key: str, data: bytes) -> None:
        row = session.get(BlobRow, key)
        if row is None:
            session.add(BlobRow(key=key, data=data))
        else:
            row.data = data
            session.add(row)
        session.flush()

    def get(self, session: Session, key: str) -> bytes | None:
        row = session.get(BlobRow, key)
        return None if row is None else row.data

    def delete(self, session: Session, key: str) -> None:
        row = session.get(BlobRow, key)
        if row is not None:
            session.delete(row)
            session.flush()


def blob_store(settings: Settings) -> BlobStore:
    """Files in `<database file>.blobs/` on SQLite (in-memory SQLite keeps them in the database),
    the database elsewhere."""
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            path = Path(database)
            return FileBlobs(path.with_name(path.name + ".blobs"))
    return DatabaseBlobs()
