"""ECS's native BLUE_GREEN, LINEAR and CANARY deployments in local-aws: lifecycle stages, the
alternate target group, listener-rule weights and bake times.

ECS (deploymentConfiguration.strategy BLUE_GREEN, each load balancer with an
``advancedConfiguration``) runs a new deployment through its lifecycle stages in this order:
RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP (the new "green" tasks start, registered in the
alternate target group, while the "blue" ones keep serving), POST_SCALE_UP, TEST_TRAFFIC_SHIFT (the
test listener rule forwards to the alternate target group), POST_TEST_TRAFFIC_SHIFT,
PRODUCTION_TRAFFIC_SHIFT (the production rule too, all at once), POST_PRODUCTION_TRAFFIC_SHIFT,
BAKE_TIME (``bakeTimeInMinutes``, both revisions kept), CLEAN_UP (blue tasks stopped; the
alternate target group becomes the service's primary one and the other the alternate). Failed
green tasks trip the circuit breaker: the weights go back, the green tasks stop, and the service
deployment is ROLLBACK_SUCCESSFUL. LINEAR and CANARY differ only in PRODUCTION_TRAFFIC_SHIFT,
which moves production traffic in steps with a bake between them (``production_steps``).
``controller.localaws.native_rollout`` runs the stages, their lifecycle hooks and the alarms; this
module holds ECS's rules for the configuration and what each stage does to ELBv2.

Does I/O only on moto's in-memory ELBv2 backend (the listener rules' forward weights); time comes
in as ``t``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from moto.ecs.exceptions import InvalidParameterException
from moto.elbv2.exceptions import RuleNotFoundError
from moto.elbv2.models import elbv2_backends

NATIVE_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
LIFECYCLE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
DEFAULT_BAKE_TIME_MINUTES = 0
# ECS runs traffic shifts as one step: a PAUSE hook can wait before or after them, not during
_NO_PAUSE_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")


def strategy(deployment_configuration: dict[str, Any] | None) -> str:
    return str((deployment_configuration or {}).get("strategy") or "ROLLING")


def refuse_unsupported(
    backend: Any,
    *,
    deployment_configuration: dict[str, Any] | None,
    load_balancers: Iterable[dict[str, Any]],
    deployment_controller: str,
) -> None:
    """Raise ECS's InvalidParameterException for a native strategy ECS would not run."""
    name = strategy(deployment_configuration)
    if name not in NATIVE_STRATEGIES:
        return
    if deployment_controller != "ECS":
        raise InvalidParameterException(
            f"The {name} deployment strategy is only supported with the ECS deployment controller."
        )
    for hook in (deployment_configuration or {}).get("lifecycleHooks") or []:
        paused = set(hook.get("lifecycleStages") or []) & set(_NO_PAUSE_STAGES)
        if hook.get("targetType") == "PAUSE" and paused:
            raise InvalidParameterException(
                f"PAUSE lifecycle hooks are not supported at {', '.join(sorted(paused))}."
            )
    for lb in load_balancers:
        advanced = lb.get("advancedConfiguration")
        if not advanced:
            raise InvalidParameterException(
                f"advancedConfiguration must be specified for each load balancer when using the "
                f"{name} deployment strategy."
            )
        both = {lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")}
        rule = _rule(backend, advanced.get("productionListenerRule"))
        if rule is None or not both <= set(_forwarded(rule)):
            raise InvalidParameterException(
                "The production listener rule must forward to both the target group and the "
                "alternate target group."
            )


def applies(service: Any) -> bool:
    """True when the next deployment of moto's ``service`` is a native blue/green, linear or
    canary one."""
    return strategy(service.deployment_configuration) in NATIVE_STRATEGIES and any(
        lb.get("advancedConfiguration") for lb in service.load_balancers or []
    )


def bake_seconds(service: Any, *, minute_seconds: float) -> float:
    minutes = service.deployment_configuration.get("bakeTimeInMinutes", DEFAULT_BAKE_TIME_MINUTES)
    return float(minutes) * minute_seconds


def target_group(lb: dict[str, Any], *, green: bool) -> str | None:
    """Where a task registers: green tasks of a blue/green deployment in the alternate group."""
    advanced = lb.get("advancedConfiguration") or {}
    arn = advanced.get("alternateTargetGroupArn") if green else lb.get("targetGroupArn")
    return str(arn) if arn else None


def production_steps(deployment_configuration: dict[str, Any]) -> list[tuple[float, float]]:
    """The production shares of the new revision, step by step, each with the minutes after it.

    BLUE_GREEN: all at once. LINEAR: ``stepPercent`` more each step (default 10), baking
    ``stepBakeTimeInMinutes`` (default 6) between steps. CANARY: ``canaryPercent`` (default 5) for
    ``canaryBakeTimeInMinutes`` (default 10), then the rest.
    """
    name = strategy(deployment_configuration)
    if name == "LINEAR":
        linear = deployment_configuration.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", 10.0))
        wait = float(linear.get("stepBakeTimeInMinutes", 6))
        count = math.ceil(round(100.0 / step, 6))
        return [(min(100.0, round(step * (i + 1), 1)), wait) for i in range(count)]
    if name == "CANARY":
        canary = deployment_configuration.get("canaryConfiguration") or {}
        percent = float(canary.get("canaryPercent", 5.0))
        return [(percent, float(canary.get("canaryBakeTimeInMinutes", 10))), (100.0, 0.0)]
    return [(100.0, 0.0)]


def shift(backend: Any, service: Any, *, rule: str, percent: float) -> None:
    """Send ``percent`` of ``rule``'s traffic (productionListenerRule, testListenerRule) to the
    alternate target group and the rest to the primary one."""
    for lb in service.load_balancers or []:
        advanced = lb.get("advancedConfiguration") or {}
        found = _rule(backend, advanced.get(rule))
        if found is None:
            continue
        alternate = advanced.get("alternateTargetGroupArn")
        for group in _forward_groups(found):
            # ELBv2 weights are integers (0-999): percents, a fraction of one rounded
            if group.get("TargetGroupArn") == alternate:
                group["Weight"] = round(percent)
            elif group.get("TargetGroupArn") == lb.get("targetGroupArn"):
                group["Weight"] = 100 - round(percent)


def swap_target_groups(service: Any) -> None:
    """CLEAN_UP: the alternate target group, now serving, becomes the primary one."""
    swapped = []
    for lb in service.load_balancers or []:
        advanced = lb.get("advancedConfiguration")
        if advanced and advanced.get("alternateTargetGroupArn"):
            lb = {
                **lb,
                "targetGroupArn": advanced["alternateTargetGroupArn"],
                "advancedConfiguration": {
                    **advanced,
                    "alternateTargetGroupArn": lb.get("targetGroupArn"),
                },
            }
        swapped.append(lb)
    service.load_balancers = swapped


def _rule(backend: Any, arn: str | None) -> Any:
    if not arn:
        return None
    elbv2 = elbv2_backends[backend.account_id][backend.region_name]
    try:
        return elbv2.describe_rules(listener_arn=None, rule_arns=[arn])[0]
    except RuleNotFoundError:
        return None


def _forward_groups(rule: Any) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for action in rule.actions:
        if action.data.get("Type") == "forward":
            groups += (action.data.get("ForwardConfig") or {}).get("TargetGroups") or []
    return groups


def _forwarded(rule: Any) -> list[str]:
    return [str(g.get("TargetGroupArn")) for g in _forward_groups(rule)]
