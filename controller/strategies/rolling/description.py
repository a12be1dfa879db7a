"""The rolling strategy, described for the core and the reconcile loop. Purely computational."""

from controller.core.model import Strategy
from controller.core.strategy_traits import Runs, StrategyTraits

DESCRIPTION = StrategyTraits(
    strategy=Strategy.ROLLING,
    runs=Runs.AS_SERVICE,
    needs="service",
    unused=("run-task",),
)
