"""A golden set uploaded or edited in the browser: read by the same readers as `turnout apply`, every
problem kept with its line, and stored as a new version through `catalog.apply_config`."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from evals.cases import GoldenSet, Privacy
from evals.config import Config, GoldenSetDecl
from evals.errors import ConfigError, ConfigProblems
from evals.goldensets import Format, load_cases
from evals.goldensets.support import check_supported
from service.storage import catalog
from service.storage.catalog import Change

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""The largest golden set the browser may send; bigger ones go through `turnout apply`."""

UPLOAD_FORMATS: tuple[Format, ...] = ("jsonl", "yaml", "csv", "openai-evals")
"""Formats a single uploaded file can hold (promptfoo configs name other files: use `turnout apply`)."""

SUFFIX = {"jsonl": ".jsonl", "yaml": ".yaml", "csv": ".csv", "openai-evals": ".jsonl"}


@dataclass(frozen=True)
class Problem:
    """One problem of the upload, with the line it is on (None: the whole file)."""

    line: int | None
    field: str | None
    message: str


@dataclass
class Checked:
    """An upload read: the golden set, or the problems that stop it."""

    golden_set: GoldenSet | None
    problems: list[Problem] = field(default_factory=list)


def file_name(name: str, filename: str | None, format: Format) -> str:
    """The name problems are reported against: the uploaded file's base name, else one made of the set's."""
    base = Path((filename or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)[:100]
    return base if base and base not in (".", "..") else f"{name}{SUFFIX[format]}"


def check_upload(*, name: str, privacy: Privacy, text: str, format: Format, filename: str) -> Checked:
    """Read *text* as golden set *name* in *format*; every problem comes back with its line."""
    if not name.strip():
        return Checked(None, [Problem(None, "name", "give the golden set a name")])
    with tempfile.TemporaryDirectory(prefix="turnout-upload-") as folder:
        path = Path(folder) / filename
        path.write_text(text, encoding="utf-8")
        try:
            cases = load_cases(path, format=format)
            golden_set = GoldenSet(name=name.strip(), privacy=privacy, cases=cases)
            check_supported(golden_set, allowed=False, file=filename)
        except ConfigProblems as exc:
            return Checked(None, [Problem(p.line, p.field, _located(p.reason, folder)) for p in exc.problems])
        except ConfigError as exc:
            return Checked(None, [Problem(exc.line, exc.field, _located(exc.reason, folder))])
    if not cases:
        return Checked(None, [Problem(None, None, "the file holds no case")])
    return Checked(golden_set)


def _located(message: str, folder: str) -> str:
    return message.replace(folder + "/", "")


def store(session: Session, *, golden_set: GoldenSet, filename: str) -> Change:
    """Make *golden_set*'s cases the current version of its golden set (created when new); the caller commits."""
    decl = GoldenSetDecl(name=golden_set.name, file=f"uploaded:{filename}", privacy=golden_set.privacy)
    config = Config(path=Path("dashboard-upload"), golden_sets={golden_set.name: (decl, golden_set)}, models={},
                    watches={})
    return catalog.apply_config(session, config=config)[0]
