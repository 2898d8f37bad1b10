"""One golden-set file sent over HTTP, read as a `file:` entry of turnout.yaml is: by
`evals.config.read_golden_set`, in a temporary directory it may not leave, every problem named
relative to that directory. `PUT /api/v1/golden-sets/{name}/file` and the dashboard's upload read
with it; `service.storage.declare.put_golden_set` stores what it reads."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evals.cases import GoldenSet, Privacy
from evals.config import GoldenSetDecl, read_golden_set
from evals.errors import ConfigError
from evals.goldensets import Format
from evals.goldensets.common import field_name
from evals.goldensets.confine import confined_to
from service.api.bundle import relative_error


def golden_set_decl(**fields: Any) -> GoldenSetDecl:
    """A `golden_sets:` entry made of *fields*; a bad one is a ConfigError naming the field."""
    try:
        return GoldenSetDecl.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(error["msg"].removeprefix("Value error, "),
                          field=field_name(tuple(error["loc"])) or None) from None


def read_golden_file(*, name: str, filename: str, content: bytes, file_format: Format | None = None,
                     privacy: Privacy = "internal", fields: Any = None, allow_unsupported: bool = False,
                     ) -> tuple[GoldenSet, tuple[str, ...]]:
    """Golden set *name* read from *content*, a file called *filename* (a base name), and the notes
    `turnout apply` would print.

    Raises:
        ConfigError: naming *filename*, line and field; ConfigProblems with every problem when there are several.
    """
    decl = golden_set_decl(name=name, file=filename, format=file_format, privacy=privacy, fields=fields)
    with tempfile.TemporaryDirectory(prefix="turnout-upload-") as directory:
        root = Path(directory)
        (root / filename).write_bytes(content)
        try:
            with confined_to(root):
                return read_golden_set(decl, base=root, allow_unsupported=allow_unsupported)
        except ConfigError as exc:
            raise relative_error(exc, root) from None
