"""turnout.yaml: declarations, references, privacy, and errors that name file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evals.config import load_config
from evals.errors import ConfigError, PolicyViolation

BASE = """\
golden_sets:
  - name: support
    file: cases.jsonl
    privacy: {privacy}
models:
  - name: gpt-prod
    kind: openai
    base_url: https://api.openai.com/v1
    model: gpt-4o
    api_key_env: OPENAI_API_KEY
    hosting: api
    residency: us
    pricing: {{input_per_mtok: 2.5, output_per_mtok: 10.0}}
  - name: mistral-local
    base_url: http://127.0.0.1:8000/v1
    model: mistral
    hosting: self_hosted
watches:
  - name: support-watch
    golden_set: support
    production: {production}
    candidates: [{candidates}]
    scorers: [{{name: exact_match, options: {{ignore_case: true}}}}, {{name: asserts, primary: true}}]
    schedule: "0 6 * * *"
{extra}"""


def write(tmp_path: Path, *, privacy: str = "internal", production: str = "gpt-prod",
          candidates: str = "mistral-local", extra: str = "") -> Path:
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "input": "2+2?", "expected": "4"}\n')
    path = tmp_path / "turnout.yaml"
    path.write_text(BASE.format(privacy=privacy, production=production, candidates=candidates, extra=extra))
    return path


def test_a_valid_file_loads_with_its_golden_set_and_primary_scorer(tmp_path: Path) -> None:
    config = load_config(write(tmp_path))
    decl, golden_set = config.golden_sets["support"]
    assert [case.id for case in golden_set.cases] == ["a"]
    assert config.models["gpt-prod"].pricing.input_per_mtok == 2.5
    specs = config.watches["support-watch"].scorer_specs()
    assert [(s.name, s.primary) for s in specs] == [("exact_match", False), ("asserts", True)]
    assert config.watches["support-watch"].timezone == "UTC"


def test_confidential_set_to_an_api_model_is_refused_with_what_to_change(tmp_path: Path) -> None:
    with pytest.raises(PolicyViolation) as caught:
        load_config(write(tmp_path, privacy="confidential"))
    message = str(caught.value)
    assert "turnout.yaml:19" in message                       # the watch's line
    assert "gpt-prod" in message and "confidential" in message
    assert "hosting: self_hosted" in message and "allowed_residencies" in message


def test_confidential_set_is_allowed_when_the_policy_lists_the_residency(tmp_path: Path) -> None:
    path = write(tmp_path, privacy="confidential", extra="    policy: {allowed_residencies: [us]}\n")
    assert load_config(path).watches["support-watch"].policy.allowed_residencies == ("us",)


def test_confidential_set_to_self_hosted_models_only_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, privacy="confidential", production="mistral-local", candidates="")
    assert load_config(path).watches["support-watch"].production == "mistral-local"


@pytest.mark.parametrize("scorers", [
    "[{name: judge, options: {model: gpt-prod}}]",
    "[exact_match, {name: weighted, options: {scorers: [exact_match, {name: all_of, options: {scorers: "
    "[{name: pairwise_judge, options: {model: gpt-prod}}]}}]}}]",
    """[{name: any_of, options: {scorers: ['judge:{"model": "gpt-prod"}']}}]""",
])
def test_a_confidential_set_judged_by_an_api_model_is_refused_nested_parts_too(tmp_path: Path, scorers: str) -> None:
    # given a confidential set answered by self-hosted models only, but judged (maybe deep in a composite)
    # by a model hosted by an API provider
    path = write(tmp_path, privacy="confidential", production="mistral-local", candidates="")
    text = path.read_text()
    declared = text[text.index("    scorers:"):text.index("    schedule:")]
    path.write_text(text.replace(declared, f"    scorers: {scorers}\n"))
    # when it is loaded, then it is refused, naming the judge and the watch's line
    with pytest.raises(PolicyViolation) as caught:
        load_config(path)
    message = str(caught.value)
    assert "turnout.yaml:19" in message and "judge model 'gpt-prod'" in message and "confidential" in message
    # and a policy that lists the judge's residency lets it through
    path.write_text(path.read_text() + "    policy: {allowed_residencies: [us]}\n")
    assert load_config(path).watches["support-watch"].policy.allowed_residencies == ("us",)


@pytest.mark.parametrize(("extra", "line", "field", "words"), [
    ("    schedule_typo: 1\n", 25, "watches[0].schedule_typo", "Extra inputs"),
    ("    timezone: Mars/Olympus\n", 25, "watches[0].timezone", "unknown timezone"),
    ("    repeat: 0\n", 25, "watches[0].repeat", "greater than or equal to 1"),
])
def test_bad_watch_fields_name_line_and_field(tmp_path: Path, extra: str, line: int, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, extra=extra))
    assert caught.value.line == line
    assert caught.value.field == field
    assert words in str(caught.value)


def test_unknown_model_reference_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model 'nope' is not declared") as caught:
        load_config(write(tmp_path, candidates="nope"))
    assert caught.value.field == "watches[0].candidates"


@pytest.mark.parametrize("scorer", [
    "{name: judge, options: {model: nobody}}",
    "{name: pairwise_judge, options: {model: nobody}}",
    "{name: all_of, options: {scorers: [exact_match, {name: judge, options: {model: nobody}}]}}",
    "{name: weighted, options: {scorers: [{name: any_of, options: {scorers: "
    "[{name: judge, options: {model: nobody}}]}}]}}",
])
def test_an_undeclared_judge_model_is_refused_at_apply_even_nested(tmp_path: Path, scorer: str) -> None:
    # given a watch whose scorer (or a part of it) names a judge model that is not declared
    path = write(tmp_path)
    path.write_text(path.read_text().replace("{name: asserts, primary: true}", scorer))
    # then loading it fails, naming the model, the field and the line
    with pytest.raises(ConfigError, match=r"judge model 'nobody' is not declared in models") as caught:
        load_config(path)
    assert caught.value.field == "watches[0].scorers" and caught.value.line == 23


def test_a_declared_judge_model_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace("{name: asserts, primary: true}",
                                             "{name: all_of, options: {scorers: [{name: judge, options: "
                                             "{model: mistral-local}}]}}"))
    assert load_config(path).watches["support-watch"].scorers


def test_bad_cron_and_unknown_scorer(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace('"0 6 * * *"', '"0 25 * * *"'))
    with pytest.raises(ConfigError, match="hour '25'"):
        load_config(path)
    path = write(tmp_path)
    path.write_text(path.read_text().replace("name: asserts", "name: no_such_scorer"))
    with pytest.raises(ConfigError, match="unknown scorer 'no_such_scorer'"):
        load_config(path)


def test_missing_golden_set_file_says_paths_are_relative(tmp_path: Path) -> None:
    path = write(tmp_path)
    (tmp_path / "cases.jsonl").unlink()
    with pytest.raises(ConfigError, match="relative to turnout.yaml") as caught:
        load_config(path)
    assert caught.value.line == 3


def test_duplicate_names_and_yaml_syntax_errors(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace("name: mistral-local", "name: gpt-prod"))
    with pytest.raises(ConfigError, match="declared twice"):
        load_config(path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        models:
          - name: x
            params: {temperature: 0
        """))
    with pytest.raises(ConfigError, match="invalid YAML") as caught:
        load_config(bad)
    assert caught.value.line is not None and caught.value.line >= 3


def test_inline_cases_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "turnout.yaml"
    path.write_text(textwrap.dedent("""\
        golden_sets:
          - name: inline
            cases:
              - {id: q1, input: "hi", expected: "hello"}
            privacy: public
        """))
    config = load_config(path)
    assert config.golden_sets["inline"][1].cases[0].expected == "hello"


def test_a_missing_required_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "turnout.yaml"
    path.write_text("models:\n  - name: m\n    base_url: http://x/v1\n")
    with pytest.raises(ConfigError, match="Field required") as caught:
        load_config(path)
    assert (caught.value.line, caught.value.field) == (2, "models[0].model")


def test_a_scorer_of_the_wrong_type_points_at_the_scorer(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace("{name: asserts, primary: true}", "17"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.field == "watches[0].scorers[1]" and caught.value.line == 23


def test_the_policy_gets_every_advisor_default(tmp_path: Path) -> None:
    policy = load_config(write(tmp_path)).watches["support-watch"].policy

    assert (policy.margin, policy.confidence, policy.critical_segments, policy.min_saving) == (0.05, 0.95, (), 0.2)
    assert (policy.hysteresis, policy.cooldown_hours, policy.volume, policy.latency_slo_ms) == (3, 24.0, None, None)


def test_a_full_policy_and_self_hosted_capacity_load(tmp_path: Path) -> None:
    extra = ("    policy: {margin: 0.03, critical_segments: [lang:fr], hysteresis: 2,\n"
             "             volume: {requests_per_month: 2000000, peak_rps: 20}, latency_slo_ms: {p95: 2000}}\n")
    path = write(tmp_path, extra=extra)
    path.write_text(path.read_text().replace("    hosting: self_hosted\n",
                                             "    hosting: self_hosted\n    latency_p95_ms: 900\n"
                                             "    pricing: {gpu_hour: 2.49, gpus: 1, capacity_rps: 12}\n"))

    config = load_config(path)

    policy = config.watches["support-watch"].policy
    assert policy.volume is not None and policy.volume.peak_rps == 20 and policy.critical_segments == ("lang:fr",)
    assert policy.latency_slo_ms is not None and policy.latency_slo_ms.p95 == 2000
    local = config.models["mistral-local"]
    assert (local.pricing.capacity_rps, local.latency_p95_ms) == (12, 900)


def test_a_bad_policy_value_names_file_line_and_field(tmp_path: Path) -> None:
    extra = "    policy:\n      volume: {requests_per_month: 1000, peak_rps: -1}\n"

    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, extra=extra))

    message = str(caught.value)
    assert "field 'watches[0].policy.volume.peak_rps'" in message
    assert f"{tmp_path / 'turnout.yaml'}:" in message and "greater than 0" in message


def test_an_unknown_policy_key_is_refused_at_apply(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"watches\[0\]\.policy\.hysteresys"):
        load_config(write(tmp_path, extra="    policy: {hysteresys: 2}\n"))
