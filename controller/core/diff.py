"""Field-by-field differences between desired (git) and live (AWS) documents.

Both sides go through ``controller.core.normalize`` first, so only real changes remain.
Every ``FieldChange`` has ``old`` = live and ``new`` = desired, and values that are secrets by
their name or their shape (``controller.core.secrets``) are masked before they reach a change
(and so any output).

Purely computational.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from controller.core.fields import SERVICE_REQUEST, Reported
from controller.core.model import JsonDict
from controller.core.native_deployments import swapped_by_ecs
from controller.core.normalize import (
    SCALABLE_TARGET_RULES,
    SCALING_POLICY_RULES,
    SERVICE_RULES,
    TASK_DEFINITION_RULES,
    Rules,
    child_schema,
    normalize_scalable_target,
    normalize_scaling_policy,
    normalize_service,
    normalize_task_definition,
)
from controller.core.plan import FieldChange
from controller.core.secrets import MASK, mask_at

# Service fields UpdateService cannot change: a change means deleting and recreating the service.
REPLACE_FIELDS = frozenset({"launchType", "schedulingStrategy", "deploymentController", "role"})

# A blue-green rollout resolves this placeholder; until then the target group is not compared.
TARGET_GROUP_PLACEHOLDER = "<+targetGroupArn>"

# what a masked value shows (see controller.core.secrets)
REDACTED = MASK

# Service members DescribeServices never returns: live state cannot disagree with them.
UNREPORTED_FIELDS = frozenset(
    name for name, spec in SERVICE_REQUEST.items() if spec.reported is Reported.NEVER
)
# what a change of an unreported member shows as its live value
NOT_REPORTED = "(not reported by ECS)"


def diff_task_definition(desired: JsonDict, live: JsonDict | None) -> tuple[FieldChange, ...]:
    """Every difference between the whole desired and live task definitions.

    The desired revision is registered exactly as rendered, so anything that differs,
    including a field git removed, is a change. ``live`` None gives one change naming the family.
    """
    if live is None:
        return (FieldChange("taskDefinition", None, desired.get("family")),)
    return tuple(
        _diff(
            normalize_task_definition(live),
            normalize_task_definition(desired),
            path="",
            schema="",
            rules=TASK_DEFINITION_RULES,
        )
    )


def diff_service(
    desired: JsonDict, live: JsonDict | None, *, autoscaled: bool = False
) -> tuple[FieldChange, ...]:
    """Differences in the service fields the desired CreateService request sets.

    Fields git leaves out are AWS's to choose, and so are the nested members ECS fills in from
    elsewhere (``controller.core.fields.SERVICE_CHOSEN``). Members DescribeServices never returns
    are not compared (see ``diff_unreported``). With ``autoscaled``, desiredCount belongs to
    Application Auto Scaling and is not compared. ``live`` None gives one change naming the service.
    """
    if live is None:
        return (FieldChange("service", None, desired.get("serviceName")),)
    wanted = normalize_service(desired)
    actual = normalize_service(live)
    _forget_placeholder_target_groups(wanted, actual)
    renames = SERVICE_RULES.rename.get("", {})
    dropped = SERVICE_RULES.drop.get("", frozenset())
    keys = {renames.get(key, key) for key in desired} - dropped - UNREPORTED_FIELDS
    if autoscaled:
        keys.discard("desiredCount")
    if swapped_by_ecs(desired.get("loadBalancers") or [], live.get("loadBalancers") or []):
        keys.discard("loadBalancers")  # ECS's blue/green traded the target groups: not drift
    changes: list[FieldChange] = []
    for key in sorted(keys):
        changes += _diff(
            actual.get(key),
            wanted.get(key),
            path=key,
            schema=key,
            rules=SERVICE_RULES,
            replace=key in REPLACE_FIELDS,
        )
    return tuple(changes)


def diff_unreported(
    desired: JsonDict, *, applied_state: str | None, desired_state: str
) -> tuple[FieldChange, ...]:
    """Changes of the service members ECS never reports back, judged by what was last applied.

    Live state says nothing about them (``UNREPORTED_FIELDS``), so they are never drift. They can
    only have changed when git did: with ``applied_state`` (the fingerprint of the desired state
    the controller last applied, as its status file records) different from ``desired_state``,
    each such member the desired request sets is a change; with no record, there is nothing to
    compare with and no change.
    """
    if applied_state is None or applied_state == desired_state:
        return ()
    return tuple(
        FieldChange(key, NOT_REPORTED, mask_at(key, desired[key]))
        for key in sorted(UNREPORTED_FIELDS & set(desired))
    )


def _forget_placeholder_target_groups(wanted: JsonDict, actual: JsonDict) -> None:
    live_balancers = actual.get("loadBalancers", {})
    for key, balancer in wanted.get("loadBalancers", {}).items():
        if TARGET_GROUP_PLACEHOLDER in str(balancer.get("targetGroupArn", "")):
            balancer.pop("targetGroupArn", None)
            if isinstance(live_balancers.get(key), dict):
                live_balancers[key].pop("targetGroupArn", None)


def diff_autoscaling(
    desired_target: JsonDict | None,
    desired_policies: Sequence[JsonDict],
    live_target: JsonDict | None,
    live_policies: Sequence[JsonDict],
) -> tuple[FieldChange, ...]:
    """Differences in the scalable target (fields git sets) and the scaling policies (whole).

    Policies are matched by PolicyName; a live policy or target git no longer has is a change.
    """
    changes: list[FieldChange] = []
    if desired_target is not None and live_target is not None:
        wanted = normalize_scalable_target(desired_target)
        actual = normalize_scalable_target(live_target)
        keys = set(desired_target) - SCALABLE_TARGET_RULES.drop.get("", frozenset())
        for key in sorted(keys):
            changes += _diff(
                actual.get(key),
                wanted.get(key),
                path=f"scalableTarget.{key}",
                schema=key,
                rules=SCALABLE_TARGET_RULES,
            )
    elif desired_target is not None or live_target is not None:
        changes.append(
            FieldChange(
                "scalableTarget",
                None if live_target is None else normalize_scalable_target(live_target),
                None if desired_target is None else normalize_scalable_target(desired_target),
            )
        )
    wanted_policies = _policies_by_name(desired_policies)
    live_by_name = _policies_by_name(live_policies)
    for name in sorted(set(wanted_policies) | set(live_by_name)):
        changes += _diff(
            live_by_name.get(name),
            wanted_policies.get(name),
            path=f"scalingPolicies[{name}]",
            schema="",
            rules=SCALING_POLICY_RULES,
        )
    return tuple(changes)


def _policies_by_name(policies: Iterable[JsonDict]) -> dict[str, JsonDict]:
    result: dict[str, JsonDict] = {}
    for policy in policies:
        body = normalize_scaling_policy(policy)
        name = str(body.pop("PolicyName", ""))
        result[name] = body
    return result


def _diff(
    live: Any, desired: Any, *, path: str, schema: str, rules: Rules, replace: bool = False
) -> list[FieldChange]:
    """Changes from ``live`` to ``desired`` (both canonical), down to the smallest changed field."""
    if live == desired:
        return []
    keyed = schema in rules.keyed
    if keyed and (live is None or desired is None):
        # A keyed list added or removed as a whole still shows entry by entry.
        live, desired = live or {}, desired or {}
    if isinstance(live, dict) and isinstance(desired, dict):
        changes: list[FieldChange] = []
        for key in sorted(set(live) | set(desired)):
            if keyed:
                child_path, child = f"{path}[{key}]", f"{schema}.*"
            else:
                child_path = f"{path}.{key}" if path else key
                child = child_schema(schema, key)
            if child in rules.chosen and desired.get(key) is None:
                continue  # ECS filled it in from elsewhere, and git leaves it to ECS
            changes += _diff(
                live.get(key),
                desired.get(key),
                path=child_path,
                schema=child,
                rules=rules,
                replace=replace,
            )
        return changes
    # plan output goes to pull-request comments: values are masked before they reach a change
    return [FieldChange(path, mask_at(path, live), mask_at(path, desired), replace=replace)]
