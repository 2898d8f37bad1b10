"""Suites in the shape promptfoo's and OpenAI evals' users publish them (data/published/README.md):
each imports faithfully, case by case, or is refused with a precise reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import Case, Message
from evals.config import load_config
from evals.errors import ConfigProblems, GoldenSetError
from evals.goldensets import load_cases

PUBLISHED = Path(__file__).parent / "data" / "published"


def _cases(path: Path, format: str) -> dict[str, Case]:
    return {case.id: case for case in load_cases(path, format=format)}  # type: ignore[arg-type]


def test_getting_started_imports_every_prompt_test_pair() -> None:
    cases = _cases(PUBLISHED / "getting_started" / "promptfooconfig.yaml", "promptfoo")

    assert list(cases) == ["test-1-p1", "test-1-p2", "test-2-p1", "test-2-p2"]
    assert cases["test-1-p1"].input == "Turn this English into German: Good morning"
    assert cases["test-1-p2"].input == "Translate into German: Good morning"
    assert [(a.type, a.value) for a in cases["test-2-p2"].asserts] == [("icontains", "Onde fica a estação")]
    assert cases["test-2-p2"].expected == "Onde fica a estação"
    assert cases["test-1-p1"].metadata["vars"] == {"language": "German", "input": "Good morning"}


def test_simple_csv_reads_the_prompt_file_the_load_filter_and_expected_columns() -> None:
    cases = _cases(PUBLISHED / "simple_csv" / "promptfooconfig.yaml", "promptfoo")

    assert list(cases) == ["test-1-p1", "test-1-p2", "test-2-p1", "test-2-p2"]
    # The prompt file is split at `---`; `load` parses the JSON column as promptfoo's filter does
    assert cases["test-1-p1"].input == ('You rewrite text for a living. Keep to this style:\n- Register: formal\n'
                                        '- Size: short\n\nRewrite this in Italian:\n"Good night"')
    assert cases["test-2-p2"].input == (
        'You are a friendly language helper. Style settings: {"register":"casual","size":"short",'
        '"layout":{"list":true}}.\n\nSay this in Italian, the way people talk:\n"I\'m thirsty"')
    # `__expected: icontains:notte` is an icontains assert (and the expected answer)
    assert [(a.type, a.value) for a in cases["test-1-p2"].asserts] == [("icontains", "notte")]
    assert cases["test-2-p1"].expected == "sete"


def test_json_output_is_refused_at_its_transform() -> None:
    with pytest.raises(GoldenSetError) as caught:
        load_cases(PUBLISHED / "json_output" / "promptfooconfig.yaml", format="promptfoo")

    error = caught.value
    assert (error.line, error.field) == (22, "options.transform")
    assert "runs JavaScript on the output before checking it" in error.reason


def test_json_output_without_its_transforms_lists_the_javascript_asserts(tmp_path: Path) -> None:
    source = (PUBLISHED / "json_output" / "promptfooconfig.yaml").read_text(encoding="utf-8")
    kept = [line for line in source.splitlines() if "transform" not in line]
    (tmp_path / "promptfooconfig.yaml").write_text("\n".join(kept) + "\n", encoding="utf-8")
    (tmp_path / "turnout.yaml").write_text(
        "golden_sets: [{name: tools, file: promptfooconfig.yaml, format: promptfoo}]\n", encoding="utf-8")

    with pytest.raises(ConfigProblems) as caught:
        load_config(tmp_path / "turnout.yaml")
    assert [p.reason.split(";")[0] for p in caught.value.problems] == [
        "case 'test-1': Turnout cannot run assert[1] javascript",
        "case 'test-2': Turnout cannot run assert[1] javascript",
    ]
    config = load_config(tmp_path / "turnout.yaml", allow_unsupported=True)
    ladder = {case.id: case for case in config.golden_sets["tools"][1].cases}["test-2"]
    assert [a.type for a in ladder.asserts] == ["is-json", "javascript", "contains-any"]
    assert ladder.asserts[0].value["required"] == ["shape", "uses"]


def test_a_registry_spec_is_refused_naming_its_samples() -> None:
    with pytest.raises(GoldenSetError) as caught:
        load_cases(PUBLISHED / "openai_evals" / "test-basic.yaml", format="openai-evals")

    assert caught.value.reason.startswith("this is an OpenAI-evals registry spec (eval classes and their args), "
                                          "not samples: point `file:` at the samples JSONL it names "
                                          "(test_exact/samples.jsonl, test_includes/samples.jsonl, under "
                                          "evals/registry/data/)")


def test_registry_samples_without_git_lfs_are_refused_with_the_fix() -> None:
    with pytest.raises(GoldenSetError) as caught:
        load_cases(PUBLISHED / "openai_evals" / "samples.jsonl", format="openai-evals")

    assert (caught.value.line, caught.value.reason) == (
        1, "this is a Git LFS pointer, not the data: run `git lfs pull` in its repository")


def test_chat_samples_keep_few_shot_turns_and_every_ideal() -> None:
    cases = _cases(PUBLISHED / "openai_evals" / "chat.jsonl", "openai-evals")

    assert list(cases) == ["chat-1", "chat-2", "chat-3"]
    assert cases["chat-1"].input == (Message(role="system", content="Finish the saying in as few words as you can."),
                                     Message(role="user", content="An apple a day "))
    assert [m.role for m in cases["chat-2"].input] == ["system", "user", "assistant", "user"]
    assert (cases["chat-2"].expected, cases["chat-2"].accepted) == ("than never.", ("than never",))
    assert (cases["chat-3"].input, cases["chat-3"].expected) == (
        "What is the chemical symbol for gold? Answer with the symbol only.", "Au")


def test_the_load_filter_refuses_a_column_that_is_not_json(tmp_path: Path) -> None:
    for name in ("promptfooconfig.yaml", "prompts.txt"):
        (tmp_path / name).write_text((PUBLISHED / "simple_csv" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tests.csv").write_text('language,text,style,__expected\nItalian,Hi,"formal, short",icontains:ciao\n',
                                        encoding="utf-8")

    with pytest.raises(GoldenSetError) as caught:
        load_cases(tmp_path / "promptfooconfig.yaml", format="promptfoo")

    assert "the `load` filter got text that is not JSON" in caught.value.reason


def test_self_grading_lists_the_javascript_and_needs_the_judge_for_its_rubric() -> None:
    config_file = PUBLISHED / "self_grading" / "turnout.yaml"

    # Its length score is JavaScript: every case is listed
    with pytest.raises(ConfigProblems) as caught:
        load_config(config_file)
    assert [p.reason.split(";")[0] for p in caught.value.problems] == [
        f"case '{case}': Turnout cannot run assert[1] javascript"
        for case in ("test-1-p1", "test-1-p2", "test-2-p1", "test-2-p2")]

    # Imported as allowed: defaultTest's rubric is every case's criteria, and the watch that lacks
    # the judge is applied with a note that its scores leave the rubric out
    config = load_config(config_file, allow_unsupported=True)
    cases = {case.id: case for case in config.golden_sets["support"][1].cases}
    assert cases["test-2-p2"].input == ('You are a cheerful support agent for a bike shop.\nReply briefly to this '
                                        'message: Tom: "Do you ship to Canada?"')
    assert {case.criteria for case in cases.values()} == {"Never says that it is a bot or a virtual assistant"}
    notes = config.notes["support"]
    assert notes[0].startswith("4 case(s) carry asserts Turnout cannot run (javascript x4)")
    assert notes[1].startswith("watch 'support-watch' does not grade every check of golden set 'support': "
                               "4 case(s) with `llm-rubric` checks need the `judge` scorer")
