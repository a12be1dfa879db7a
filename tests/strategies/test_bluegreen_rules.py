"""Blue-green routed by listener rules against local-aws: the rules swap, the listeners stay.

deploy.yaml's ``blueGreen.prodListenerRuleArn`` / ``stageListenerRuleArn`` name a path rule of
each listener; the swap then modifies those rules' forward actions and must leave the listeners'
default actions alone. The ALB here makes the difference visible: each listener's default action
goes somewhere else (a third target group, a fixed response) than its ``/app/*`` rule.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from controller.aws.clients import forget_clients
from controller.core.model import DesiredService
from controller.core.outcome import Result
from controller.localaws import LocalAws
from controller.strategies.base import drive
from controller.strategies.blue_green.rollout import CONFIRM, BlueGreenRollout
from tests.strategies.bluegreen_support import (
    Alb,
    Balancer,
    client,
    colour,
    context,
    deploy,
    desired,
    ecs_service,
    forward,
    healthy_targets,
)

JsonDict = dict[str, Any]

# The stage listener's default action: no target group at all.
FIXED_RESPONSE = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
}


@dataclass(frozen=True)
class RuledBalancer:
    """An ALB whose listeners route ``/app/*`` by rule: prod rule -> blue, stage rule -> green.

    The prod listener's default action forwards to ``other``, the stage listener's answers 404.
    """

    balancer: Balancer  # the listeners, target groups and network ``desired`` needs
    prod_rule: str
    stage_rule: str
    other: str

    def forwards(self, rule: str) -> str:
        (found,) = client("elbv2").describe_rules(RuleArns=[rule])["Rules"]
        forwards = [a for a in found["Actions"] if a["Type"] == "forward"]
        assert len(forwards) == 1, found["Actions"]
        return str(forwards[0]["TargetGroupArn"])

    def default_actions(self, listener: str) -> list[JsonDict]:
        (found,) = client("elbv2").describe_listeners(ListenerArns=[listener])["Listeners"]
        return [_essentials(a) for a in found["DefaultActions"]]

    def service(self, *, image: str = "nginx:1.26", **edits: str) -> DesiredService:
        """staging/web, routed by this balancer's rules."""
        rules = (
            f"prodListenerRuleArn: {self.prod_rule}\n"
            f"  stageListenerRuleArn: {self.stage_rule}\n"
            "  downsizeOldService: true"
        )
        return desired(self.balancer, image=image, **{"downsizeOldService: true": rules, **edits})


def _essentials(action: JsonDict) -> JsonDict:
    """An action as the test wrote it (ELBv2 may add ForwardConfig or Order when describing)."""
    if action["Type"] == "forward":
        return {"Type": "forward", "TargetGroupArn": action["TargetGroupArn"]}
    return {"Type": action["Type"], "FixedResponseConfig": action["FixedResponseConfig"]}


@pytest.fixture
def ruled(local_aws: LocalAws) -> Iterator[RuledBalancer]:
    forget_clients()
    client("ecs").create_cluster(clusterName="staging")
    alb = Alb.create()
    blue, green = alb.target_group("web-blue"), alb.target_group("web-green")
    other = alb.target_group("other")
    prod = alb.listener(80, forward(other))
    stage = alb.listener(8080, FIXED_RESPONSE)
    yield RuledBalancer(
        balancer=Balancer(
            prod_listener=prod,
            stage_listener=stage,
            blue=blue,
            green=green,
            subnet=alb.subnets[0],
            security_group=alb.security_group,
        ),
        prod_rule=alb.path_rule(prod, blue),
        stage_rule=alb.path_rule(stage, green),
        other=other,
    )
    forget_clients()


def assert_listeners_untouched(ruled: RuledBalancer) -> None:
    b = ruled.balancer
    assert ruled.default_actions(b.prod_listener) == [
        {"Type": "forward", "TargetGroupArn": ruled.other}
    ]
    assert ruled.default_actions(b.stage_listener) == [FIXED_RESPONSE]


def test_a_good_deploy_swaps_the_rules_and_leaves_the_listeners_alone(
    ruled: RuledBalancer,
) -> None:
    b = ruled.balancer

    first = deploy(ruled.service())

    assert first.result == Result.SYNCED, first.message
    # web__1 was created on the group the stage rule forwarded to, then swapped in by rule
    web1 = ecs_service("web__1")
    assert web1 is not None and web1["loadBalancers"][0]["targetGroupArn"] == b.green
    assert ruled.forwards(ruled.prod_rule) == b.green
    assert ruled.forwards(ruled.stage_rule) == b.blue
    assert first.details["targetGroup"] == b.green
    assert_listeners_untouched(ruled)

    second = deploy(ruled.service(image="nginx:1.27"))

    assert second.result == Result.SYNCED, second.message
    web2 = ecs_service("web__2")
    assert web2 is not None and web2["loadBalancers"][0]["targetGroupArn"] == b.blue
    assert ruled.forwards(ruled.prod_rule) == b.blue
    assert ruled.forwards(ruled.stage_rule) == b.green
    assert (colour("web__2"), colour("web__1")) == ("BLUE", "GREEN")
    assert healthy_targets(b.blue) == 2
    assert_listeners_untouched(ruled)
    assert healthy_targets(ruled.other) == 0  # no service was ever put behind a default action


def test_a_failing_image_leaves_the_prod_rule_on_the_old_target_group(
    ruled: RuledBalancer,
) -> None:
    b = ruled.balancer
    deploy(ruled.service())
    good = ecs_service("web__1")
    assert good is not None

    outcome = deploy(ruled.service(image="nginx:broken"))

    assert outcome.result == Result.ROLLED_BACK, outcome.message
    assert outcome.restored_task_definition_arn == good["taskDefinition"]
    assert ruled.forwards(ruled.prod_rule) == b.green
    assert ruled.forwards(ruled.stage_rule) == b.blue
    assert_listeners_untouched(ruled)
    assert ecs_service("web__2") is None
    assert colour("web__1") == "BLUE"
    assert healthy_targets(b.green) == 2


def test_a_failure_after_the_swap_swaps_the_rules_back(ruled: RuledBalancer) -> None:
    b = ruled.balancer
    deploy(ruled.service())
    ctx = context(ruled.service(image="nginx:1.27"))
    rollout = BlueGreenRollout(ctx)
    while rollout.progress.phase != CONFIRM:
        assert rollout.step() is None
        time.sleep(0.05)
    assert ruled.forwards(ruled.prod_rule) == b.blue  # swapped, by rule
    # production's new service disappears under the controller's feet
    client("ecs").delete_service(cluster="staging", service="web__2", force=True)

    outcome = drive(rollout, ctx)

    assert outcome.result == Result.ROLLED_BACK, outcome.message
    assert ruled.forwards(ruled.prod_rule) == b.green
    assert ruled.forwards(ruled.stage_rule) == b.blue
    assert_listeners_untouched(ruled)
    old = ecs_service("web__1")
    assert old is not None and old["desiredCount"] == 2
    assert colour("web__1") == "BLUE"
