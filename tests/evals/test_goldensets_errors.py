"""Every bad golden-set input raises a GoldenSetError that names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.errors import GoldenSetError
from evals.goldensets import Format, load_cases, parse_inline_cases


def _error(
    tmp_path: Path, name: str, content: str | bytes, fmt: Format | None = None
) -> GoldenSetError:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(GoldenSetError) as caught:
        load_cases(path, format=fmt)
    return caught.value


def _assert_points_at(
    error: GoldenSetError, name: str, line: int | None, field: str | None
) -> None:
    text = str(error)
    assert name in text
    assert error.file is not None and error.file.endswith(name)
    assert error.line == line
    assert error.field == field
    if line is not None:
        assert f"{name}:{line}" in text
    if field is not None:
        assert f"field '{field}'" in text


GOOD = '{"id": "ok", "input": "Hi"}\n'

# (file name, content, format, line, field, words of the message)
CASES: list[tuple[str, str | bytes, Format | None, int | None, str | None, str]] = [
    # JSONL
    ("bad.jsonl", GOOD + '{"id": "b", "input": "Hi",}\n', None, 2, None, "invalid JSON"),
    ("list.jsonl", GOOD + '["a", "b"]\n', None, 2, None, "must be a mapping"),
    ("noinput.jsonl", GOOD + '{"id": "b"}\n', None, 2, "input", "Field required"),
    ("blank.jsonl", '{"id": "b", "input": "   "}\n', None, 1, "input", "must not be empty"),
    ("number.jsonl", '{"id": "b", "input": 42}\n', None, 1, "input", "list of {role, content}"),
    (
        "role.jsonl",
        GOOD + '{"id": "b", "input": [{"role": "human", "content": "Hi"}]}\n',
        None,
        2,
        "input[0].role",
        'got "human"',
    ),
    (
        "assert.jsonl",
        '{"id": "b", "input": "Hi", "assert": [{"value": 1}]}\n',
        None,
        1,
        "assert[0].type",
        "Field required",
    ),
    (
        "extra.jsonl",
        '{"id": "b", "input": "Hi", "answer": "x"}\n',
        None,
        1,
        "answer",
        "unknown field",
    ),
    (
        "dupkey.jsonl",
        '{"id": "b", "input": "Hi", "input": "Ho"}\n',
        None,
        1,
        "input",
        "duplicate key",
    ),
    ("dupid.jsonl", GOOD + "\n" + GOOD, None, 3, "id", "first at line 1, again at line 3"),
    ("nan.jsonl", '{"id": "b", "input": "Hi", "metadata": {"x": NaN}}\n', None, 1, None, "NaN"),
    ("empty.jsonl", "\n\n", None, None, None, "no cases"),
    (
        "latin1.jsonl",
        GOOD.encode() + '{"id": "é", "input": "x"}\n'.encode("latin-1"),
        None,
        2,
        None,
        "UTF-8",
    ),
    # YAML
    (
        "weight.yaml",
        "cases:\n  - id: a\n    input: Hi\n    assert:\n      - type: equals\n        value: Hi\n"
        "      - type: contains\n        weight: heavy\n",
        None,
        8,
        "assert[1].weight",
        "valid number",
    ),
    ("syntax.yaml", "cases:\n  - id: a\n    input: [unclosed\n", None, 4, None, "invalid YAML"),
    ("list.yaml", "- id: a\n  input: Hi\n", None, 1, None, "put the cases under `cases:`"),
    ("scalar.yaml", "just text\n", None, 1, None, "mapping with a `cases:` list"),
    (
        "topkey.yaml",
        "name: x\ncases:\n  - {id: a, input: Hi}\n",
        None,
        1,
        "name",
        "unknown top-level key",
    ),
    ("nolist.yaml", "cases: {id: a}\n", None, 1, "cases", "must be a list"),
    ("nocases.yaml", "cases: []\n", None, None, None, "no cases"),
    ("missing.yaml", "other: 1\n", None, 1, "other", "unknown top-level key"),
    ("empty.yaml", "# nothing yet\n", None, None, None, "empty"),
    (
        "notmap.yaml",
        "cases:\n  - id: a\n    input: Hi\n  - just a string\n",
        None,
        4,
        "cases[1]",
        "mapping of fields",
    ),
    (
        "dupkey.yaml",
        "cases:\n  - id: a\n    input: Hi\n    input: Ho\n",
        None,
        4,
        None,
        "duplicate key 'input'",
    ),
    (
        "dupid.yaml",
        "cases:\n  - {id: a, input: Hi}\n\n  - id: a\n    input: Ho\n",
        None,
        4,
        "id",
        "first at line 2",
    ),
    ("badutf.yaml", b"cases:\n  - id: a\n    input: \xff\xfe\n", None, 3, None, "not valid UTF-8"),
    # CSV
    ("noinput.csv", "id,expected\na,b\n", None, 1, "input", "required column 'input'"),
    ("unknown.csv", "id,input,answer\na,b,c\n", None, 1, "answer", "unknown column"),
    ("twice.csv", "id,input,id\na,b,c\n", None, 1, "id", "appears twice"),
    ("cells.csv", "id,input\na,b\nc,d,e\n", None, 3, None, "3 cells"),
    ("noid.csv", "id,input\n,Hi\n", None, 2, "id", "at least 1 character"),
    (
        "dupid.csv",
        'id,input\na,"two\nlines"\na,Hi\n',
        None,
        4,
        "id",
        "first at line 2, again at line 4",
    ),
    ("quote.csv", 'id,input\na,"never closed\n', None, 2, None, "invalid CSV"),
    ("empty.csv", "", None, None, None, "empty"),
    ("latin1.csv", "id,input\na,Caf\xe9\n".encode("latin-1"), None, 2, None, "UTF-8"),
    # Format
    ("set.json", GOOD, None, None, "format", "set `format:`"),
    # OpenAI evals
    (
        "oe.jsonl",
        '{"input": "Hi", "ideal": 4}\n',
        "openai-evals",
        1,
        "ideal",
        "string or a list of strings",
    ),
    ("oe2.jsonl", '{"input": "Hi"}\n{"ideal": "x"}\n', "openai-evals", 2, "input", "needs `input`"),
    ("oe3.jsonl", '{"input": ["Hi"]}\n', "openai-evals", 1, "input[0]", "role and content"),
    (
        "oe4.jsonl",
        '{"input": "Hi", "id": "a"}\n{"input": "Ho", "id": "a"}\n',
        "openai-evals",
        2,
        "id",
        "duplicate",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "fmt", "line", "field", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_file_raises_an_error_naming_file_line_and_field(
    tmp_path: Path,
    name: str,
    content: str | bytes,
    fmt: Format | None,
    line: int | None,
    field: str | None,
    words: str,
) -> None:
    # Given a golden-set file with one problem
    # When it is loaded
    error = _error(tmp_path, name, content, fmt)

    # Then the error names the file, the line and the field, and says what is wrong
    _assert_points_at(error, name, line, field)
    assert words in str(error)


def test_missing_file_says_which_path_and_what_it_is_relative_to(tmp_path: Path) -> None:
    # Given a path to no file
    path = tmp_path / "sets" / "absent.jsonl"

    # When it is loaded
    with pytest.raises(GoldenSetError) as caught:
        load_cases(path)

    # Then the error names the path and reminds that `file:` is relative to turnout.yaml
    assert str(path) in str(caught.value)
    assert "relative to the turnout.yaml" in str(caught.value)


def test_a_directory_is_not_a_golden_set(tmp_path: Path) -> None:
    # Given a directory named like a golden set
    (tmp_path / "set.jsonl").mkdir()

    # When it is loaded / Then the error says it is a directory
    with pytest.raises(GoldenSetError, match="is a directory"):
        load_cases(tmp_path / "set.jsonl")


def test_inline_case_errors_name_the_source_and_index() -> None:
    # Given inline cases whose second lacks an input
    items = [{"id": "a", "input": "Hi"}, {"id": "b", "inptu": "Ho"}]

    # When they are parsed
    with pytest.raises(GoldenSetError) as caught:
        parse_inline_cases(items, source="turnout.yaml: golden_sets[0].cases")

    # Then the error names the source and the case index with the field
    assert str(caught.value).startswith("turnout.yaml: golden_sets[0].cases: field '[1].")
    assert caught.value.field in ("[1].input", "[1].inptu")


def test_inline_duplicate_ids_name_both_cases() -> None:
    # Given inline cases with the same id twice / When parsed / Then both indexes are named
    with pytest.raises(GoldenSetError, match=r"first at \[0\], again at \[2\]"):
        parse_inline_cases(
            [{"id": "a", "input": "x"}, {"id": "b", "input": "y"}, {"id": "a", "input": "z"}],
            source="turnout.yaml: golden_sets[1].cases",
        )


def test_inline_empty_list_is_an_error() -> None:
    # Given no inline cases / When parsed / Then the error says the golden set is empty
    with pytest.raises(GoldenSetError, match="no cases"):
        parse_inline_cases([], source="turnout.yaml: golden_sets[0].cases")


# --- promptfoo ---------------------------------------------------------------------------


def _promptfoo_error(tmp_path: Path, files: dict[str, str]) -> GoldenSetError:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(GoldenSetError) as caught:
        load_cases(tmp_path / "promptfooconfig.yaml", format="promptfoo")
    return caught.value


def test_promptfoo_unknown_var_names_the_test_and_the_var(tmp_path: Path) -> None:
    # Given a prompt using {{ city }} and a second test that does not set it
    error = _promptfoo_error(
        tmp_path,
        {
            "promptfooconfig.yaml": (
                "prompts: ['Weather in {{ city }}?']\n"
                "tests:\n"
                "  - description: Paris\n"
                "    vars: {city: Paris}\n"
                "  - description: Nowhere\n"
                "    vars:\n"
                "      town: Lyon\n"
            )
        },
    )

    # Then the error names the test, the var, and the line of the test's vars
    _assert_points_at(error, "promptfooconfig.yaml", 6, "vars.city")
    assert "'Nowhere'" in str(error)
    assert "uses var 'city'" in str(error)


def test_promptfoo_duplicate_descriptions_name_both_lines(tmp_path: Path) -> None:
    # Given two tests with the same description
    error = _promptfoo_error(
        tmp_path,
        {
            "promptfooconfig.yaml": (
                "prompts: ['{{q}}']\n"
                "tests:\n"
                "  - description: Same\n"
                "    vars: {q: a}\n"
                "  - description: Same\n"
                "    vars: {q: b}\n"
            )
        },
    )

    # Then the duplicate id names both lines
    _assert_points_at(error, "promptfooconfig.yaml", 5, "id")
    assert "first at line 3, again at line 5" in str(error)


@pytest.mark.parametrize(
    ("config", "line", "field", "words"),
    [
        ("tests: [{vars: {a: 1}}]\n", 1, "prompts", "needs `prompts:`"),
        ("prompts: ['{{a}}']\n", 1, "tests", "needs `tests:`"),
        ("prompts: ['{{a}}']\ntests: []\n", 1, "tests", "no cases"),
        (
            "prompts: ['{{ a | shout }}']\ntests: [{vars: {a: x}}]\n",
            1,
            "prompts[0]",
            "unsupported expression",
        ),
        (
            "prompts: ['{% if a %}x']\ntests: [{vars: {a: x}}]\n",
            1,
            "prompts[0]",
            "invalid Nunjucks template",
        ),
        ("prompts: ['{{a}}']\ntests:\n  - vars: {a: []}\n", 3, "vars.a", "one test per value"),
        (
            "prompts: ['{{a}}']\ntests:\n  - vars: {a: x}\n    assert:\n      - value: x\n",
            5,
            "assert[0].type",
            "Field required",
        ),
        ("prompts: ['{{a}}']\ntests:\n  - vars: [a]\n", 3, "vars", "must be a mapping"),
        ("prompts: ['{{a}}']\ntests:\n  - just text\n", 3, "tests[0]", "must be a mapping"),
        (
            "prompts: ['{{a}}']\ntests: file://nowhere.yaml\n",
            None,
            None,
            "relative to promptfooconfig.yaml",
        ),
        (
            "prompts: [file://code.py]\ntests: [{vars: {a: x}}]\n",
            None,
            "prompts[0]",
            "not supported",
        ),
        ("- not a config\n", 1, None, "mapping with `prompts:` and `tests:`"),
    ],
)
def test_promptfoo_config_errors(
    tmp_path: Path, config: str, line: int | None, field: str | None, words: str
) -> None:
    # Given a promptfoo config with one problem
    (tmp_path / "code.py").write_text("def prompt(): ...\n", encoding="utf-8")

    # When it is imported
    error = _promptfoo_error(tmp_path, {"promptfooconfig.yaml": config})

    # Then the error points at it
    assert words in str(error)
    assert error.line == line
    assert error.field == field


def test_promptfoo_errors_in_a_tests_file_name_that_file(tmp_path: Path) -> None:
    # Given tests in a separate file, one with a bad assert weight on its line 4
    error = _promptfoo_error(
        tmp_path,
        {
            "promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://tests.yaml\n",
            "tests.yaml": "- vars: {q: a}\n  assert:\n    - type: equals\n      weight: lots\n",
        },
    )

    # Then the error names the tests file, the line and the field
    _assert_points_at(error, "tests.yaml", 4, "assert[0].weight")


def test_promptfoo_template_error_in_a_prompt_file_names_its_line(tmp_path: Path) -> None:
    # Given a prompts file whose second prompt, on line 4, uses a custom Nunjucks filter
    error = _promptfoo_error(
        tmp_path,
        {
            "prompts.txt": "Hello {{name}}\n---\n\nBye {{ name | shout }}\n",
            "promptfooconfig.yaml": "prompts: file://prompts.txt\ntests: [{vars: {name: A}}]\n",
        },
    )

    # Then the error names the prompts file and that line
    _assert_points_at(error, "prompts.txt", 4, "prompts[0]")
    assert "unsupported expression" in str(error)
