"""Which state machine rolls out which deploy.yaml ``strategy``.

Each strategy's folder holds its rollout in ``rollout.py`` as ``ROLLOUT`` (the folder is named
after the strategy, see ``descriptions.folder``). Purely a lookup; the rollouts themselves do
I/O. What the rest of the code needs to know of a strategy is its description.
"""

from __future__ import annotations

import importlib

from controller.core.model import Strategy
from controller.strategies.base import JsonDict, PhasedRollout, Rollout, RolloutContext
from controller.strategies.descriptions import folder


def _load(strategy: Strategy) -> type[PhasedRollout]:
    module = importlib.import_module(f"controller.strategies.{folder(strategy)}.rollout")
    kind = getattr(module, "ROLLOUT", None)
    if not (isinstance(kind, type) and issubclass(kind, PhasedRollout)):
        raise TypeError(f"{module.__name__}.ROLLOUT is not the rollout of strategy {strategy}")
    return kind


ROLLOUTS: dict[Strategy, type[PhasedRollout]] = {s: _load(s) for s in Strategy}


def rollout_for(
    ctx: RolloutContext, journaled: JsonDict | None = None, *, strategy: Strategy | None = None
) -> Rollout | None:
    """A new rollout for ``strategy`` (default: the service's own), or the one a journaled
    progress record (``Progress.to_dict``) left off at; None if the strategy is unknown."""
    kind = ROLLOUTS.get(strategy or ctx.desired.deploy.strategy)
    if kind is None:
        return None
    return kind(ctx) if journaled is None else kind.resume(ctx, journaled)
