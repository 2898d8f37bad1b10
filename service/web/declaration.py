"""A watch or a model edited in the browser as YAML text: the entry turnout.yaml would hold under
`watches:` or `models:`, shown from what is stored and read back with the line of each problem.

Only the reading and the lines are here; what is checked and stored is what `PUT /api/v1/watches/{name}`
and `PUT /api/v1/models/{name}` check and store (`service.api.routes.catalog_writes.declare_watch`,
`declare_model`: one validation, `turnout apply`'s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from evals.models import ModelSpec
from evals.recipe import StoredWatch
from service.web.upload import Problem

Kind = Literal["watch", "model"]
MAX_TEXT_CHARS = 200_000
"""The longest declaration the form takes: far more than any watch or model needs."""
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def watch_yaml(spec: dict[str, Any]) -> str:
    """A stored watch as its `watches:` entry: defaults left out, scorers as turnout.yaml names them."""
    watch = StoredWatch.model_validate(spec)
    data = watch.model_dump(mode="json", exclude_defaults=True, exclude={"judge_label_set", "alert"})
    scorers: list[str | dict[str, Any]] = []
    for scorer in watch.scorer_specs():
        entry: dict[str, Any] = {"name": scorer.name}
        if scorer.options:
            entry["options"] = scorer.options
        if scorer.primary and len(watch.scorers) > 1:
            entry["primary"] = True
        scorers.append(entry if len(entry) > 1 else scorer.name)
    return _dump({"name": watch.name, **data, "scorers": scorers})


def model_yaml(model: ModelSpec) -> str:
    """A stored model as its `models:` entry, defaults left out (its API key only as a variable's name) and
    without its free-form `options`, which listings never show (saving keeps them: `keep_options`)."""
    return _dump({"name": model.name, **model.model_dump(mode="json", exclude_defaults=True, exclude={"options"})})


def keep_options(data: dict[str, Any], stored: ModelSpec | None) -> dict[str, Any]:
    """*data* with the stored model's `options` when the text does not set them: the form does not show
    them, so leaving them out must not drop them."""
    if stored is None or "options" in data or not stored.options:
        return data
    return {**data, "options": stored.options}


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


@dataclass(frozen=True)
class Read:
    """The form's text read: the entry as a mapping, or the problem that stops it."""

    data: dict[str, Any] | None
    problem: Problem | None = None


def read_entry(text: str, *, kind: Kind) -> Read:
    """Read *text* as one YAML mapping; a syntax error is reported at its line."""
    if len(text) > MAX_TEXT_CHARS:
        return Read(None, Problem(None, None, f"the declaration is over {MAX_TEXT_CHARS} characters: "
                                              "use `turnout apply`"))
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        return Read(None, Problem(line, None, f"not valid YAML: {exc.problem or exc.context}"))
    except yaml.YAMLError as exc:
        return Read(None, Problem(None, None, f"not valid YAML: {exc}"))
    if not isinstance(data, dict):
        return Read(None, Problem(1 if text.strip() else None, None,
                                  f"a {kind} is a mapping of keys, as one entry of `{kind}s:` in turnout.yaml "
                                  "(`name: ...` on the first line, then its other keys)"))
    if any(not isinstance(key, str) for key in data):
        return Read(None, Problem(None, None, "every key of the declaration must be text"))
    return Read(data)


def line_of(text: str, field: str | None) -> int | None:
    """The line of *text* holding *field* (`policy.margin`, `scorers[1].name`): the deepest part of its
    path that the text has; None without a field, or when the text lacks even its first part."""
    if not field:
        return None
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for name, index in _PART.findall(field):
        if isinstance(node, yaml.MappingNode) and name:
            found = next(((key, value) for key, value in node.value if getattr(key, "value", None) == name), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and index and int(index) < len(node.value):
            node = node.value[int(index)]
            line = node.start_mark.line + 1
        else:
            break
    return line
