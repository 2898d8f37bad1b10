"""Golden-set files in Turnout's own formats: JSONL, YAML, CSV, and inline cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import Assertion, Message
from evals.goldensets import load_cases, parse_inline_cases

DATA = Path(__file__).parent / "data" / "goldensets"


def test_jsonl_reads_every_field_of_a_case() -> None:
    # Given a JSONL golden set with a blank line and a chat case using every field
    # When it is loaded
    cases = load_cases(DATA / "basic.jsonl")

    # Then every line is a case, in order, with its fields
    assert [case.id for case in cases] == ["capital-fr", "capitale-de", "summary-handbook"]
    assert cases[0].input == "What is the capital of France?"
    assert cases[0].expected == "Paris"
    assert cases[0].tags == ("lang:en", "task:qa")
    assert cases[1].cluster == "capitals"
    summary = cases[2]
    assert summary.input == (
        Message(role="system", content="You summarise documents."),
        Message(role="user", content="Summarise the document in three bullet points."),
    )
    assert summary.context is not None and summary.context.startswith("Employees may work")
    assert summary.criteria == "Mentions remote work, expenses and closing time."
    assert summary.asserts == (
        Assertion(type="icontains", value="remote"),
        Assertion(type="llm-rubric", value="is concise", weight=2.0),
    )
    assert summary.metadata == {"source": "handbook", "page": 12}


def test_yaml_golden_set_has_the_same_content_as_the_jsonl_one() -> None:
    # Given the same golden set written as YAML, keys in another order, context folded
    # When both files are loaded
    from_yaml = load_cases(DATA / "basic.yaml")
    from_jsonl = load_cases(DATA / "basic.jsonl")

    # Then the cases are equal, hash for hash
    assert from_yaml == from_jsonl
    assert [c.content_hash for c in from_yaml] == [c.content_hash for c in from_jsonl]


def test_csv_splits_tags_on_semicolons_and_reads_multiline_cells() -> None:
    # Given a CSV golden set with `;`-separated tags, an empty expected and a quoted 2-line input
    # When it is loaded
    cases = load_cases(DATA / "basic.csv")

    # Then tags are split, empty cells mean "not given", and the first cases equal the JSONL ones
    assert cases[0].tags == ("lang:en", "task:qa")
    assert cases[1].cluster == "capitals"
    assert cases[2].input == "First line,\nsecond line"
    assert cases[2].expected is None
    assert cases[2].cluster is None
    jsonl = load_cases(DATA / "basic.jsonl")
    assert [c.content_hash for c in cases[:2]] == [c.content_hash for c in jsonl[:2]]


def test_csv_accepts_optional_columns_in_any_order_and_case(tmp_path: Path) -> None:
    # Given a CSV with the optional columns, header in mixed case, and a row short of a cell
    path = tmp_path / "set.csv"
    path.write_text(
        "Input,ID,Context,Criteria,Cluster,Tags\n"
        "Summarise it.,s1,A long text.,Three points.,doc-7,doc:long ; task:summary\n"
        "Translate it.,s2\n",
        encoding="utf-8",
    )

    # When it is loaded
    first, second = load_cases(path)

    # Then each column lands in its field and missing cells are empty
    assert (first.id, first.context, first.criteria, first.cluster) == (
        "s1",
        "A long text.",
        "Three points.",
        "doc-7",
    )
    assert first.tags == ("doc:long", "task:summary")
    assert (second.id, second.context, second.tags) == ("s2", None, ())


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("set.ndjson", '{"id": "a", "input": "Hi"}\n'),
        ("set.JSONL", '{"id": "a", "input": "Hi"}\n'),
        ("set.yml", "cases:\n  - {id: a, input: Hi}\n"),
        ("set.csv", "id,input\na,Hi\n"),
    ],
)
def test_format_follows_the_extension(tmp_path: Path, name: str, text: str) -> None:
    # Given a file whose extension names its format
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    # When it is loaded without a format
    cases = load_cases(path)

    # Then it is read in that format
    assert [(c.id, c.input) for c in cases] == [("a", "Hi")]


def test_an_explicit_format_wins_over_the_extension(tmp_path: Path) -> None:
    # Given JSONL in a file with an extension that says nothing
    path = tmp_path / "cases.txt"
    path.write_text('{"id": "a", "input": "Hi"}\n', encoding="utf-8")

    # When it is loaded with format jsonl
    cases = load_cases(path, format="jsonl")

    # Then it is read as JSONL
    assert cases[0].id == "a"


def test_yaml_text_fields_are_taken_as_written(tmp_path: Path) -> None:
    # Given YAML scalars that YAML would turn into numbers, booleans and dates
    path = tmp_path / "set.yaml"
    path.write_text(
        "cases:\n"
        "  - id: 017\n"
        "    input: What is 3 / 2?\n"
        "    expected: 1.50\n"
        "    tags: [2024, lang:en]\n"
        "    metadata: {added: 2024-05-01}\n"
        "  - id: yes-no\n"
        "    input: Is water wet?\n"
        "    expected: yes\n",
        encoding="utf-8",
    )

    # When it is loaded
    first, second = load_cases(path)

    # Then text fields hold the text as written and dates stay text
    assert first.id == "017"
    assert first.expected == "1.50"
    assert first.tags == ("2024", "lang:en")
    assert first.metadata == {"added": "2024-05-01"}
    assert second.expected == "yes"


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    # Given cases sharing fields through an anchor and a merge key that one case overrides
    path = tmp_path / "set.yaml"
    path.write_text(
        "cases:\n"
        "  - &base {id: a, input: Hi, tags: [lang:en], expected: Hello}\n"
        "  - <<: *base\n"
        "    id: b\n"
        "    expected: Hey\n",
        encoding="utf-8",
    )

    # When it is loaded
    a, b = load_cases(path)

    # Then the merged case has the shared fields and its own overrides
    assert (b.id, b.input, b.tags, b.expected) == ("b", "Hi", ("lang:en",), "Hey")
    assert a.expected == "Hello"


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    # Given a CSV saved by a spreadsheet with a UTF-8 byte-order mark
    path = tmp_path / "set.csv"
    path.write_bytes("id,input\na,Grüß Gott\n".encode("utf-8-sig"))

    # When it is loaded
    cases = load_cases(path)

    # Then the first column is still `id`
    assert cases[0].id == "a"
    assert cases[0].input == "Grüß Gott"


def test_inline_cases_are_validated_like_file_cases() -> None:
    # Given cases written inline in turnout.yaml, with numbers where text is meant
    items = [
        {"id": 1, "input": "2 + 2?", "expected": 4, "tags": "task:math;lang:en"},
        {
            "id": "chat",
            "input": [{"role": "user", "content": "Hi"}],
            "assert": [{"type": "equals", "value": "Hello"}],
        },
    ]

    # When they are parsed
    first, second = parse_inline_cases(items, source="turnout.yaml: golden_sets[0].cases")

    # Then they become cases, numbers as text and tags split
    assert (first.id, first.expected, first.tags) == ("1", "4", ("task:math", "lang:en"))
    assert second.asserts == (Assertion(type="equals", value="Hello"),)
