"""The canary strategy, described for the core and the reconcile loop. Purely computational."""

from controller.core.model import Strategy
from controller.core.ownership import CANARY_SUFFIX, canary_name
from controller.core.strategy_traits import Runs, StrategyTraits


def helpers(service_name: str) -> tuple[str, ...]:
    """The one-task copy it tries the new version on first: ``web`` -> ``webCanary``."""
    return (canary_name(service_name),)


DESCRIPTION = StrategyTraits(
    strategy=Strategy.CANARY,
    runs=Runs.AS_SERVICE,
    needs="service",
    unused=("run-task",),
    helpers=helpers,
    name_suffix=CANARY_SUFFIX,
)
