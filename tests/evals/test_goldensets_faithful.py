"""Imports that drop or change nothing silently: each fixture under data/imports/ is one bullet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evals.cases import Case, Message
from evals.config import load_config
from evals.errors import ConfigProblems, GoldenSetError
from evals.goldensets import load_cases
from evals.goldensets.mapped import FieldMap, read_mapped
from evals.goldensets.promptfoo_csv import ASSERT_TYPES
from evals.results import Completion
from evals.scoring.asserts import is_supported
from evals.scoring.builtin import asserts, exact_match

DATA = Path(__file__).parent / "data" / "imports"
PROMPTFOO = DATA / "promptfoo"


def _promptfoo(name: str) -> dict[str, Case]:
    return {case.id: case for case in load_cases(PROMPTFOO / name, format="promptfoo")}


def _score(scorer_factory: object, case: Case, output: str, **measured: float) -> object:
    completion = Completion(case_id=case.id, output=output, **measured)  # type: ignore[arg-type]
    return asyncio.run(scorer_factory()(case, completion, None))  # type: ignore[operator]


# --- nothing is silently dropped ---------------------------------------------------------------


def test_apply_refuses_unsupported_asserts_listing_each_case() -> None:
    # Given a json-output config whose checks include javascript and python
    # When turnout.yaml naming it is loaded
    with pytest.raises(ConfigProblems) as caught:
        load_config(PROMPTFOO / "turnout.yaml")

    # Then every case with an unsupported assert is listed, with the assert and the way out
    problems = caught.value.problems
    assert [p.reason.split(":")[0] for p in problems] == ["case 'ada'", "case 'only-code'"]
    assert "assert[1] javascript" in problems[0].reason
    assert "assert[0] python" in problems[1].reason
    assert "--allow-unsupported" in str(caught.value)
    assert caught.value.to_data()[0]["field"] == "assert"


def test_allow_unsupported_imports_them_as_unscorable_and_says_how_many() -> None:
    # Given the same config, imported with --allow-unsupported
    config = load_config(PROMPTFOO / "turnout.yaml", allow_unsupported=True)

    # Then apply's notes count the cases and the types
    (note,) = config.notes["people"]
    assert note.startswith("2 case(s) carry asserts Turnout cannot run (javascript x1, python x1)")
    # And the case with javascript among other checks is unscorable, not 1.0 from is-json alone
    cases = {case.id: case for case in config.golden_sets["people"][1].cases}
    ada = _score(asserts, cases["ada"], '{"name": "Ada", "age": 37}')
    assert ada.value is None
    assert ada.error == "unsupported assertion(s) imported as unscorable: javascript"
    # And a case with supported checks only is scored as before
    assert _score(asserts, cases["plain"], "Grace Hopper").value == 1.0


@pytest.mark.parametrize(
    ("name", "field"), [("transform.yaml", "options.transform"), ("assert_transform.yaml", "assert[0].transform")]
)
def test_transform_is_refused_by_name(name: str, field: str) -> None:
    # Given a test whose output is transformed by JavaScript before being checked
    with pytest.raises(GoldenSetError) as caught:
        load_cases(PROMPTFOO / name, format="promptfoo")

    # Then the import is refused, naming the option
    assert caught.value.field == field
    assert "runs JavaScript" in caught.value.reason


def test_glob_vars_bare_prompt_paths_refs_and_rendered_asserts() -> None:
    cases = _promptfoo("faithful.yaml")

    # A glob var makes one test per file (ids from the file names), not one with the first file
    assert list(cases) == ["summary-alpha", "summary-beta", "languages-1", "languages-2"]
    assert cases["summary-alpha"].input == "Summarise in French:\nFirst article.\n"
    assert cases["summary-beta"].input == "Summarise in French:\nSecond article.\n"
    # `prompts: [prompts.txt]` is the prompt file, not the text "prompts.txt"
    assert cases["summary-alpha"].metadata["prompt"] == "prompts.txt"
    # $ref asserts come from assertionTemplates; values and rubrics are rendered with the vars
    alpha = cases["summary-alpha"]
    assert [(a.type, a.value) for a in alpha.asserts] == [
        ("latency", 5000),
        ("icontains", "French"),
        ("llm-rubric", "A faithful summary in French"),
        ("cost", 0.002),
    ]
    assert alpha.criteria == "A faithful summary in French"
    # Array vars make one test per value, filters included
    assert cases["languages-2"].input == "Summarise in German:\nplain text"
    assert [a.value for a in cases["languages-2"].asserts] == [5000, "GERMAN"]


def test_cost_and_latency_are_checked_on_the_measured_completion() -> None:
    alpha = _promptfoo("faithful.yaml")["summary-alpha"]
    answer = "Un résumé en French"

    # Within both limits: every deterministic check passes (the rubric is the judge's)
    assert _score(asserts, alpha, answer, latency_ms=1200, cost_usd=0.001).value == 1.0
    # Too slow: the latency check fails
    slow = _score(asserts, alpha, answer, latency_ms=9000, cost_usd=0.001)
    assert slow.value == pytest.approx(2 / 3)
    assert "latency 9000 ms, at most 5000 ms allowed" in str(slow.details)


def test_var_files_are_parsed_yaml_1_2_and_nunjucks_renders() -> None:
    cases = _promptfoo("templated.yaml")
    greeting = cases["profile-1-p2"]

    # A .yaml var file is data (YAML 1.2: `Yes` stays text, `true` is a boolean)
    assert greeting.metadata["vars"]["profile"] == {"name": "Ada", "answer": "Yes", "active": True}
    assert greeting.metadata["vars"]["flag"] == "yes"
    # {% if %}, {% for %}, | trim and | dump render as in Nunjucks
    assert greeting.input == 'Hello Ada: {"name": "Ada", "answer": "Yes", "active": true} [a][b]'
    # `prompts:` as {path: label}
    assert cases["profile-1-p1"].metadata["prompt"] == "Summary"
    # `similar` keeps its text and threshold for semantic_similarity
    assert [(a.type, a.value) for a in greeting.asserts] == [("similar", "Hello Ada")]
    assert greeting.metadata["similarity_threshold"] == 0.9


def test_chat_prompts_with_content_blocks_and_csv_special_columns() -> None:
    (chat,) = _promptfoo("chat.yaml").values()
    assert chat.input == (
        Message(role="system", content="Be brief."),
        Message(role="user", content="What is 2+2?\nAnswer with a number."),
    )
    (row,) = _promptfoo("csv.yaml").values()
    assert row.expected == "Paris"
    assert row.metadata["threshold"] == 0.5
    assert row.metadata["lang"] == "fr"


# --- OpenAI evals --------------------------------------------------------------------------------


def test_openai_evals_every_ideal_is_accepted() -> None:
    (case,) = load_cases(DATA / "openai_evals" / "ideals.jsonl", format="openai-evals")

    assert (case.expected, case.accepted) == ("Zurich", ("Zürich",))
    assert _score(exact_match, case, "Zürich").value == 1.0
    assert _score(exact_match, case, "Geneva").value == 0.0


def test_a_git_lfs_pointer_says_to_pull() -> None:
    with pytest.raises(GoldenSetError) as caught:
        load_cases(DATA / "openai_evals" / "pointer.jsonl", format="openai-evals")

    assert "Git LFS pointer" in caught.value.reason
    assert "git lfs pull" in caught.value.reason
    assert caught.value.line == 1


# --- field mapping --------------------------------------------------------------------------------


def test_field_mapping_reads_an_inspect_style_file_with_tags_and_generated_ids() -> None:
    config = load_config(DATA / "mapped" / "turnout.yaml")

    cases = config.golden_sets["inspect"][1].cases
    assert [c.input for c in cases] == ["Capital of France?", "Quelle est la capitale de l'Italie ?"]
    assert (cases[0].expected, cases[0].accepted) == ("Paris", ("paris, France",))
    assert cases[1].tags == ("category:geo", "lang:fr")
    assert cases[1].metadata == {"source": "sheet"}
    assert all(c.id.startswith("sha-") and len(c.id) == 16 for c in cases)
    assert config.notes["inspect"] == ("2 case id(s) generated from the content hash "
                                       "(`fields:` maps no id column, or rows lack it)",)


def test_field_mapping_reports_every_bad_row_at_once() -> None:
    with pytest.raises(ConfigProblems) as caught:
        read_mapped(DATA / "mapped" / "broken.csv", fields=FieldMap(input="question", id="sample_id"))

    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "question"), (4, "question")]


# --- property: what apply accepts, Turnout scores -------------------------------------------------

_TYPES = st.sampled_from(sorted(ASSERT_TYPES | {"not-contains", "not-javascript", "assert-set", "cost", "latency"}))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_TYPES, min_size=1, max_size=4), min_size=1, max_size=4))
@example([["similar", "similar"]])
@example([["contains"], ["not-similar", "similar"]])
def test_every_assert_of_an_accepted_config_is_scored_or_listed(tmp_path_factory: pytest.TempPathFactory,
                                                                tests: list[list[str]]) -> None:
    folder = tmp_path_factory.mktemp("pf")
    lines = ["prompts: ['{{q}}']", "tests:"]
    for number, types in enumerate(tests):
        lines += [f"  - vars: {{q: q{number}}}", "    assert:"]
        lines += [f"      - {{type: {kind}, value: x, threshold: 1}}" if kind != "assert-set" else
                  "      - {type: assert-set, threshold: 1, assert: [{type: contains, value: x}]}" for kind in types]
    (folder / "promptfooconfig.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "turnout.yaml").write_text(
        "golden_sets: [{name: s, file: promptfooconfig.yaml, format: promptfoo}]\n", encoding="utf-8")
    wanted_unsupported = sum(any(not is_supported(kind) for kind in types) for types in tests)
    try:
        config = load_config(folder / "turnout.yaml")
    except GoldenSetError as exc:  # one case refused, by name
        if "a second `similar`" in exc.reason:
            assert any(sum(kind in ("similar", "not-similar") for kind in types) > 1 for types in tests)
        else:
            assert wanted_unsupported == 1 and "Turnout cannot run" in exc.reason
        return
    except ConfigProblems as exc:
        assert len(exc.problems) == wanted_unsupported
        return
    assert wanted_unsupported == 0
    for case in config.golden_sets["s"][1].cases:
        assert all(is_supported(a.type) for a in case.asserts)
