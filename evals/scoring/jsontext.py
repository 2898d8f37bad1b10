"""JSON in model answers: strict parsing, fenced blocks, embedded objects, schema checks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema import Draft202012Validator, SchemaError, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

JsonSource = Literal["answer", "fenced block"]

# ```json … ``` or a bare ``` … ```; other languages (```python) are not JSON.
_FENCED = re.compile(r"```(?i:json)?[^\S\n]*\n(.*?)```", re.DOTALL)


class NotJson(ValueError):
    """The text is not strict JSON."""


def _reject_constant(name: str) -> Any:
    raise NotJson(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def loads_strict(text: str) -> Any:
    """Parse *text* as JSON, refusing Python's extensions (NaN, Infinity).

    Raises:
        NotJson: with the parser's message when *text* is not JSON.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except NotJson:
        raise
    except json.JSONDecodeError as exc:
        raise NotJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise NotJson("nested too deeply") from None


@dataclass(frozen=True)
class ParsedJson:
    """JSON read from an answer, and where in the answer it was."""

    value: Any
    source: JsonSource


def parse_json_answer(answer: str) -> ParsedJson:
    """Read the answer as JSON: the whole answer, else the first ```json fenced block that parses.

    Raises:
        NotJson: with the message for the whole answer when neither is JSON.
    """
    try:
        return ParsedJson(loads_strict(answer), "answer")
    except NotJson as whole_answer_error:
        for block in _FENCED.finditer(answer):
            try:
                return ParsedJson(loads_strict(block.group(1)), "fenced block")
            except NotJson:
                continue
        raise whole_answer_error


def find_json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object embedded in *text* (prose around them is ignored)."""
    found: list[dict[str, Any]] = []
    position = text.find("{")
    while position != -1:
        try:
            value, end = _DECODER.raw_decode(text, position)
        except (ValueError, RecursionError):
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        position = text.find("{", end)
    return found


def schema_validator(schema: Any) -> Validator:
    """A validator for *schema* (draft from its `$schema`, default 2020-12).

    Raises:
        ValueError: when *schema* is not a valid JSON schema.
    """
    if not isinstance(schema, (dict, bool)):
        raise ValueError(f"a JSON schema must be an object, not {type(schema).__name__}")
    if isinstance(schema, bool):
        schema = {} if schema else {"not": {}}  # the same schemas, in the form check_schema takes
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = exc.json_path if exc.path else "the top level"
        raise ValueError(f"invalid JSON schema at {where}: {exc.message}") from None
    return cls(schema)


@dataclass(frozen=True)
class SchemaViolation:
    """One place where a document breaks its schema."""

    path: str
    """JSON path of the offending value, e.g. `$.items[0].price`."""
    message: str


def violations(validator: Validator, document: Any) -> list[SchemaViolation]:
    """The document's schema violations, the most relevant first; empty when it conforms."""
    errors: list[ValidationError] = list(validator.iter_errors(document))
    first = best_match(errors)
    if first is not None:
        # best_match may pick an error nested in an anyOf's context: put it first either way.
        errors = [first, *(error for error in errors if error is not first)]
    return [SchemaViolation(path=error.json_path, message=error.message) for error in errors]
