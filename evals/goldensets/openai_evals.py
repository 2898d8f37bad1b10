"""Importer for OpenAI-evals samples (the JSONL files of the openai/evals registry).

A sample is `{"input": [{"role": "system", "content": ...}, {"role": "user", ...}],
"ideal": "..."}`; `ideal` may be a list of acceptable answers and `input` a plain string.
Few-shot turns written as `{"role": "system", "name": "example_user", ...}` become user and
assistant turns, which is what they stand for.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evals.cases import Case
from evals.errors import GoldenSetError
from evals.goldensets.common import Located, finish, json_lines, kind_of, read_text, validate

_EXAMPLE_ROLES = {"example_user": "user", "example_assistant": "assistant"}
_REGISTRY_ENTRY = re.compile(r"^\s+(?:class|samples_jsonl|id):\s*(\S+)", re.MULTILINE)


def _refuse_registry_spec(path: Path) -> None:
    """Refuse an eval spec of the registry (`evals/registry/evals/*.yaml`) given where samples are expected."""
    if path.suffix.lower() not in (".yaml", ".yml"):
        return
    found = dict.fromkeys(m.group(1) for m in re.finditer(r"samples_jsonl:\s*(\S+)", read_text(path)))
    if not found and not _REGISTRY_ENTRY.search(read_text(path)):
        return
    where = f" ({', '.join(found)}, under evals/registry/data/)" if found else ""
    raise GoldenSetError("this is an OpenAI-evals registry spec (eval classes and their args), not samples: point "
                         f"`file:` at the samples JSONL it names{where}, and choose the scorer in the watch",
                         file=path, line=1)


def _messages(raw: list[Any], *, file: Path, line: int) -> tuple[list[Any], list[str | None]]:
    messages: list[Any] = []
    names: list[str | None] = []
    for index, message in enumerate(raw):
        if not isinstance(message, dict):
            raise GoldenSetError(
                f"a message must be a mapping with role and content, got {kind_of(message)}",
                file=file,
                line=line,
                field=f"input[{index}]",
            )
        message = dict(message)
        name = message.pop("name", None)
        if message.get("role") == "system" and name in _EXAMPLE_ROLES:
            message["role"] = _EXAMPLE_ROLES[name]
        messages.append(message)
        names.append(name if isinstance(name, str) else None)
    return messages, names


def _sample_to_data(sample: dict[str, Any], *, file: Path, line: int) -> dict[str, Any]:
    if "input" not in sample:
        raise GoldenSetError(
            "an openai-evals sample needs `input`", file=file, line=line, field="input"
        )
    metadata = sample.get("metadata", {})
    if not isinstance(metadata, dict):
        raise GoldenSetError(
            f"must be a mapping, got {kind_of(metadata)}", file=file, line=line, field="metadata"
        )
    metadata = dict(metadata)
    data: dict[str, Any] = {"id": sample.get("id", f"{file.stem}-{line}")}
    raw_input = sample["input"]
    if isinstance(raw_input, list):
        data["input"], names = _messages(raw_input, file=file, line=line)
        if any(name is not None for name in names):
            metadata["message_names"] = names
    else:
        data["input"] = raw_input
    ideal = sample.get("ideal")
    if isinstance(ideal, list):
        if not all(isinstance(answer, str) for answer in ideal):
            raise GoldenSetError(
                "must be a string or a list of strings", file=file, line=line, field="ideal"
            )
        data["expected"] = ideal[0] if ideal else None
        data["accepted"] = ideal[1:]  # every ideal is a right answer, not only the first
        metadata["ideal"] = ideal
    elif ideal is None or isinstance(ideal, str):
        data["expected"] = ideal
    else:
        raise GoldenSetError(
            f"must be a string or a list of strings, got {kind_of(ideal)}",
            file=file,
            line=line,
            field="ideal",
        )
    # Samples of some eval classes carry more fields (choices, few-shot keys): keep them.
    for key, value in sample.items():
        if key not in ("id", "input", "ideal", "metadata"):
            metadata[key] = value
    if metadata:
        data["metadata"] = metadata
    return data


def read_openai_evals(path: Path) -> tuple[Case, ...]:
    """Read an OpenAI-evals samples file.

    Ids are `<file stem>-<line number>` unless a sample has an `id`. The first `ideal` answer
    becomes `expected` and the others `accepted` (the exact_match and contains scorers pass on
    any of them); a list of ideals is also kept whole in `metadata["ideal"]`.

    Args:
        path: The samples `.jsonl` file.

    Returns:
        The cases, in file order.

    Raises:
        GoldenSetError: Naming the file, line and field of the first problem; a registry spec
            (`evals/registry/evals/*.yaml`) is refused with the samples file it names.
    """
    _refuse_registry_spec(path)
    found: list[Located] = []
    for number, sample in json_lines(path):
        if not isinstance(sample, dict):
            raise GoldenSetError(
                f"a sample must be a JSON object, got {kind_of(sample)}", file=path, line=number
            )
        data = _sample_to_data(sample, file=path, line=number)
        found.append(Located(validate(Case, data, file=path, line=number), str(path), number))
    return finish(found, file=path)
