"""Resolve expressions in manifest values: ``${name}``, ``${image}`` and Harness's ``<+artifact.image>``.

``${name}`` takes a variable (deploy.yaml ``variables`` over environment.yaml ``variables``);
``${image}`` and ``<+artifact.image>`` take deploy.yaml ``image``. A string that is exactly one
``${name}`` takes the variable's own type (``desiredCount: ${replicas}`` gives an int);
embedded ones are interpolated as text. ``$${`` writes a literal ``${``. ``<+targetGroupArn>``
is left for the blue-green rollout; any other ``<+...>`` is an error.

Purely computational.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core.documents import Path
from controller.core.limits import MAX_VARIABLE_VALUES

TARGET_GROUP_ARN = "<+targetGroupArn>"
IMAGE = "image"

# One pattern for all three forms, so a single left-to-right scan handles every occurrence.
_TOKEN = re.compile(r"\$\$\{|\$\{(?P<name>[^}]*)\}|<\+(?P<harness>[^>]*)>")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Scope:
    """What expressions may refer to."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    image: str | None = None


@dataclass
class Resolution:
    """The resolved value and each problem as (path, message)."""

    value: Any
    problems: list[tuple[Path, str]] = field(default_factory=list)
    # paths where <+targetGroupArn> was left for the blue-green rollout to fill
    target_group_paths: list[Path] = field(default_factory=list)
    # values list and mapping variables added so far (bounded: see MAX_VARIABLE_VALUES)
    added: int = 0


def resolve(value: Any, scope: Scope) -> Resolution:
    """Resolve every expression in the strings of ``value`` (mapping keys are left alone)."""
    result = Resolution(value=None)
    result.value = _walk(value, (), scope, result)
    return result


def _walk(value: Any, path: Path, scope: Scope, result: Resolution) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), scope, result) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), scope, result) for i, v in enumerate(value)]
    if isinstance(value, str) and ("${" in value or "<+" in value):
        return _string(value, path, scope, result)
    return value


def _string(text: str, path: Path, scope: Scope, result: Resolution) -> Any:
    whole = _TOKEN.fullmatch(text)
    if whole is not None and whole.group("name") is not None:
        # The whole scalar is one ${name}: keep the variable's type.
        found, value = _lookup(whole.group("name"), path, scope, result)
        if found and isinstance(value, dict | list):
            if result.added > MAX_VARIABLE_VALUES:
                return text  # over the bound already, and said once
            result.added += _count(value, MAX_VARIABLE_VALUES + 1)
            if result.added > MAX_VARIABLE_VALUES:
                result.problems.append(
                    (
                        path,
                        f"list and mapping variables expand to more than "
                        f"{MAX_VARIABLE_VALUES:,} values in this file",
                    )
                )
                return text
        return value if found else text

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group("name")
        if name is not None:
            found, value = _lookup(name, path, scope, result)
            if not found:
                return match.group(0)
            if isinstance(value, dict | list):
                result.problems.append(
                    (path, f"variable '{name}' is a {_kind(value)} and cannot be part of a string")
                )
                return match.group(0)
            return _as_text(value)
        expression = match.group(0)
        if expression == TARGET_GROUP_ARN:
            result.target_group_paths.append(path)
            return expression
        if expression == "<+artifact.image>":
            found, value = _lookup(IMAGE, path, scope, result)
            return _as_text(value) if found else expression
        result.problems.append(
            (
                path,
                f"unknown expression '{expression}'; use ${{name}}, ${{image}} or <+artifact.image>",
            )
        )
        return expression

    return _TOKEN.sub(replace, text)


def _lookup(name: str, path: Path, scope: Scope, result: Resolution) -> tuple[bool, Any]:
    if name == IMAGE:
        if scope.image is None:
            result.problems.append((path, "the image expression needs deploy.yaml 'image'"))
            return False, None
        return True, scope.image
    if not NAME.match(name):
        result.problems.append((path, f"invalid variable name '${{{name}}}'"))
        return False, None
    if name in scope.variables:
        return True, scope.variables[name]
    message = f"undefined variable '{name}'"
    close = difflib.get_close_matches(name, list(scope.variables), n=1)
    if close:
        message += f"; did you mean '{close[0]}'?"
    result.problems.append((path, message))
    return False, None


def _count(value: Any, limit: int) -> int:
    """How many values ``value`` holds (itself included), counting no further than ``limit``."""
    seen, stack = 0, [value]
    while stack and seen < limit:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    # true/false/1.5 as YAML and JSON write them, not Python's True/False
    return json.dumps(value)


def _kind(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "list"
