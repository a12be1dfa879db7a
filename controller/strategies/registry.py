"""Which state machine rolls out which deploy.yaml ``strategy``.

Purely a lookup; the rollouts themselves do I/O. What the rest of the code needs to know of a
strategy is its description (``controller.strategies.descriptions``).
"""

from __future__ import annotations

from controller.core.model import Strategy
from controller.strategies.base import JsonDict, PhasedRollout, Rollout, RolloutContext
from controller.strategies.blue_green.rollout import BlueGreenRollout
from controller.strategies.canary.rollout import CanaryRollout
from controller.strategies.ecs.rollout import EcsNativeRollout
from controller.strategies.rolling.rollout import RollingRollout
from controller.strategies.run_task.rollout import RunTaskRollout

ROLLOUTS: dict[Strategy, type[PhasedRollout]] = {
    Strategy.ROLLING: RollingRollout,
    Strategy.BLUE_GREEN: BlueGreenRollout,
    Strategy.CANARY: CanaryRollout,
    Strategy.RUN_TASK: RunTaskRollout,
    Strategy.ECS: EcsNativeRollout,
}


def rollout_for(
    ctx: RolloutContext, journaled: JsonDict | None = None, *, strategy: Strategy | None = None
) -> Rollout | None:
    """A new rollout for ``strategy`` (default: the service's own), or the one a journaled
    progress record (``Progress.to_dict``) left off at; None if the strategy is unknown."""
    kind = ROLLOUTS.get(strategy or ctx.desired.deploy.strategy)
    if kind is None:
        return None
    return kind(ctx) if journaled is None else kind.resume(ctx, journaled)
