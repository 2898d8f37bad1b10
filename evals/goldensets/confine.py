"""Where the files a golden set refers to may lie: anywhere for a local turnout.yaml, only inside the
bundle for one uploaded to the API (whose `file://` references must not read the server's files).

The limit is a context variable, set around `load_config` by the caller that knows the root
(`service.api.bundle`), and checked where every promptfoo reference is resolved (`file_ref`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from evals.errors import GoldenSetError

_ROOT: ContextVar[Path | None] = ContextVar("turnout_golden_set_root", default=None)


@contextmanager
def confined_to(root: Path) -> Iterator[None]:
    """Refuse, inside this block, any file a golden set refers to outside *root*."""
    token = _ROOT.set(root.resolve())
    try:
        yield
    finally:
        _ROOT.reset(token)


def check_inside(path: Path, *, ref: str, file: Path) -> Path:
    """*path* itself, when no limit is set or it lies inside it.

    Raises:
        GoldenSetError: *path* (the reference *ref* in *file*) lies outside the allowed root.
    """
    root = _ROOT.get()
    if root is not None and not path.resolve().is_relative_to(root):
        raise GoldenSetError(f"`{ref}` names a file outside the uploaded bundle: a reference must name a file "
                             "of the bundle, by a path relative to the file that refers to it", file=file)
    return path
