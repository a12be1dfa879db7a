"""Parsing YAML and JSON with a line for every value, duplicate keys and syntax errors."""

from __future__ import annotations

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
