"""The shape of the strategies: one description and one rollout each, adapters from the context.

What the core and the reconcile loop know of a strategy comes from its description; a rollout
does its I/O through the adapters its context carries, never through one it builds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import controller
from controller.core.model import Strategy
from controller.core.strategy_traits import Runs
from controller.strategies.descriptions import DESCRIPTIONS, describe
from controller.strategies.registry import ROLLOUTS

CODE = Path(controller.__file__).parent


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_has_a_description_and_a_rollout(strategy: Strategy) -> None:
    assert describe(strategy).strategy is strategy
    assert strategy in ROLLOUTS
    folder = CODE / "strategies" / str(strategy).replace("-", "_")
    assert (folder / "description.py").is_file() and (folder / "rollout.py").is_file()


def test_descriptions_say_what_the_names_used_to() -> None:
    assert [d.strategy for d in DESCRIPTIONS.values() if d.runs_once] == [Strategy.RUN_TASK]
    assert describe(Strategy.BLUE_GREEN).runs is Runs.AS_GENERATIONS
    assert describe(Strategy.CANARY).helpers("web") == ("webCanary",)
    assert describe(Strategy.ROLLING).helpers("web") == ()
    assert describe(Strategy.RUN_TASK).needs == "run-task"
    assert {d.needs for d in DESCRIPTIONS.values() if not d.runs_once} == {"service"}
    followed = [d.strategy for d in DESCRIPTIONS.values() if d.service_deployments]
    assert followed == [Strategy.ECS]


def test_status_reads_aws_through_the_adapters() -> None:
    # what ``status --live`` asks ECS lives in controller/aws (status_reads), not in the command
    assert _ADAPTER_BUILT.findall((CODE / "commands" / "status.py").read_text()) == []


# a boto3 client, or an adapter around one, built where the rollout should use its context's
_ADAPTER_BUILT = re.compile(r"\b(EcsApi|ElbApi|clients_for|boto3\.client)\(")


def test_no_rollout_builds_an_adapter_of_its_own() -> None:
    built = [
        f"{path.relative_to(CODE)}:{number}: {line.strip()}"
        for path in sorted((CODE / "strategies").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _ADAPTER_BUILT.search(line)
    ]
    assert built == []


# ``Strategy.X`` outside the strategies' own folders: a test of a strategy's name
_NAMED = re.compile(r"\bStrategy\.[A-Z_]+\b")


# (core/render.py names one strategy, as the placeholder of a deploy.yaml whose strategy is invalid)
_ASKING = ["reconcile.py", "aws/live.py", "core/plan.py", "core/decision.py"]
_ASKING += ["core/limits.py", "core/clashes.py", "core/layout.py", "core/schemas.py"]
_ASKING += ["commands/status.py", "aws/status_reads.py", "core/status_table.py"]
_ASKING += ["service/status_snapshot.py", "commands/promote.py", "core/promotion.py"]


@pytest.mark.parametrize("module", _ASKING)
def test_the_loop_and_the_core_ask_the_description_not_the_name(module: str) -> None:
    assert _NAMED.findall((CODE / module).read_text()) == []
