"""Every strategy's description, by deploy.yaml ``strategy``: the one place the core looks them up.

Pure (descriptions only, no rollout), so that the core may import it: import-linter allows the
core this one module of ``controller.strategies`` and keeps it and the descriptions pure.
"""

from __future__ import annotations

from controller.core.model import Strategy
from controller.core.strategy_traits import StrategyTraits
from controller.strategies.blue_green.description import DESCRIPTION as BLUE_GREEN
from controller.strategies.canary.description import DESCRIPTION as CANARY
from controller.strategies.ecs.description import DESCRIPTION as ECS
from controller.strategies.rolling.description import DESCRIPTION as ROLLING
from controller.strategies.run_task.description import DESCRIPTION as RUN_TASK

DESCRIPTIONS: dict[Strategy, StrategyTraits] = {
    d.strategy: d for d in (ROLLING, CANARY, BLUE_GREEN, RUN_TASK, ECS)
}


def describe(strategy: Strategy) -> StrategyTraits:
    """The description of ``strategy`` (every ``Strategy`` has one: a test keeps it so)."""
    return DESCRIPTIONS[strategy]
