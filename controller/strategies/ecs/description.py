"""The ``ecs`` strategy (ECS runs the deployment), described for the core and the reconcile loop.

ECS's own blue/green keeps the service under its name (it trades the target groups of its load
balancers instead): to the core it is a service like a rolling one. Purely computational.
"""

from controller.core.model import Strategy
from controller.core.strategy_traits import Runs, StrategyTraits

DESCRIPTION = StrategyTraits(
    strategy=Strategy.ECS,
    runs=Runs.AS_SERVICE,
    needs="service",
    unused=("run-task",),
    service_deployments=True,
)
