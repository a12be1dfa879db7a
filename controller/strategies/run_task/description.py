"""The run-task strategy (a job), described for the core and the reconcile loop.

Purely computational.
"""

from controller.core.model import Strategy
from controller.core.strategy_traits import Runs, StrategyTraits

DESCRIPTION = StrategyTraits(
    strategy=Strategy.RUN_TASK,
    runs=Runs.ONCE,
    needs="run-task",
    unused=("service", "scalable-target", "scaling-policy"),
)
