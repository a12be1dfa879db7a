"""What ECS's own blue/green, linear and canary deployments do to a service's fields.

After such a deployment ECS has traded the primary and alternate target groups of every load
balancer (the alternate now serves production): that is ECS's doing, not drift from git, and
sending git's order back would put the next deployment's tasks behind the group serving
production. Purely computational.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

JsonDict = dict[str, Any]


def _matches(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether ``live`` has every member ``desired`` sets, with the same value."""
    for key, value in desired.items():
        seen = live.get(key)
        if isinstance(value, Mapping):
            if not isinstance(seen, Mapping) or not _matches(value, seen):
                return False
        elif seen != value:
            return False
    return True


def _swapped(load_balancer: Mapping[str, Any]) -> JsonDict | None:
    advanced = load_balancer.get("advancedConfiguration") or {}
    alternate, primary = (
        advanced.get("alternateTargetGroupArn"),
        load_balancer.get("targetGroupArn"),
    )
    if not alternate or not primary:
        return None
    return {
        **load_balancer,
        "targetGroupArn": alternate,
        "advancedConfiguration": {**advanced, "alternateTargetGroupArn": primary},
    }


def swapped_by_ecs(desired: Sequence[JsonDict], live: Sequence[JsonDict]) -> bool:
    """Whether the live loadBalancers are the desired ones after ECS's blue/green swapped target
    groups (the alternate became the primary): then there is nothing of them to send, and
    sending git's order back would put the new tasks behind the group serving production."""
    if not desired or len(desired) != len(live):
        return False
    swapped = False
    for want, have in zip(desired, live, strict=True):
        if _matches(want, have):
            continue
        turned = _swapped(want)
        if turned is None or not _matches(turned, have):
            return False
        swapped = True
    return swapped
