"""``notify:`` in environment.yaml: read into rules, and checked by the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.core.layout import load_repo
from controller.core.model import NOTIFY_EVENTS, Environment, NotifyRule
from controller.source.tree import read_tree

REPOS = Path(__file__).resolve().parent.parent / "data" / "repos"
MINIMAL = read_tree(REPOS / "minimal")
ENV = "staging/environment.yaml"


def load(environment_tail: str) -> tuple[Environment | None, list[str]]:
    files = {**MINIMAL, ENV: MINIMAL[ENV] + environment_tail}
    state = load_repo(files)
    return state.environments.get("staging"), [str(p) for p in state.problems]


def test_notify_rules_are_read_with_all_events_by_default() -> None:
    env, problems = load(
        "notify:\n"
        "  - url: https://hooks.slack.com/services/T/B/X\n"
        "    on: [rolled-back, failed]\n"
        "  - url: http://alerts.internal/ecs\n"
    )
    assert problems == []
    assert env is not None
    assert env.notify == (
        NotifyRule("https://hooks.slack.com/services/T/B/X", ("rolled-back", "failed")),
        NotifyRule("http://alerts.internal/ecs", NOTIFY_EVENTS),
    )


def test_an_environment_without_notify_has_no_rules() -> None:
    env, problems = load("")
    assert problems == [] and env is not None and env.notify == ()


@pytest.mark.parametrize(
    ("tail", "problem"),
    [
        ("notify:\n  - url: ftp://x\n", "notify[0].url: expected an http or https URL"),
        ("notify:\n  - url: https://x\n    on: [deployed]\n", "notify[0].on[0]"),
        ("notify:\n  - on: [failed]\n", "notify[0]"),
        ("notify: https://x\n", "notify: expected a list"),
    ],
)
def test_a_wrong_notify_is_reported(tail: str, problem: str) -> None:
    _, problems = load(tail)
    assert any(problem in p for p in problems), problems
