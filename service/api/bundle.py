"""A turnout.yaml sent over HTTP with the files it names, checked by the same `load_config` as `turnout apply`.

`file:` paths cannot be resolved on the server, so the client sends them along (paths relative to
turnout.yaml); a path the bundle does not hold is a 422 naming the field.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from evals.config import Config, load_config
from evals.errors import ConfigError, ConfigProblems
from evals.goldensets.confine import confined_to
from evals.yamllines import line_of, parse_yaml

CONFIG_NAME = "turnout.yaml"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""The most a bundle may hold in all; golden sets are text, and tens of MB is already a big one."""


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle."""

    path: str
    """Relative to turnout.yaml, `/`-separated."""
    content: bytes


def _safe_path(path: str, *, field: str) -> PurePosixPath:
    relative = PurePosixPath(path.replace("\\", "/"))
    if not path or relative.is_absolute() or ".." in relative.parts or relative.name in ("", "."):
        raise ConfigError(f"'{path}' is not a path relative to {CONFIG_NAME} inside the bundle "
                          "(no leading '/', no '..')", field=field)
    return relative


def load_bundle(*, config: bytes, files: list[BundleFile], allow_unsupported: bool = False) -> Config:
    """Check a turnout.yaml and the files it names exactly as `turnout apply` does.

    Args:
        config: The bytes of turnout.yaml.
        files: The files its `file:` entries name, each under its path relative to turnout.yaml.
        allow_unsupported: `turnout apply --allow-unsupported`.

    Returns:
        The checked config; its golden sets are read, so nothing refers to the bundle afterwards.

    Raises:
        ConfigError: for the first problem, with `file` relative to turnout.yaml; a `file:` path
            missing from the bundle names its field (`golden_sets[0].file`).
    """
    names: dict[PurePosixPath, bytes] = {}
    for index, item in enumerate(files):
        names[_safe_path(item.path, field=f"files[{index}]")] = item.content
    if len(config) + sum(len(content) for content in names.values()) > MAX_BUNDLE_BYTES:
        raise ConfigError(f"the bundle is larger than {MAX_BUNDLE_BYTES // 2**20} MB", field="files")
    _check_named_files(config, set(names))
    with tempfile.TemporaryDirectory(prefix="turnout-bundle-") as directory:
        root = Path(directory)
        for relative, content in names.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        path = root / CONFIG_NAME
        path.write_bytes(config)
        try:
            with confined_to(root):
                return load_config(path, allow_unsupported=allow_unsupported)
        except ConfigError as exc:
            raise relative_error(exc, root) from None


def _check_named_files(config: bytes, present: set[PurePosixPath]) -> None:
    try:
        text = config.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=CONFIG_NAME) from None
    located = parse_yaml(text, file=CONFIG_NAME)
    declared = located.get("golden_sets") if isinstance(located, dict) else None
    for index, decl in enumerate(declared if isinstance(declared, list) else []):
        name = decl.get("file") if isinstance(decl, dict) else None
        if not isinstance(name, str):
            continue  # load_config says what is wrong with it
        field = f"golden_sets[{index}].file"
        line = line_of(located, ("golden_sets", index, "file"))
        relative = _safe_path(name, field=field)
        if relative not in present:
            raise ConfigError(f"'{name}' is not in the bundle; send it as a file part named with this path",
                              file=CONFIG_NAME, line=line, field=field)


def relative_error(exc: ConfigError, root: Path) -> ConfigError:
    """The same error with its files named relative to *root* (the server's temporary path means nothing),
    each problem of a ConfigProblems too."""
    if isinstance(exc, ConfigProblems):
        file = exc.file
        if file is not None and Path(file).is_relative_to(root):
            file = Path(file).relative_to(root).as_posix()
        return ConfigProblems([relative_error(part, root) for part in exc.problems], file=file, more=exc.more)
    file = exc.file
    if file is not None and Path(file).is_relative_to(root):
        file = Path(file).relative_to(root).as_posix()
    reason = exc.reason.replace(f"{root}/", "")
    return exc.__class__(reason, file=file, line=exc.line, field=exc.field)
