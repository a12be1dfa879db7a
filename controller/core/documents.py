"""Parse one YAML or JSON file into plain values plus a map from each value's path to its line.

A path is a tuple of mapping keys and list indices, e.g. ``("containerDefinitions", 0, "image")``,
so a problem found anywhere in the parsed value can be reported as FILE:LINE. Duplicate keys,
syntax errors and unsupported YAML features are problems, not exceptions; so are files beyond
the reading bounds of ``controller.core.limits`` (size, nesting, alias expansion, integer
digits), which are refused before they can cost much time or memory.

Purely computational: the caller hands over the text.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from controller.core.limits import (
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INTEGER_DIGITS,
)
from controller.core.model import Problem

# libyaml's composer is several times faster than the pure-Python one; both give the same nodes.
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_MERGE = "tag:yaml.org,2002:merge"
# Tags whose Python value is not JSON: keep the text as written (AWS wants strings there anyway).
_AS_TEXT = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}
_SCALAR_TAGS = {
    _STR,
    _INT,
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    *_AS_TEXT,
}
# What bounds a JSON text before json.loads sees it (its recursion and int() would raise):
# strings (skipped whole), brackets (depth), and integer literals that are too long.
_LONG_INTEGER = rf"(?<![\d.eE+-])-?\d{{{MAX_INTEGER_DIGITS + 1},}}(?![\d.eE])"
_JSON_BOUNDED = re.compile(rf'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{{]|[\]}}]|{_LONG_INTEGER}')


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


class _Beyond(_Invalid):
    """A reading bound was passed: the file is refused whatever else is in it."""


def parse_document(file: str, text: str) -> tuple[Document | None, list[Problem]]:
    """Parse ``text`` (the content of ``file``) as YAML, or JSON when ``file`` ends in ``.json``.

    Returns the document (None when the text cannot be read at all) and the problems found.
    A syntax error or a passed reading bound ends the parse; duplicate keys are all reported,
    and the first one is kept so the rest of the file can still be checked.
    """
    if len(text) > MAX_FILE_BYTES // 4 and _size(text) > MAX_FILE_BYTES:
        return None, [Problem(file, 1, too_large(_size(text)))]
    try:
        if file.endswith(".json"):
            return _parse_json(file, text)
        return _parse_yaml(file, text)
    except RecursionError:  # the bounds below keep nesting shallow; never a traceback regardless
        return None, [Problem(file, 1, f"nested too deeply to read (at most {MAX_DEPTH} levels)")]


def too_large(size: int) -> str:
    """Why a file of ``size`` bytes is not read."""
    return f"the file is {size:,} bytes: at most {MAX_FILE_BYTES:,} bytes (1 MiB) are read"


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


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
    # an alias is written '*name': without a '*' no node can be reached twice
    builder = _Builder(file, aliases="*" in text)
    try:
        value = builder.build(root, (), builder.lines, depth=0)
    except _Invalid as e:
        return None, [*builder.found(), Problem(file, e.line, e.message)]
    builder.lines[()] = root.start_mark.line + 1
    return Document(file, value, builder.lines), builder.found()


def _parse_json(file: str, text: str) -> tuple[Document | None, list[Problem]]:
    beyond = _json_beyond_bounds(text)
    if beyond is not None:
        return None, [Problem(file, beyond.line, beyond.message)]
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
    builder = _Builder(file, aliases=False)  # JSON has none
    if root is not None:
        # json.loads accepted it: the values come from json, only lines may be missing
        with contextlib.suppress(_Invalid):
            builder.build(root, (), builder.lines, depth=0)
        builder.lines[()] = root.start_mark.line + 1
    return Document(file, value, builder.lines), builder.found()


def _json_beyond_bounds(text: str) -> _Beyond | None:
    """The first place where ``text`` passes the nesting or integer bound, if any."""
    depth = 0
    for match in _JSON_BOUNDED.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return _Beyond(_line_at(text, match.start()), _too_deep())
        elif token in "]}":
            depth -= 1
        elif token[0] != '"':
            return _Beyond(_line_at(text, match.start()), _too_long(token))
    return None


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _too_deep() -> str:
    return f"lists and mappings are nested more than {MAX_DEPTH} levels deep"


def _digits(literal: str) -> int:
    """Digits of an integer literal (hexadecimal ones too), short ones counted without a loop."""
    return len(literal) if len(literal) <= MAX_INTEGER_DIGITS else sum(map(str.isalnum, literal))


def _too_long(literal: str) -> str:
    return f"an integer of {_digits(literal):,} digits: at most {MAX_INTEGER_DIGITS} are allowed"


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Keep the first of duplicate JSON keys, as the YAML side does (both report the duplicate)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _yaml_reason(e: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (e.context, e.problem) if p]
    return "; ".join(parts) if parts else str(e).splitlines()[0]


class _Builder:
    """Turns a composed node graph into plain data, recording each path's line, within bounds.

    A YAML alias is the same node reached again, so the graph of a few hundred bytes can stand
    for billions of values ("billion laughs"). Every node built a second time is a value an
    alias added; past ``MAX_ALIAS_VALUES`` of them the file is refused.
    """

    def __init__(self, file: str, *, aliases: bool) -> None:
        self.file = file
        self.lines: dict[Path, int] = {}
        self.problems: list[Problem] = []
        # whether the text may hold aliases, and the ids of the nodes built so far if it may
        self._aliases = aliases
        self._built: set[int] = set()
        self._alias_values = 0

    def found(self) -> list[Problem]:
        """The problems, each once (a node reached through an alias reports its own again)."""
        return list(dict.fromkeys(self.problems))

    def build(self, node: yaml.Node, path: Path, lines: dict[Path, int], *, depth: int) -> Any:
        """The value of ``node`` at ``path``; ``depth`` counts nesting, merges included."""
        line = node.start_mark.line + 1
        if depth >= MAX_DEPTH and not isinstance(node, yaml.ScalarNode):
            raise _Beyond(line, _too_deep())
        if self._aliases:
            self._count_alias(node, line)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            items: list[Any] = []
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index), lines, depth=depth + 1))
            return items
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, lines, depth=depth)
        raise _Invalid(line, "unsupported YAML node")

    def _count_alias(self, node: yaml.Node, line: int) -> None:
        """Count ``node`` as a value an alias added when it was built before."""
        if id(node) not in self._built:
            self._built.add(id(node))
            return
        self._alias_values += 1
        if self._alias_values > MAX_ALIAS_VALUES:
            raise _Beyond(
                line,
                f"aliases expand to more than {MAX_ALIAS_VALUES:,} values "
                "(a YAML alias bomb?): write the values out",
            )

    def _mapping(
        self, node: yaml.MappingNode, path: Path, lines: dict[Path, int], *, depth: int
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merged: dict[str, Any] = {}
        merged_lines: dict[Path, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                # two '<<' keys are duplicate keys like any other: the second would be lost
                # silently by some YAML readers and win in others
                if "<<" in first_line:
                    self._duplicate("<<", key_line, first_line["<<"])
                    continue
                first_line["<<"] = key_line
                merged = self._merge_sources(value_node, path, merged_lines, depth=depth)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Invalid(
                    key_line, "a mapping key must be a plain value, not a list or mapping"
                )
            key = str(key_node.value)
            if key in first_line:
                self._duplicate(key, key_line, first_line[key])
                continue
            first_line[key] = key_line
            lines[(*path, key)] = key_line
            result[key] = self.build(value_node, (*path, key), lines, depth=depth + 1)
        if not merged:
            return result
        # YAML merge keys (`<<: *defaults`): keys written in this mapping win, with their lines.
        for merged_path, merged_line in merged_lines.items():
            if merged_path[len(path)] not in result:
                lines[merged_path] = merged_line
        return {**merged, **result}

    def _duplicate(self, key: str, line: int, first: int) -> None:
        self.problems.append(
            Problem(self.file, line, f"duplicate key {key!r} (first at line {first})")
        )

    def _merge_sources(
        self, node: yaml.Node, path: Path, lines: dict[Path, int], *, depth: int
    ) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):  # earlier sources win, as in YAML's merge spec
            value = self.build(source, path, lines, depth=depth + 1)
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
    if tag == _INT and _digits(node.value) > MAX_INTEGER_DIGITS:
        # int() of a long literal costs quadratic time (and Python refuses 4,300 digits)
        raise _Beyond(node.start_mark.line + 1, _too_long(node.value))
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
