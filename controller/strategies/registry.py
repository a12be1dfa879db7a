"""Which state machine rolls out which deploy.yaml ``strategy``.

Purely a lookup; the rollouts themselves do I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.core.model import Strategy
from controller.strategies.base import Progress, Rollout, RolloutContext
from controller.strategies.blue_green.rollout import BlueGreenRollout
from controller.strategies.canary.rollout import CanaryRollout
from controller.strategies.ecs.rollout import EcsNativeRollout
from controller.strategies.rolling.rollout import RollingRollout
from controller.strategies.run_task.rollout import RunTaskRollout

RolloutFactory = Callable[[RolloutContext, Progress | None], Rollout]

ROLLOUTS: dict[Strategy, RolloutFactory] = {
    Strategy.ROLLING: RollingRollout,
    Strategy.BLUE_GREEN: BlueGreenRollout,
    Strategy.CANARY: CanaryRollout,
    Strategy.RUN_TASK: RunTaskRollout,
    Strategy.ECS: EcsNativeRollout,
}


def rollout_for(
    ctx: RolloutContext, progress: Progress | None = None, *, strategy: Strategy | None = None
) -> Rollout | None:
    """A new (or, with ``progress``, resumed) rollout for ``strategy`` (default: the service's
    own); None if unknown."""
    factory = ROLLOUTS.get(strategy or ctx.desired.deploy.strategy)
    return None if factory is None else factory(ctx, progress)
