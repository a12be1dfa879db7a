"""What the core and the reconcile loop know of a deploy.yaml ``strategy``: its traits, as data.

Each strategy declares one ``StrategyTraits`` next to its rollout
(``controller/strategies/<name>/description.py``); the core and the reconcile loop ask it
instead of testing the strategy's name. Purely computational.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from controller.core.model import Strategy


class Runs(StrEnum):
    """How a strategy's workload lives in ECS: what its live state is and what it leaves behind."""

    # a service under service.yaml's serviceName: that service is the live state, and a
    # change ECS cannot make in place (a replacement) is refused
    AS_SERVICE = "service"
    # a new ``<serviceName>__<N>`` generation per deploy, never the plain name: the generation
    # behind the prod route is the live state, and a replacement is just another deploy
    AS_GENERATIONS = "generations"
    # a job: tasks run once per desired state, no service; the live state is the family's
    # newest revision, and whether it ran is the status file's to say
    ONCE = "once"


def no_helpers(service_name: str) -> tuple[str, ...]:
    """The names a strategy that creates no service beside its own creates: none."""
    return ()


@dataclass(frozen=True)
class StrategyTraits:
    """One strategy's description: what every part outside its rollout needs to know of it."""

    strategy: Strategy
    runs: Runs
    # the file beside task-definition.yaml it deploys from ("service" or "run-task")
    needs: str
    # files it does not use: present, each is a located error
    unused: tuple[str, ...]
    # services it creates beside serviceName while it rolls out (``web`` -> ``webCanary``);
    # a prune deletes them too, when they carry the folder's owner tag
    helpers: Callable[[str], tuple[str, ...]] = no_helpers
    # the longest suffix it adds to serviceName, so that every name it creates is an ECS name
    name_suffix: str = ""
    # fills service.yaml's ``<+targetGroupArn>`` placeholder (and needs it on a load balancer)
    fills_target_group: bool = False
    # ECS runs its deployments itself: the one in flight is followed (and shown) through the
    # service deployments API (DescribeServiceDeployments), not the rollout's own phases
    service_deployments: bool = False

    @property
    def runs_once(self) -> bool:
        """A job: its plan compares only the task definition; its status says whether it ran."""
        return self.runs is Runs.ONCE
