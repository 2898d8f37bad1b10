"""Input that used to crash or be silently ignored: each is now an error naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.config import load_config
from evals.errors import ConfigError, GoldenSetError
from evals.nesting import MAX_DEPTH, nesting_depth
from tests.evals.test_config import write

VLLM = """\
  - name: local-vllm
    kind: vllm
    model: /models/mistral
    hosting: self_hosted
{lines}"""


@pytest.mark.parametrize("template", ["{question}", "{input.x}", "{input[0]}", "{0}", "{input:d}", "{"])
def test_a_bad_template_names_the_file_line_and_field(tmp_path: Path, template: str) -> None:
    # given a watch whose template cannot be filled from a case
    path = write(tmp_path, extra=f"    template: {json.dumps(template)}\n")
    # when the file is loaded, then the error points at the template, never an AttributeError
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 25, "watches[0].template")
    assert "{input} and {context}" in caught.value.reason


def test_the_default_and_plain_templates_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, extra='    template: "Document: {context}\\n\\nQuestion: {input} {{literal}}"\n')
    assert load_config(path).watches["support-watch"].template.startswith("Document:")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_a_deeply_nested_jsonl_line_is_a_golden_set_error(tmp_path: Path, depth: int) -> None:
    # given a case whose metadata nests deeper than any case needs (or than the parser can follow)
    path = write(tmp_path)
    deep = "[" * depth + "]" * depth
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "input": "q", "expected": "4"}\n'
                                          f'{{"id": "b", "input": "q", "metadata": {{"k": {deep}}}}}\n')
    with pytest.raises(GoldenSetError) as caught:
        load_config(path)
    assert caught.value.file == str(tmp_path / "cases.jsonl") and caught.value.line == 2
    assert "nested more than" in caught.value.reason
    if depth == MAX_DEPTH + 1:
        assert caught.value.field == "metadata"


def test_a_deeply_nested_turnout_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "turnout.yaml"
    path.write_text("golden_sets: " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(ConfigError, match="nested more than") as caught:
        load_config(path)
    assert caught.value.file == str(path)


def test_nesting_depth_counts_lists_and_mappings_without_recursion() -> None:
    assert nesting_depth("x") == 0 and nesting_depth({"a": [1, {"b": []}]}) == 4
    assert nesting_depth(json.loads("[" * 900 + "]" * 900), limit=10) == 11


def test_alert_is_refused_as_renamed_to_alerts(tmp_path: Path) -> None:
    path = write(tmp_path, extra='    alert: {slack: "#support"}\n')
    with pytest.raises(ConfigError, match="renamed to alerts") as caught:
        load_config(path)
    assert (caught.value.line, caught.value.field) == (25, "watches[0].alert")


def _with_vllm(tmp_path: Path, lines: str) -> Path:
    path = write(tmp_path)
    text = path.read_text().replace("watches:\n", VLLM.format(lines=lines) + "watches:\n")
    path.write_text(text.replace("candidates: [mistral-local]", "candidates: [local-vllm]"))
    return path


@pytest.mark.parametrize(("lines", "line", "field", "words"), [
    ("    params: {temperature: 0, best_of_many: 3}\n", 22, "models[2].params.best_of_many",
     "SamplingParams does not take"),
    ("    params:\n      n: 4\n", 23, "models[2].params.n", "must be 1"),
    ("    params:\n      max_tokens: -1\n", 23, "models[2].params.max_tokens", "positive integer"),
    ("    options: {tensor_parallel_size: 0}\n", 22, "models[2].options.tensor_parallel_size", ">= 1"),
])
def test_malformed_vllm_params_are_refused_at_load_with_the_field(tmp_path: Path, lines: str, line: int,
                                                                  field: str, words: str) -> None:
    # given a kind: vllm model whose params a GPU worker would refuse only when the run starts
    path = _with_vllm(tmp_path, lines)
    # when the file is loaded, then the error names the model's field
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), line, field)
    assert words in caught.value.reason


def test_well_formed_vllm_params_load(tmp_path: Path) -> None:
    path = _with_vllm(tmp_path, "    params: {temperature: 0, max_tokens: 64}\n")
    assert load_config(path).models["local-vllm"].params == {"temperature": 0, "max_tokens": 64}


def test_escaped_surrogate_pairs_are_joined_and_lone_ones_refused(tmp_path: Path) -> None:
    # given JSON-style escapes of an emoji (a surrogate pair) in turnout.yaml and in a JSONL case
    path = write(tmp_path, extra='    team: "\\ud83d\\ude00"\n')
    assert load_config(path).watches["support-watch"].team == "\U0001f600"
    # when an escape is half a pair, then the file and line are named instead of a UnicodeEncodeError
    path.write_text(path.read_text().replace("\\ude00", ""))
    with pytest.raises(ConfigError, match="surrogate") as caught:
        load_config(path)
    assert caught.value.line == 25
    path = write(tmp_path)
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "input": "q\\ud800", "expected": "4"}\n')
    with pytest.raises(GoldenSetError, match="surrogate") as caught:
        load_config(path)
    assert caught.value.line == 1


@pytest.mark.parametrize(("sample", "field", "says"), [
    ("{gpt-prod: 3}", "watches[0].sample_cases.gpt-prod", "is the production model"),
    ("{mistral: 3}", "watches[0].sample_cases.mistral", "not a candidate of this watch (candidates: mistral-local)"),
    ("{mistral-local: 0}", "watches[0].sample_cases.mistral-local", "greater than or equal to 1"),
    ("{mistral-local: many}", "watches[0].sample_cases.mistral-local", "valid integer"),
])
def test_a_case_sample_is_only_for_a_candidate_and_at_least_one_case(tmp_path: Path, sample: str, field: str,
                                                                    says: str) -> None:
    # given a watch whose sample names production, a model it does not weigh, or no case
    path = write(tmp_path, extra=f"    sample_cases: {sample}\n")
    # when the file is loaded, then the error names the line and the key
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 25, field)
    assert says in caught.value.reason


def test_a_case_sample_for_a_candidate_is_kept_with_the_watch(tmp_path: Path) -> None:
    path = write(tmp_path, extra="    sample_cases: {mistral-local: 12}\n")
    assert load_config(path).watches["support-watch"].sample_cases == {"mistral-local": 12}
