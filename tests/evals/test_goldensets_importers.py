"""Importers of other tools' files: OpenAI-evals samples and promptfoo configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.cases import Assertion, Message
from evals.errors import GoldenSetError
from evals.goldensets import load_cases
from evals.goldensets.promptfoo_csv import assertion_from_text

DATA = Path(__file__).parent / "data" / "goldensets"
CONFIG = DATA / "promptfoo" / "promptfooconfig.yaml"


# --- OpenAI evals ------------------------------------------------------------------------


def test_openai_evals_samples_become_cases() -> None:
    # Given an openai/evals samples file: few-shot turns, list ideals, a string input, an id
    # When it is imported
    cases = load_cases(DATA / "openai_evals" / "capitals.jsonl", format="openai-evals")

    # Then ids are <stem>-<line> unless given (the blank line 4 still counts)
    assert [c.id for c in cases] == ["capitals-1", "capitals-2", "arith-1", "capitals-5"]
    # And few-shot `system` turns named example_user / example_assistant become user / assistant
    assert cases[0].input == (
        Message(role="system", content="Answer with the name of the city only."),
        Message(role="user", content="What is the capital of Italy?"),
        Message(role="assistant", content="Rome"),
        Message(role="user", content="What is the capital of France?"),
    )
    assert cases[0].metadata["message_names"] == [None, "example_user", "example_assistant", None]
    assert cases[0].expected == "Paris"
    # And a list of ideals gives the first as expected and keeps them all
    assert cases[1].expected == "Zurich"
    assert cases[1].metadata["ideal"] == ["Zurich", "Zürich"]
    # And a plain-string input stays a prompt; extra sample fields are kept as metadata
    assert cases[2].input == "Q: What is 2 + 2?\nA:"
    assert cases[3].metadata == {"ideal": ["2", "3"], "difficulty": "easy"}


def test_openai_evals_must_be_named_for_an_ambiguous_extension(tmp_path: Path) -> None:
    # Given samples in a .json file
    path = tmp_path / "samples.json"
    path.write_text('{"input": "Hi", "ideal": "Hello"}\n', encoding="utf-8")

    # When it is loaded without a format
    with pytest.raises(GoldenSetError) as caught:
        load_cases(path)

    # Then the error says to set `format:`
    assert "samples.json" in str(caught.value)
    assert "set `format:`" in str(caught.value)
    assert caught.value.field == "format"
    # And naming the format reads it
    assert load_cases(path, format="openai-evals")[0].expected == "Hello"


# --- promptfoo ---------------------------------------------------------------------------


def test_promptfoo_config_gives_one_case_per_prompt_and_test() -> None:
    # Given a promptfoo config with 2 prompts (inline and file://), 3 tests and a defaultTest
    # When it is imported
    cases = load_cases(CONFIG, format="promptfoo")

    # Then each test x prompt is a case, ids from the description slug or test-<n>, plus -p<k>
    assert [c.id for c in cases] == [
        "refund-window-p1",
        "refund-window-p2",
        "reponse-en-francais-p1",
        "reponse-en-francais-p2",
        "test-3-p1",
        "test-3-p2",
    ]
    by_id = {c.id: c for c in cases}
    # And inputs are the prompts rendered with defaultTest vars overridden by the test's vars
    assert by_id["refund-window-p1"].input == (
        "Answer the customer's question in English: How long do I have to return an item?"
    )
    assert by_id["reponse-en-francais-p2"].input == (
        "You are a formal customer-support agent for ACME.\nReply in French.\n\n"
        "Question: Puis-je changer mon adresse de livraison ?"
    )
    assert by_id["refund-window-p2"].metadata["prompt"] == "formal"


def test_promptfoo_asserts_expected_tags_and_criteria() -> None:
    # Given the realistic promptfoo config
    cases = {c.id: c for c in load_cases(CONFIG, format="promptfoo")}

    # Then asserts are defaultTest's then the test's, types kept verbatim
    refund = cases["refund-window-p1"]
    assert refund.asserts == (
        Assertion(type="not-contains", value="As an AI"),
        Assertion(type="javascript", value="output.length < 800"),
        Assertion(type="icontains", value="30 days"),
        Assertion(
            type="llm-rubric", value="Polite, and mentions the 30-day return window", weight=2
        ),
    )
    # And expected is the first equals/contains/icontains value, else the `expected` var
    assert refund.expected == "30 days"
    assert cases["reponse-en-francais-p1"].expected is None
    assert cases["test-3-p1"].expected == "Ask for the order number."
    # And tags come from metadata.tags, else the `tags` var
    assert refund.tags == ("lang:en", "topic:returns")
    assert cases["test-3-p2"].tags == ("lang:en", "topic:orders")
    # And the rubric is the judge's criteria; extra assert keys such as threshold are kept
    assert refund.criteria == "Polite, and mentions the 30-day return window"
    assert cases["reponse-en-francais-p1"].metadata["assert_options"][2] == {"threshold": 0.75}
    assert refund.metadata["vars"] == {
        "language": "English",
        "question": "How long do I have to return an item?",
    }


def test_promptfoo_tests_and_chat_prompts_from_files() -> None:
    # Given a config whose chat prompt is a JSON file and whose tests are a YAML and a CSV file
    # When it is imported
    cases = load_cases(DATA / "promptfoo" / "with_files.yaml", format="promptfoo")

    # Then the YAML tests come first, then the CSV rows, each with a rendered chat input
    assert [c.id for c in cases] == [
        "greeting-to-german",
        "thanks-to-spanish",
        "night-to-french",
        "farewell-to-italian",
    ]
    assert cases[0].input == (
        Message(
            role="system",
            content="You translate text into German. Reply with the translation only.",
        ),
        Message(role="user", content="Good morning"),
    )
    # And CSV `__expected` cells are promptfoo's short assertion form
    assert cases[2].asserts == (Assertion(type="equals", value="Bonne nuit"),)
    assert cases[3].asserts == (Assertion(type="icontains", value="a presto"),)
    assert cases[3].expected == "a presto"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("contains: Paris", {"type": "contains", "value": "Paris"}),
        ("not-icontains:sorry", {"type": "not-icontains", "value": "sorry"}),
        ("grade: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("similar(0.8): hello", {"type": "similar", "value": "hello", "threshold": 0.8}),
        ("is-json", {"type": "is-json"}),
        ("Answer: 42", {"type": "equals", "value": "Answer: 42"}),
    ],
)
def test_promptfoo_short_assertion_form(text: str, expected: dict[str, Any]) -> None:
    # Given a CSV `__expected` cell / When it is read / Then it is promptfoo's assertion
    assert assertion_from_text(text) == expected


def _write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / "promptfooconfig.yaml"


def test_promptfoo_single_prompt_text_file_split_at_dashes_and_dotted_vars(tmp_path: Path) -> None:
    # Given a prompts file holding two prompts separated by `---`, using a dotted var
    config = _write(
        tmp_path,
        {
            "prompts.txt": "Hello {{ user.name }}!\n---\nBye {{user.name}}.\n",
            "promptfooconfig.yaml": (
                "prompts: file://prompts.txt\n"
                "tests:\n"
                "  - description: Greets Ann\n"
                "    vars: {user: {name: Ann}}\n"
            ),
        },
    )

    # When it is imported
    cases = load_cases(config, format="promptfoo")

    # Then each part is a prompt, labelled by file and number
    assert [(c.id, c.input) for c in cases] == [
        ("greets-ann-p1", "Hello Ann!"),
        ("greets-ann-p2", "Bye Ann."),
    ]
    assert cases[1].metadata["prompt"] == "file://prompts.txt#2"


def test_promptfoo_var_from_file_and_prefix_option(tmp_path: Path) -> None:
    # Given a test whose var is a file:// reference and whose options add a prefix
    config = _write(
        tmp_path,
        {
            "docs/policy.txt": "Returns within 30 days.",
            "promptfooconfig.yaml": (
                "prompts: ['Policy: {{doc}}']\n"
                "tests:\n"
                "  - vars: {doc: file://docs/policy.txt}\n"
                "    options: {prefix: 'SYSTEM. '}\n"
            ),
        },
    )

    # When it is imported
    (case,) = load_cases(config, format="promptfoo")

    # Then the var holds the file's text and the prefix is prepended
    assert case.input == "SYSTEM. Policy: Returns within 30 days."


def test_promptfoo_tests_from_a_glob_and_a_tab_indented_json_file(tmp_path: Path) -> None:
    # Given tests split over files matched by a glob, one of them JSON indented with tabs
    config = _write(
        tmp_path,
        {
            "tests/b.yaml": "- description: From YAML\n  vars: {q: b}\n",
            "tests/a.json": '[\n\t{"description": "From JSON", "vars": {"q": "a"}}\n]\n',
            "promptfooconfig.yaml": "prompts: ['Q: {{q}}']\ntests: file://tests/*\n",
        },
    )

    # When it is imported
    cases = load_cases(config, format="promptfoo")

    # Then every matching file is read, in name order
    assert [(c.id, c.input) for c in cases] == [("from-json", "Q: a"), ("from-yaml", "Q: b")]
