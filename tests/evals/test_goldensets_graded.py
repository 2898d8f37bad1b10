"""Checks that are graded, not skipped: watches that lack the scorer a check needs, assert-set, the
`not-` forms, similarity lists, and inspect_ai multiple choice. Fixtures under data/imports/."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from evals.cases import Assertion, Case
from evals.config import load_config
from evals.errors import ConfigError, ConfigProblems, GoldenSetError
from evals.goldensets import load_cases
from evals.goldensets.mapped import FieldMap, read_mapped
from evals.results import Completion, Score
from evals.scoring import ScorerSpec
from evals.scoring.asserts import score_assertions, unsupported_types
from evals.scoring.builtin import asserts
from evals.scoring.choice import choice

DATA = Path(__file__).parent / "data" / "imports"
COVERAGE = DATA / "coverage"

needs_embeddings = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers is not installed (pip install 'turnout[embeddings]')",
)


def _score(factory: Any, case: Case, output: str, **measured: float) -> Score:
    completion = Completion(case_id=case.id, output=output, **measured)  # type: ignore[arg-type]
    result: Score = asyncio.run(factory()(case, completion, None))
    return result


def _promptfoo(name: str) -> dict[str, Case]:
    return {case.id: case for case in load_cases(DATA / "promptfoo" / name, format="promptfoo")}


# --- a watch must grade every check of its golden set ---------------------------------------------


def test_a_watch_without_the_judge_or_embeddings_is_refused_naming_watch_set_and_counts() -> None:
    # Given a golden set with two llm-rubric cases and one similar case, and a watch scoring only asserts
    with pytest.raises(ConfigError) as caught:
        load_config(COVERAGE / "turnout_missing.yaml")

    # Then apply refuses it, naming the watch, the golden set, and per check the cases and the scorer
    error = caught.value
    assert error.field == "watches[0].scorers"
    assert error.line == 12
    assert error.reason.startswith("watch 'asserts-only' does not grade every check of golden set 'graded': "
                                   "2 case(s) with `llm-rubric` checks need the `judge` scorer; "
                                   "1 case(s) with `similar` checks need the `semantic_similarity` scorer")
    assert "--allow-unsupported" in error.reason


def test_allowed_the_watch_is_applied_and_apply_notes_what_is_left_ungraded() -> None:
    config = load_config(COVERAGE / "turnout_missing.yaml", allow_unsupported=True)

    (note,) = config.notes["graded"]
    assert note == ("watch 'asserts-only' does not grade every check of golden set 'graded': 2 case(s) with "
                    "`llm-rubric` checks need the `judge` scorer; 1 case(s) with `similar` checks need the "
                    "`semantic_similarity` scorer; imported as allowed, so its scores leave those checks out")


def test_scorers_inside_a_composite_count() -> None:
    # Given the judge and semantic_similarity as parts of a weighted scorer
    config = load_config(COVERAGE / "turnout.yaml")

    # Then the watch is accepted with nothing to say
    assert config.notes["graded"] == ()
    assert "complete" in config.watches


# --- assert-set and the not- forms ----------------------------------------------------------------


def test_assert_set_is_imported_with_its_children_rendered_and_thresholds_kept() -> None:
    cases = _promptfoo("assert_set.yaml")

    group = cases["all-of-a-group"].asserts[0]
    assert group.type == "assert-set" and group.threshold is None
    assert group.value == [{"type": "contains", "value": "Paris"}, {"type": "icontains", "value": "france"}]
    two = cases["two-of-three"].asserts[0]
    assert (two.threshold, two.weight, len(two.value)) == (0.6, 2.0, 3)
    weighted = cases["weighted-children"].asserts[0]
    assert weighted.value == [{"type": "contains", "value": "Oslo", "weight": 3.0},
                              {"type": "levenshtein", "value": "Oslo is in Norway", "threshold": 2.0}]
    # cost and latency keep their threshold as the value inside a group too
    assert cases["cheap-and-fast"].asserts[0].value == [{"type": "cost", "value": 0.001},
                                                         {"type": "latency", "value": 200}]


@pytest.mark.parametrize(
    ("case_id", "output", "value"),
    [
        ("all-of-a-group", "Paris, France", 1.0),
        ("all-of-a-group", "Paris is lovely", 0.5),  # promptfoo scores the group by its children's mean
        ("two-of-three", "Rome, Italy", (2 * 2 / 3 + 1) / 3),  # 2 of 3 >= 0.6: passes; scores 2/3, weight 2
        ("two-of-three", "Rome", (2 * 1 / 3 + 1) / 3),  # 1 of 3 < 0.6: fails
        ("weighted-children", "Oslo is in Norway!", 1.0),
        ("weighted-children", "Oslo is a city in Norway", 0.75),  # levenshtein > 2 edits: 3/4 = threshold
    ],
)
def test_assert_set_scores_as_promptfoo_does(case_id: str, output: str, value: float) -> None:
    case = _promptfoo("assert_set.yaml")[case_id]

    score = _score(asserts, case, output)

    assert score.value == pytest.approx(value)


def test_assert_set_pass_follows_threshold_or_all() -> None:
    cases = _promptfoo("assert_set.yaml")

    def outcome(case_id: str, output: str) -> dict[str, Any]:
        details = _score(asserts, cases[case_id], output).details
        assert details is not None
        first: dict[str, Any] = details["assertions"][0]
        return first

    assert outcome("two-of-three", "Rome, Italy")["pass"] is True
    assert outcome("two-of-three", "Rome")["pass"] is False
    assert outcome("all-of-a-group", "Paris is lovely")["pass"] is False
    weighted = outcome("weighted-children", "Oslo is a city in Norway")
    assert weighted["pass"] is True and weighted["score"] == 0.75
    assert [child["pass"] for child in weighted["assertions"]] == [True, False]


def test_assert_set_of_cost_and_latency_reads_the_measured_completion() -> None:
    case = _promptfoo("assert_set.yaml")["cheap-and-fast"]

    assert _score(asserts, case, "x", cost_usd=0.0005, latency_ms=150).value == 1.0
    assert _score(asserts, case, "x", cost_usd=0.0005, latency_ms=900).value == 0.5


def test_checks_other_scorers_grade_cannot_sit_inside_an_assert_set() -> None:
    cases = _promptfoo("assert_set.yaml")

    # A judge inside a group cannot take part in the group's score: listed as unsupported, by place
    assert unsupported_types(cases["judges-inside"].asserts) == ["llm-rubric (inside assert-set)"]
    # The negations promptfoo has but Turnout cannot grade are unsupported, not mapped
    assert unsupported_types(cases["not-forms"].asserts) == ["not-llm-rubric", "not-cost"]
    assert cases["not-forms"].criteria is None  # a not-llm-rubric is not a rubric to meet


def test_apply_lists_the_assert_set_with_a_judge_inside(tmp_path: Path) -> None:
    (tmp_path / "turnout.yaml").write_text(
        f"golden_sets: [{{name: s, file: {DATA / 'promptfoo' / 'assert_set.yaml'}, format: promptfoo}}]\n",
        encoding="utf-8")

    with pytest.raises(ConfigProblems) as caught:
        load_config(tmp_path / "turnout.yaml")

    reasons = [problem.reason for problem in caught.value.problems]
    assert reasons[0].startswith("case 'judges-inside': Turnout cannot run assert[0] assert-set")
    assert reasons[1].startswith("case 'not-forms': Turnout cannot run assert[1] not-llm-rubric, assert[2] not-cost")


def test_a_malformed_assert_set_is_refused_at_import(tmp_path: Path) -> None:
    config = tmp_path / "pf.yaml"
    config.write_text("prompts: ['{{q}}']\ntests:\n  - vars: {q: x}\n    assert:\n      - type: assert-set\n"
                      "        threshold: 0.5\n", encoding="utf-8")

    with pytest.raises(GoldenSetError) as caught:
        load_cases(config, format="promptfoo")

    assert (caught.value.line, caught.value.field) == (5, "assert[0].assert")
    assert "needs a non-empty `assert:` list" in caught.value.reason


def test_levenshtein_threshold_is_kept_and_checked() -> None:
    near = Assertion(type="levenshtein", value="kitten", threshold=1)

    assert score_assertions([near], "kitten!").value == 1.0
    assert score_assertions([near], "sitting").value == 0.0  # 3 edits: passes at promptfoo's default 5 only
    assert score_assertions([Assertion(type="levenshtein", value="kitten")], "sitting").value == 1.0


# --- similar and not-similar ----------------------------------------------------------------------


def test_not_similar_is_mapped_and_one_embedding_check_per_test() -> None:
    case = _promptfoo("assert_set.yaml")["not-forms"]
    assert case.metadata["similarity_threshold"] == 0.9

    with pytest.raises(GoldenSetError) as caught:
        load_cases(DATA / "promptfoo" / "two_similar.yaml", format="promptfoo")
    assert caught.value.field == "assert[1]"
    assert "a second `similar`/`not-similar` in one test" in caught.value.reason


@needs_embeddings
def test_not_similar_passes_below_the_threshold_and_similar_takes_the_closest_text() -> None:
    scorer = ScorerSpec("semantic_similarity").build()
    not_similar = Case(id="n", input="q", expected="Quito",
                       asserts=(Assertion(type="not-similar", value="Quito is the capital of Peru."),),
                       metadata={"similarity_threshold": 0.9})
    similar = Case(id="s", input="q", expected="ignored: the assert says what to compare with",
                   asserts=(Assertion(type="similar", value=["Bananas are yellow.", "Quito is in Ecuador."]),),
                   metadata={"similarity_threshold": 0.8})

    def run(case: Case, output: str) -> Score:
        result: Score = asyncio.run(scorer(case, Completion(case_id=case.id, output=output), None))
        return result

    assert run(not_similar, "Quito is the capital of Ecuador.").value == 1.0  # similar, but below 0.9
    assert run(not_similar, "Quito is the capital of Peru.").value == 0.0
    close = run(similar, "Quito is in Ecuador.")
    assert close.value == 1.0 and close.details is not None and close.details["cosine"] > 0.99


# --- inspect_ai multiple choice -------------------------------------------------------------------


def test_multiple_choice_samples_are_rendered_as_inspect_ai_does() -> None:
    fields = FieldMap(input="input", expected="target", id="id", choices="choices")
    cases = {case.id: case for case in read_mapped(DATA / "mapped" / "choices.jsonl", fields=fields).cases}

    one = cases["mc-1"]
    assert one.input == (
        "Answer the following multiple choice question. The entire content of your response should be of the "
        "following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of A,B,C,D.\n\n"
        "Which planet is known as the red planet?\n\nA) Venus\nB) Mars\nC) Jupiter\nD) Saturn")
    assert one.expected == "B"
    assert one.metadata == {"question": "Which planet is known as the red planet?",
                            "choices": ["Venus", "Mars", "Jupiter", "Saturn"], "choice_target": ["B"]}
    several = cases["mc-2"]
    assert several.input.startswith("Answer the following multiple choice question where multiple answers may "
                                    "be correct.")
    assert several.expected == "B, D"
    # A row without choices in the same file is an ordinary case
    assert cases["open-1"].expected == "red" and "choices" not in cases["open-1"].metadata


@pytest.mark.parametrize(
    ("case_id", "output", "value"),
    [
        ("mc-1", "ANSWER: B", 1.0),
        ("mc-1", "The red planet is Mars.\nanswer: b", 1.0),
        ("mc-1", "ANSWER: A", 0.0),
        ("mc-1", "ANSWER: B, C", 0.0),
        ("mc-1", "ANSWER: B, E", 1.0),  # E names no choice: inspect_ai ignores it
        ("mc-1", "Mars", 0.0),  # no ANSWER line
        ("mc-2", "ANSWER: B, D", 1.0),
        ("mc-2", "ANSWER: DB", 1.0),
        ("mc-2", "ANSWER: B", 0.0),
    ],
)
def test_the_choice_scorer_reads_the_answer_letters(case_id: str, output: str, value: float) -> None:
    fields = FieldMap(input="input", expected="target", id="id", choices="choices")
    cases = {case.id: case for case in read_mapped(DATA / "mapped" / "choices.jsonl", fields=fields).cases}

    assert _score(choice, cases[case_id], output).value == value


def test_choice_on_a_case_without_choices_is_unscorable() -> None:
    score = _score(choice, Case(id="x", input="q", expected="B"), "ANSWER: B")

    assert score.value is None and "not a multiple-choice sample" in (score.error or "")


def test_bad_multiple_choice_rows_are_all_reported() -> None:
    fields = FieldMap(input="input", expected="target", id="id", choices="choices")

    with pytest.raises(ConfigProblems) as caught:
        read_mapped(DATA / "mapped" / "choices_bad.jsonl", fields=fields)

    found = [(p.line, p.field, p.reason) for p in caught.value.problems]
    assert found[0][:2] == (1, "target") and "target 'C' names no choice: there are 2 (A to B)" in found[0][2]
    assert found[1][:2] == (2, "input") and "must be text" in found[1][2]
    assert found[2][:2] == (3, "choices") and "a list of 2 to 26 non-empty texts" in found[2][2]


def test_choices_that_fields_do_not_map_are_refused() -> None:
    with pytest.raises(ConfigProblems) as caught:
        read_mapped(DATA / "mapped" / "choices.jsonl", fields=FieldMap(input="input", expected="target", id="id"))

    assert [p.line for p in caught.value.problems] == [1, 2]
    assert "add `choices: choices`" in caught.value.problems[0].reason


def test_a_watch_on_multiple_choice_cases_needs_the_choice_scorer(tmp_path: Path) -> None:
    turnout = tmp_path / "turnout.yaml"
    body = (f"golden_sets: [{{name: mc, file: {DATA / 'mapped' / 'choices.jsonl'}, "
            "fields: {input: input, expected: target, id: id, choices: choices}}]\n"
            "models: [{name: prod, kind: sim, model: prod-sim}]\n"
            "watches: [{name: w, golden_set: mc, production: prod, scorers: [%s]}]\n")
    turnout.write_text(body % "exact_match", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(turnout)
    assert "2 case(s) with `multiple choice` checks need the `choice` scorer" in caught.value.reason

    turnout.write_text(body % "choice", encoding="utf-8")
    assert load_config(turnout).watches["w"].scorers == ["choice"]


def test_a_native_assert_set_that_is_not_a_list_is_refused_at_apply(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "a", "input": "q", "assert": [{"type": "assert-set", "value": "contains Paris"}]}\n'
        '{"id": "b", "input": "q", "assert": [{"type": "assert-set", "value": '
        '[{"type": "assert-set", "value": []}]}]}\n',
        encoding="utf-8")
    (tmp_path / "turnout.yaml").write_text("golden_sets: [{name: s, file: cases.jsonl}]\n", encoding="utf-8")

    with pytest.raises(ConfigProblems) as caught:
        load_config(tmp_path / "turnout.yaml", allow_unsupported=True)

    assert [(p.field, p.reason.split(":")[0]) for p in caught.value.problems] == [
        ("assert[0].value", "case 'a'"), ("assert[0].value[0].value", "case 'b'")]
    assert "needs a non-empty list of asserts" in caught.value.problems[0].reason
