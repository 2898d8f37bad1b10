"""docs/configuration.md against the config schema: every key of turnout.yaml documented with its default, and
no key documented that the schema does not have."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from evals.cases import Case
from evals.config import ConfigFile
from evals.providers.sim_options import SimOptions

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
EXTRA: dict[str, type[BaseModel]] = {"golden_sets[].cases": Case, "models[].options": SimOptions}
"""Keys typed loosely in the file's schema whose content another model checks: inline cases, a simulated
model's options."""


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
    """The pydantic models an annotation holds, each with whether it is a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, False)]
    origin = get_origin(annotation)
    if origin in (list, tuple):
        return [(model, True) for model, _ in _models_in(get_args(annotation)[0])]
    if origin in (Union, types.UnionType):
        return [found for arg in get_args(annotation) for found in _models_in(arg)]
    return []


def _default(field: Any) -> str | None:
    """The default as the page writes it; None for defaults the page describes in words."""
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        made = field.default_factory()
        return None if isinstance(made, BaseModel) else ("`{}`" if isinstance(made, dict) else "`[]`")
    value = field.default
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, tuple):
        return "`[]`"
    if isinstance(value, str):
        return f"`{json.dumps(value)[1:-1] if chr(10) in value else value}`"
    return f"`{value}`"


def schema_keys(model: type[BaseModel], prefix: str = "") -> dict[str, str | None]:
    """Every key under *model*, as `watches[].policy.margin`, with its default as written on the page."""
    keys: dict[str, str | None] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}.{key}" if prefix else key
        keys[path] = _default(field)
        nested = _models_in(field.annotation)
        if path in EXTRA:
            nested = [(EXTRA[path], path == "golden_sets[].cases")]
        for sub, is_list in nested:
            keys.update(schema_keys(sub, f"{path}[]" if is_list else path))
    return keys


def documented_keys() -> dict[str, str]:
    """Keys of the page's tables (first column) with their default cell."""
    rows = re.findall(r"^\| `([a-z0-9_\[\]\.]+)` \| ([^|]+) \|", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {key: default.strip() for key, default in rows}


def test_every_key_of_the_schema_is_documented_and_nothing_else() -> None:
    schema = {key for key in schema_keys(ConfigFile) if "." in key or "[]" in key}
    documented = set(documented_keys())
    assert sorted(schema - documented) == [], "keys of the schema missing from docs/configuration.md"
    assert sorted(documented - schema) == [], "keys documented that the schema does not have"


def test_every_documented_default_is_the_schema_default() -> None:
    documented = documented_keys()
    wrong = {key: (documented[key], default) for key, default in schema_keys(ConfigFile).items()
             if default is not None and key in documented and documented[key] != default}
    assert wrong == {}


def test_the_walk_finds_nested_keys() -> None:  # the check above is only as good as the walk
    keys = schema_keys(ConfigFile)
    assert keys["watches[].policy.volume.peak_rps"] == "required"
    assert keys["models[].options.latency_ms.p95"] == "`2000`"
    assert keys["golden_sets[].cases[].assert[].type"] == "required"
