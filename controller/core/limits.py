"""Bounds on what a config repository may hold, and the checks that enforce them.

Two kinds of bound live here. Reading bounds keep one hostile file from exhausting the
controller (a size per file, a nesting depth, how far YAML aliases may expand, how many digits
an integer may have); they are applied while a file is read and parsed. ECS bounds are rules
ECS enforces but botocore's model does not state (names, task counts); they are checked on a
rendered service so that a mistake is a FILE:LINE problem, not a refused or runaway deploy.
Every bound is documented in repo-layout/README.md ("Limits").

Purely computational.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from controller.core.model import DesiredService, Problem
from controller.strategies.descriptions import describe

if TYPE_CHECKING:  # documents applies the reading bounds below, so it imports this module
    from controller.core.documents import Document, Path

# Reading bounds (the parser and the tree reader apply them; see controller.core.documents).
MAX_FILE_BYTES = 1024 * 1024
"""A file larger than this is not read. (ECS caps a task definition at 64 KiB.)"""
MAX_DEPTH = 64
"""Lists and mappings nested deeper than this are refused."""
MAX_ALIAS_VALUES = 10_000
"""Values that YAML aliases (``*name``, ``<<: *name``) may add to a file, all aliases together."""
MAX_VARIABLE_VALUES = 10_000
"""Values that ``${name}`` variables standing for a list or mapping may add to one file's
rendering, all uses together: a big variable used in many places is an alias bomb too."""
MAX_INTEGER_DIGITS = 32
"""Digits of one integer literal; AWS's largest integers (Long) have 19."""

# ECS names: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are
# allowed" (CreateService serviceName, RegisterTaskDefinition family, CreateCluster clusterName).
ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
ECS_NAME_RULE = "letters, digits, '-' and '_', 1 to 255 of them"

# Task counts. botocore states no range for these, but ECS refuses a negative count, RunTask
# documents "You can specify up to 10 tasks for each call", and a count in the billions is a typo
# that would make the controller (and local-aws) wait for tasks that never come.
MAX_TASKS = 10_000
_RUN_TASK_COUNT = (1, 10)


def is_ecs_name(name: str) -> bool:
    """Whether ``name`` is a usable ECS name (and so a usable environment or service folder)."""
    return ECS_NAME.fullmatch(name) is not None


def check_service(desired: DesiredService, documents: Mapping[str, Document]) -> list[Problem]:
    """ECS bounds on one rendered service: its names and its task counts, each at its line."""
    problems: list[Problem] = []
    family = desired.task_definition.get("family")
    if isinstance(family, str) and not is_ecs_name(family):
        problems.append(
            documents["task-definition"].problem(
                ("family",), f"family {family!r} is not an ECS name ({ECS_NAME_RULE})"
            )
        )
    if desired.service is not None and "service" in documents:
        doc = documents["service"]
        name = desired.service_name
        # services a strategy creates beside <serviceName> (a canary, blue-green generations)
        # must be ECS names too
        longest = 255 - len(describe(desired.deploy.strategy).name_suffix)
        if not is_ecs_name(name):
            problems.append(
                doc.problem(
                    ("serviceName",), f"serviceName {name!r} is not an ECS name ({ECS_NAME_RULE})"
                )
            )
        elif len(name) > longest:
            problems.append(
                doc.problem(
                    ("serviceName",),
                    f"serviceName is {len(name)} characters long: with strategy "
                    f"{desired.deploy.strategy} at most {longest} (the names it creates beside "
                    "it must stay within ECS's 255)",
                )
            )
        count = desired.service.get("desiredCount")
        problems.extend(_count(doc, ("desiredCount",), count, low=0, high=MAX_TASKS))
    if desired.run_task is not None and "run-task" in documents:
        low, high = _RUN_TASK_COUNT
        problems.extend(
            _count(
                documents["run-task"],
                ("count",),
                desired.run_task.get("count"),
                low=low,
                high=high,
                why="RunTask starts at most 10 tasks per call",
            )
        )
    if desired.scalable_target is not None and "scalable-target" in documents:
        for member, key in (("MinCapacity", "minCapacity"), ("MaxCapacity", "maxCapacity")):
            value = desired.scalable_target.get(member)
            problems.extend(
                _count(documents["scalable-target"], (key,), value, low=0, high=MAX_TASKS)
            )
    if "deploy" in documents:
        count = desired.deploy.block("canary").get("desiredCount")
        problems.extend(
            _count(documents["deploy"], ("canary", "desiredCount"), count, low=1, high=MAX_TASKS)
        )
    return problems


def _count(
    doc: Document, path: Path, value: Any, *, low: int, high: int, why: str = ""
) -> list[Problem]:
    """``value``, the task count written at ``path``, within [low, high]."""
    key = path[-1]
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return []  # absent, or the schema has already said it is no number
    shown = f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
    if value < low:
        reason = "a negative number of tasks" if value < 0 else f"at least {low} is needed"
        return [doc.problem(path, f"{shown} is less than {low}: {reason}")]
    if value > high:
        reason = why or f"more than {high:,} tasks is a typo, not a deployment"
        return [doc.problem(path, f"{shown} is more than {high}: {reason}")]
    if isinstance(value, float) and not value.is_integer():
        return [doc.problem(path, f"{shown} is not a whole number of tasks")]
    return []
