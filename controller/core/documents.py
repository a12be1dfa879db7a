"""Parse one YAML or JSON file into plain values plus a map from each value's path to its line.

A path is a tuple of mapping keys and list indices, e.g. ``("containerDefinitions", 0, "image")``,
so a problem found anywhere in the parsed value can be reported as FILE:LINE. Duplicate keys,
syntax errors and unsupported YAML features are problems, not exceptions.

Purely computational: the caller hands over the text.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from controller.core.model import Problem

# libyaml's composer is several times faster than the pure-Python one; both give the same nodes.
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
# Tags whose Python value is not JSON: keep the text as written (AWS wants strings there anyway).
_AS_TEXT = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    *_AS_TEXT,
}


@dataclass(frozen=True)
class Document:
    """One parsed file: ``value`` is plain JSON-like data, ``lines`` maps paths to 1-based lines."""

    file: str
    value: Any
    lines: Mapping[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one (keys added later have none)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1

    def problem(self, path: Path, message: str) -> Problem:
        """A problem located at ``path`` in this file."""
        return Problem(self.file, self.line(path), message)


class _Invalid(Exception):
    """A problem found while walking the node tree (line is 1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def parse_document(file: str, text: str) -> tuple[Document | None, list[Problem]]:
    """Parse ``text`` (the content of ``file``) as YAML, or JSON when ``file`` ends in ``.json``.

    Returns the document (None when the text cannot be read at all) and the problems found.
    A syntax error ends the parse; duplicate keys are all reported, and the first one is kept
    so the rest of the file can still be checked.
    """
    if file.endswith(".json"):
        return _parse_json(file, text)
    return _parse_yaml(file, text)


def _parse_yaml(file: str, text: str) -> tuple[Document | None, list[Problem]]:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, [Problem(file, line, f"invalid YAML: {_yaml_reason(e)}")]
    except yaml.YAMLError as e:
        return None, [Problem(file, 1, f"invalid YAML: {e}")]
    if root is None:
        return Document(file, None, {(): 1}), []
    lines: dict[Path, int] = {}
    problems: list[Problem] = []
    try:
        value = _build(root, (), lines, problems, file)
    except _Invalid as e:
        return None, [*problems, Problem(file, e.line, e.message)]
    lines[()] = root.start_mark.line + 1
    return Document(file, value, lines), problems


def _parse_json(file: str, text: str) -> tuple[Document | None, list[Problem]]:
    try:
        value = json.loads(text, object_pairs_hook=_first_wins)
    except json.JSONDecodeError as e:
        return None, [Problem(file, e.lineno, f"invalid JSON: {e.msg} (column {e.colno})")]
    # JSON is (nearly) YAML: compose it for the line map and duplicate keys. Tabs are legal JSON
    # whitespace but not YAML indentation; swapping them for spaces keeps every line number.
    try:
        root = yaml.compose(text.replace("\t", " "), Loader=_Loader)
    except yaml.YAMLError:
        return Document(file, value, {(): 1}), []
    lines: dict[Path, int] = {}
    problems: list[Problem] = []
    if root is not None:
        # json.loads accepted it: the values come from json, only lines may be missing
        with contextlib.suppress(_Invalid):
            _build(root, (), lines, problems, file)
        lines[()] = root.start_mark.line + 1
    return Document(file, value, lines), problems


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Keep the first of duplicate JSON keys, as the YAML side does (both report the duplicate)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _yaml_reason(e: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (e.context, e.problem) if p]
    return "; ".join(parts) if parts else str(e).splitlines()[0]


def _build(
    node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem], file: str
) -> Any:
    """Turn a composed node into plain data, recording each path's line."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            items.append(_build(item, (*path, index), lines, problems, file))
        return items
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                merged.update(_merge_sources(value_node, path, lines, problems, file))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Invalid(
                    key_line, "a mapping key must be a plain value, not a list or mapping"
                )
            key = str(key_node.value)
            if key in first_line:
                problems.append(
                    Problem(
                        file, key_line, f"duplicate key '{key}' (first at line {first_line[key]})"
                    )
                )
                continue
            first_line[key] = key_line
            lines[(*path, key)] = key_line
            result[key] = _build(value_node, (*path, key), lines, problems, file)
        # YAML merge keys (`<<: *defaults`): keys written in this mapping win.
        return {**merged, **result} if merged else result
    raise _Invalid(node.start_mark.line + 1, "unsupported YAML node")


def _merge_sources(
    node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem], file: str
) -> dict[str, Any]:
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    merged: dict[str, Any] = {}
    for source in reversed(sources):  # earlier sources win, as in YAML's merge spec
        value = _build(source, path, lines, problems, file)
        if not isinstance(value, dict):
            raise _Invalid(source.start_mark.line + 1, "'<<' merges only mappings")
        merged.update(value)
    return merged


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag not in _SCALAR_TAGS:
        raise _Invalid(node.start_mark.line + 1, f"unsupported YAML tag {tag}")
    if tag == _STR:
        return node.value
    if tag in _AS_TEXT:
        return node.value
    value = _constructor.yaml_constructors[tag](_constructor, node)
    if isinstance(value, datetime.date):  # pragma: no cover - timestamps are kept as text above
        return node.value
    return value


def strip_nulls(value: Any) -> Any:
    """Remove nulls: in AWS request manifests a null means "not set"."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value if v is not None]
    return value


def format_path(path: Path) -> str:
    """``("containerDefinitions", 0, "image")`` -> ``containerDefinitions[0].image``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
