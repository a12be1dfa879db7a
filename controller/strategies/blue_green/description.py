"""The blue-green strategy, described for the core and the reconcile loop. Purely computational.

Every deploy is a new ``<serviceName>__<N>`` generation on the stage target group, swapped
behind the prod route: the live state is the generation production reaches.
"""

from controller.core.model import Strategy
from controller.core.ownership import GENERATION_SEPARATOR
from controller.core.strategy_traits import Runs, StrategyTraits

DESCRIPTION = StrategyTraits(
    strategy=Strategy.BLUE_GREEN,
    runs=Runs.AS_GENERATIONS,
    needs="service",
    unused=("run-task",),
    # room for generations up to 999999
    name_suffix=f"{GENERATION_SEPARATOR}999999",
    fills_target_group=True,
)
