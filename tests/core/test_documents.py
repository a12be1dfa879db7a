"""Parsing YAML and JSON with a line for every value, duplicate keys and syntax errors."""

from __future__ import annotations

import itertools

import pytest

from controller.core.documents import Document, format_path, parse_document, strip_nulls
from controller.core.model import Problem

TASK_YAML = """\
family: web
containerDefinitions:
- name: web
  image: nginx
  portMappings:
  - containerPort: 80
    hostPort: 80
cpu: '256'
"""

TASK_JSON = """\
{
  "family": "web",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "nginx",
      "portMappings": [
\t\t{"containerPort": 80, "hostPort": 80}
      ]
    }
  ]
}
"""


def parse(file: str, text: str) -> Document:
    doc, problems = parse_document(file, text)
    assert problems == []
    assert doc is not None
    return doc


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ((), 1),
        (("family",), 1),
        (("containerDefinitions",), 2),
        (("containerDefinitions", 0), 3),
        (("containerDefinitions", 0, "image"), 4),
        (("containerDefinitions", 0, "portMappings", 0, "hostPort"), 7),
        (("cpu",), 8),
        # a key the file does not have: its nearest written ancestor
        (("containerDefinitions", 0, "memory"), 3),
    ],
)
def test_yaml_values_have_lines(path: tuple[str | int, ...], line: int) -> None:
    assert parse("t.yaml", TASK_YAML).line(path) == line


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("family",), 2),
        (("containerDefinitions", 0, "image"), 6),
        (("containerDefinitions", 0, "portMappings", 0, "hostPort"), 8),
    ],
)
def test_json_values_have_lines_even_with_tabs(path: tuple[str | int, ...], line: int) -> None:
    doc = parse("t.json", TASK_JSON)
    assert doc.value["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 80, "hostPort": 80}
    ]
    assert doc.line(path) == line


def test_yaml_scalars_keep_their_types_and_timestamps_stay_text() -> None:
    doc = parse("x.yaml", "a: 1\nb: '1'\nc: true\nd: 1.5\ne:\nf: 2024-01-02\ng: ENABLED\n")
    assert doc.value == {
        "a": 1,
        "b": "1",
        "c": True,
        "d": 1.5,
        "e": None,
        "f": "2024-01-02",
        "g": "ENABLED",
    }


def test_numeric_keys_become_text() -> None:
    assert parse("x.yaml", "dockerLabels:\n  8080: web\n").value == {
        "dockerLabels": {"8080": "web"}
    }


def test_merge_keys_are_supported_and_local_keys_win() -> None:
    text = "base: &b\n  cpu: 1\n  memory: 2\nweb:\n  <<: *b\n  memory: 3\n"
    assert parse("x.yaml", text).value["web"] == {"cpu": 1, "memory": 3}


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "d.yaml",
            "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n",
            [
                "d.yaml:4: duplicate key 'c' (first at line 3)",
                "d.yaml:5: duplicate key 'a' (first at line 1)",
            ],
        ),
        (
            "d.json",
            '{\n  "a": 1,\n  "a": 2\n}\n',
            ["d.json:3: duplicate key 'a' (first at line 2)"],
        ),
    ],
)
def test_duplicate_keys_are_reported_and_the_first_is_kept(
    file: str, text: str, expected: list[str]
) -> None:
    doc, problems = parse_document(file, text)
    assert [str(p) for p in problems] == expected
    assert doc is not None
    assert doc.value["a"] == 1


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "b.yaml",
            "a: 1\nb: [1, 2\nc: 3\n",
            "b.yaml:3: invalid YAML: while parsing a flow sequence",
        ),
        ("b.yaml", "a: 1\n\tb: 2\n", "b.yaml:2: invalid YAML:"),
        ("b.yaml", "a: 1\n---\nb: 2\n", "b.yaml:2: invalid YAML: expected a single document"),
        (
            "b.json",
            '{\n  "a": 1\n  "b": 2\n}\n',
            "b.json:3: invalid JSON: Expecting ',' delimiter (column 3)",
        ),
        (
            "b.json",
            '{\n  "serviceName": myapp\n}\n',
            "b.json:2: invalid JSON: Expecting value (column 18)",
        ),
        ("b.yaml", "a: !Ref x\n", "b.yaml:1: unsupported YAML tag !Ref"),
        (
            "b.yaml",
            "? [a, b]\n: 1\n",
            "b.yaml:1: a mapping key must be a plain value, not a list or mapping",
        ),
    ],
)
def test_syntax_errors_have_a_line(file: str, text: str, expected: str) -> None:
    doc, problems = parse_document(file, text)
    assert doc is None
    assert len(problems) == 1
    assert str(problems[0]).startswith(expected)


def test_empty_file_is_a_null_document() -> None:
    assert parse("e.yaml", "# nothing\n").value is None


def test_document_problem_uses_the_line_of_the_path() -> None:
    doc = parse("t.yaml", TASK_YAML)
    assert doc.problem(("cpu",), "bad") == Problem("t.yaml", 8, "bad")


def test_strip_nulls_removes_unset_values_at_every_depth() -> None:
    value = {"a": None, "b": [{"c": None, "d": 1}, None], "e": {}, "f": []}
    assert strip_nulls(value) == {"b": [{"d": 1}], "e": {}, "f": []}


@pytest.mark.parametrize(
    ("path", "text"),
    [((), ""), (("a",), "a"), (("a", 0, "b"), "a[0].b"), ((0, "policyName"), "[0].policyName")],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


# ------------------------------------------------------------------ merge keys


def test_a_literal_key_wins_over_a_merged_one_and_keeps_its_line() -> None:
    doc, problems = parse_document(
        "m.yaml", "base: &b\n  cpu: 1\n  memory: 2\nweb:\n  memory: 3\n  <<: *b\n"
    )
    assert problems == []
    assert doc is not None
    assert doc.value["web"] == {"cpu": 1, "memory": 3}
    assert (doc.line(("web", "memory")), doc.line(("web", "cpu"))) == (5, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # two '<<' keys are duplicate keys: the second would win or be lost, depending on the reader
        (
            "a: &a {x: 1}\nb: &b {x: 2}\nweb:\n  <<: *a\n  <<: *b\n",
            ["m.yaml:5: duplicate key '<<' (first at line 4)"],
        ),
        # a duplicate inside a merged source is reported once, merged or not
        (
            "base: &b {x: 1, x: 2}\nweb:\n  <<: *b\n",
            ["m.yaml:1: duplicate key 'x' (first at line 1)"],
        ),
        ("web:\n  <<: {x: 1, x: 2}\n", ["m.yaml:2: duplicate key 'x' (first at line 2)"]),
        # a merge between two literal copies of a key does not hide them
        (
            "a: &a {x: 1}\nweb:\n  x: 5\n  <<: *a\n  x: 6\n",
            ["m.yaml:5: duplicate key 'x' (first at line 3)"],
        ),
    ],
)
def test_merge_keys_never_hide_a_duplicate_key(text: str, expected: list[str]) -> None:
    doc, problems = parse_document("m.yaml", text)
    assert [str(p) for p in problems] == expected
    assert doc is not None
    assert doc.value["web"]["x"] in (1, 5)  # the first one is kept


def test_several_merge_sources_in_one_key_are_not_duplicates_the_first_wins() -> None:
    doc = parse("m.yaml", "a: &a {x: 1}\nb: &b {x: 2, y: 3}\nweb:\n  <<: [*a, *b]\n")
    assert doc.value["web"] == {"x": 1, "y": 3}


# ------------------------------------------------------------------ reading bounds

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in itertools.pairwise("abcdefghi")
    )
    + "family: [*i]\n"
)


def nested(file: str, depth: int) -> str:
    if file.endswith(".json"):
        return '{"a":\n' * depth + "1" + "}" * depth
    return "".join(f"{'  ' * level}a:\n" for level in range(depth)) + "  " * depth + "1\n"


@pytest.mark.parametrize("file", ["n.yaml", "n.json"])
def test_nesting_is_bounded_at_64_levels_with_the_line_where_it_passes(file: str) -> None:
    assert parse(file, nested(file, 64)).value is not None
    doc, problems = parse_document(file, nested(file, 65))
    assert doc is None
    assert [str(p) for p in problems] == [
        f"{file}:65: lists and mappings are nested more than 64 levels deep"
    ]


@pytest.mark.parametrize(
    ("file", "text", "line"),
    [
        ("n.json", "[" * 10_000 + "]" * 10_000, 1),
        ("n.json", '{"a": "[[[[ \\" {{{{",\n "b":' + "[" * 100 + "]" * 100 + "}", 2),
        ("n.yaml", "[" * 100 + "]" * 100, 1),
    ],
)
def test_deep_documents_are_refused_without_recursing(file: str, text: str, line: int) -> None:
    doc, problems = parse_document(file, text)
    assert doc is None
    assert [str(p) for p in problems] == [
        f"{file}:{line}: lists and mappings are nested more than 64 levels deep"
    ]


def test_a_yaml_alias_bomb_is_refused_before_it_expands() -> None:
    assert len(BILLION_LAUGHS) < 400
    doc, problems = parse_document("bomb.yaml", BILLION_LAUGHS)
    assert doc is None
    assert [str(p) for p in problems] == [
        "bomb.yaml:1: aliases expand to more than 10,000 values (a YAML alias bomb?): "
        "write the values out"
    ]


def test_ordinary_aliases_are_fine() -> None:
    env = "env: &env\n" + "".join(f"  - {{name: V{i}, value: x}}\n" for i in range(100))
    containers = "".join(f"- {{name: c{i}, environment: *env}}\n" for i in range(30))
    doc = parse("a.yaml", env + "containers:\n" + containers.replace("- ", "  - "))
    assert len(doc.value["containers"][29]["environment"]) == 100


def test_a_chain_of_merges_counts_as_nesting() -> None:
    chain = "a0: &a0 {x: 1}\n" + "".join(
        f"a{i}: &a{i} {{<<: *a{i - 1}, y{i}: 1}}\n" for i in range(1, 100)
    )
    doc, problems = parse_document("c.yaml", chain)
    assert doc is None
    assert "nested more than 64 levels deep" in str(problems[0])


@pytest.mark.parametrize(
    ("file", "text", "line"),
    [
        ("i.yaml", "a: 1\nb: " + "9" * 100_000 + "\n", 2),
        ("i.yaml", "a: -" + "1" * 33 + "\n", 1),
        ("i.json", '{\n"a": 1,\n"b": ' + "9" * 100_000 + "}", 3),
        ("i.json", '{"a": -' + "1" * 33 + "}", 1),
    ],
)
def test_integers_have_at_most_32_digits(file: str, text: str, line: int) -> None:
    doc, problems = parse_document(file, text)
    assert doc is None
    (problem,) = problems
    assert problem.line == line
    assert problem.message.endswith("digits: at most 32 are allowed")


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("i.yaml", "a: " + "9" * 32 + "\nb: '" + "9" * 100 + "'\nc: 1." + "5" * 100 + "\n"),
        ("i.json", '{"a": ' + "9" * 32 + ', "b": "' + "9" * 100 + '", "c": 1.' + "5" * 100 + "}"),
        ("i.json", '{"a": 1e' + "9" * 40 + "}"),
    ],
)
def test_long_strings_and_floats_and_32_digit_integers_are_fine(file: str, text: str) -> None:
    assert parse(file, text).value["a"] is not None


@pytest.mark.parametrize("file", ["big.yaml", "big.json"])
def test_a_text_over_the_size_limit_is_not_parsed(file: str) -> None:
    text = '"' + "é" * 600_000 + '"'  # 600,000 characters, 1,200,002 bytes
    doc, problems = parse_document(file, text)
    assert doc is None
    assert [str(p) for p in problems] == [
        f"{file}:1: the file is 1,200,002 bytes: at most 1,048,576 bytes (1 MiB) are read"
    ]
