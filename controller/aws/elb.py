"""The Elastic Load Balancing (v2) side of blue-green: routes, target groups, generations.

A thin adapter (does I/O in ``ElbApi``): which target group a listener or listener rule forwards
to, pointing it at another one, and the health of a target group's targets. Every boto3 error is
translated into ``AwsError`` saying what was being done and whether a retry helps. The module
functions are pure: how blue-green names its services (``<name>__<N>``, as Harness does) and
which of them a target group serves, shared by the live-state lookup and the rollout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.aws.clients import AwsClients, aws_errors
from controller.errors import AwsError

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Route:
    """Where traffic enters: a listener, or one of its rules (``rule_arn`` set)."""

    listener_arn: str
    rule_arn: str | None = None

    def __str__(self) -> str:
        return f"rule {self.rule_arn}" if self.rule_arn else f"listener {self.listener_arn}"


@dataclass(frozen=True)
class TargetCounts:
    """How many targets of a target group are in each DescribeTargetHealth state."""

    by_state: Mapping[str, int]

    @property
    def healthy(self) -> int:
        return self.by_state.get("healthy", 0)

    @property
    def unhealthy(self) -> int:
        return self.by_state.get("unhealthy", 0)

    def __str__(self) -> str:
        if not self.by_state:
            return "no targets"
        return ", ".join(f"{n} {state}" for state, n in sorted(self.by_state.items()))


def forwarded_target_group(actions: Sequence[JsonDict]) -> str | None:
    """The first target group of the first forward action (as Harness resolves it), or None."""
    for action in sorted(actions, key=lambda a: int(a.get("Order") or 0)):
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            return str(action["TargetGroupArn"])
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if groups:
            return str(groups[0]["TargetGroupArn"])
    return None


def retarget(actions: Sequence[JsonDict], target_group_arn: str) -> list[JsonDict]:
    """``actions`` with their forward pointed at ``target_group_arn``; every other action kept.

    A rule that authenticates before it forwards keeps authenticating after a swap.
    """
    ordered = sorted(actions, key=lambda a: int(a.get("Order") or 0))
    result: list[JsonDict] = []
    swapped = False
    for action in ordered:
        if action.get("Type") == "forward" and not swapped:
            forward: JsonDict = {"Type": "forward", "TargetGroupArn": target_group_arn}
            if action.get("Order") is not None:
                forward["Order"] = action["Order"]
            result.append(forward)
            swapped = True
        else:
            result.append(dict(action))
    if not swapped:
        # no forward to repoint (a fixed response, a redirect): keep only the authentication
        result = [a for a in result if str(a.get("Type", "")).startswith("authenticate")]
        result.append({"Type": "forward", "TargetGroupArn": target_group_arn})
    return result


# The tag a blue-green service carries: BLUE serves production, GREEN is the stage or the previous.
BG_VERSION_TAG = "BG_VERSION"
BLUE, GREEN = "BLUE", "GREEN"


def routes(block: Mapping[str, Any]) -> tuple[Route, Route]:
    """deploy.yaml ``blueGreen`` -> the (prod, stage) routes."""
    prod = Route(str(block["prodListenerArn"]), block.get("prodListenerRuleArn"))
    stage = Route(str(block["stageListenerArn"]), block.get("stageListenerRuleArn"))
    return prod, stage


def generation(service_name: str, base: str) -> int | None:
    """``web__3`` -> 3 for base ``web``; None for any other name."""
    prefix = f"{base}__"
    suffix = service_name[len(prefix) :]
    if service_name.startswith(prefix) and suffix.isdigit():
        return int(suffix)
    return None


def attached_to(service: JsonDict, target_group_arn: str) -> bool:
    return any(
        lb.get("targetGroupArn") == target_group_arn for lb in service.get("loadBalancers") or ()
    )


def serving(services: Sequence[JsonDict], target_group_arn: str, *, base: str) -> JsonDict | None:
    """The generation of ``base`` that ``target_group_arn`` serves traffic from, or None.

    Normally one; should a failed run have left two attached, the running, newest one counts.
    """
    candidates = [
        s
        for s in services
        if s.get("status") == "ACTIVE"
        and generation(str(s.get("serviceName")), base) is not None
        and attached_to(s, target_group_arn)
    ]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda s: (
            int(s.get("desiredCount") or 0) > 0,
            generation(str(s["serviceName"]), base) or 0,
        ),
    )


def without_bg_tag(service: JsonDict) -> JsonDict:
    """The service as git describes it: BG_VERSION is the controller's tag, not the user's."""
    if "tags" not in service:
        return service
    tags = [t for t in service["tags"] or () if t.get("key") != BG_VERSION_TAG]
    return {**service, "tags": tags}


class ElbApi:
    """ELBv2 operations for one environment (one region and role)."""

    def __init__(self, clients: AwsClients) -> None:
        self.elbv2 = clients.elbv2

    def _listener(self, arn: str) -> JsonDict:
        with aws_errors(f"describe listener {arn}"):
            listeners = self.elbv2.describe_listeners(ListenerArns=[arn]).get("Listeners", [])
        if not listeners:
            raise AwsError(f"describe listener {arn}: no such listener", code="ListenerNotFound")
        return dict(listeners[0])

    def _rule(self, arn: str) -> JsonDict:
        with aws_errors(f"describe listener rule {arn}"):
            rules = self.elbv2.describe_rules(RuleArns=[arn]).get("Rules", [])
        if not rules:
            raise AwsError(f"describe listener rule {arn}: no such rule", code="RuleNotFound")
        return dict(rules[0])

    def target_group_of(self, route: Route) -> str:
        """The target group ``route`` forwards to; an error if it forwards nowhere."""
        if route.rule_arn:
            actions = self._rule(route.rule_arn).get("Actions") or []
        else:
            actions = self._listener(route.listener_arn).get("DefaultActions") or []
        group = forwarded_target_group(actions)
        if group is None:
            raise AwsError(f"find the target group of {route}: it has no forward action")
        return group

    def forward(self, route: Route, target_group_arn: str) -> bool:
        """Point ``route`` at ``target_group_arn``; False when it already forwarded there.

        A listener's default rule cannot be modified as a rule: its listener's default actions
        are modified instead.
        """
        if self.target_group_of(route) == target_group_arn:
            return False
        rule = self._rule(route.rule_arn) if route.rule_arn else None
        if rule is not None and not rule.get("IsDefault"):
            actions = retarget(rule.get("Actions") or [], target_group_arn)
            with aws_errors(f"modify listener rule {route.rule_arn}"):
                self.elbv2.modify_rule(RuleArn=route.rule_arn, Actions=actions)
        else:
            listener = self._listener(route.listener_arn)
            actions = retarget(listener.get("DefaultActions") or [], target_group_arn)
            with aws_errors(f"modify listener {route.listener_arn}"):
                self.elbv2.modify_listener(ListenerArn=route.listener_arn, DefaultActions=actions)
        return True

    def target_health(self, arn: str) -> TargetCounts:
        """DescribeTargetHealth, counted by state."""
        with aws_errors(f"describe target health of {arn}"):
            described = self.elbv2.describe_target_health(TargetGroupArn=arn).get(
                "TargetHealthDescriptions", []
            )
        counts: dict[str, int] = {}
        for target in described:
            state = str((target.get("TargetHealth") or {}).get("State", "unknown"))
            counts[state] = counts.get(state, 0) + 1
        return TargetCounts(counts)
