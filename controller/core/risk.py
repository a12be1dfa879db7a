"""Risk flags of a plan: the changes a reviewer must not miss in a pull-request comment.

A replacement, desiredCount going to 0, a container removed, a port mapping or load balancer
changed, a secret removed. Each flag is a short phrase read off the plan's field changes (paths
as the diff writes them: ``containerDefinitions[web].secrets[DB_PASSWORD]``). Purely
computational.
"""

from __future__ import annotations

import re

from controller.core.plan import Action, FieldChange, ServicePlan

_CONTAINER = re.compile(r"^containerDefinitions\[(?P<name>[^\]]+)\]$")
_SECRET = re.compile(
    r"^containerDefinitions\[(?P<container>[^\]]+)\]\.secrets\[(?P<name>[^\]]+)\]$"
)
_PORTS = re.compile(r"^containerDefinitions\[[^\]]+\]\.portMappings(?:$|[.\[])")


def _count_to_zero(change: FieldChange) -> bool:
    # a service scaled to 0 serves nothing: a typo here is an outage
    return change.path in ("desiredCount", "scalableTarget.MaxCapacity") and change.new == 0


def risk_flags(plan: ServicePlan) -> tuple[str, ...]:
    """The risks of one service's plan, most serious first, each named once."""
    flags: list[str] = []
    if plan.action is Action.REPLACE:
        fields = sorted({change.path for change in plan.changes if change.replace})
        flags.append(f"replaces the service ({', '.join(fields)})")
    if any(_count_to_zero(change) for change in plan.service_changes + plan.autoscaling_changes):
        flags.append("desiredCount to 0")
    for change in plan.task_definition_changes:
        found = _CONTAINER.match(change.path)
        if found and change.new is None:
            flags.append(f"container {found['name']} removed")
            secrets = change.old.get("secrets") if isinstance(change.old, dict) else None
            for name in sorted(secrets or {}):  # keyed by name, as the diff reads them
                flags.append(f"secret {name} removed from {found['name']}")
    for change in plan.task_definition_changes:
        found = _SECRET.match(change.path)
        if found and change.new is None:
            flags.append(f"secret {found['name']} removed from {found['container']}")
    if any(_PORTS.match(change.path) for change in plan.task_definition_changes):
        flags.append("port changed")
    if any(change.path.startswith("loadBalancers") for change in plan.service_changes):
        flags.append("load balancer changed")
    return tuple(flags)
