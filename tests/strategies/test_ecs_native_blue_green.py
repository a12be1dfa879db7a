"""The ``ecs`` strategy following ECS's own BLUE_GREEN deployment in local-aws (scaled clock).

ECS shifts the production listener rule to the alternate target group, bakes, then swaps the
groups; the controller follows it, verifies during the bake, and stops it with ECS's rollback
when verification fails there.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from controller.core.model import DesiredService, Strategy
from controller.core.outcome import Result
from controller.localaws import LocalAws
from tests.strategies.support import Probe, Stage, alarm, ecs, live

ROLE = "arn:aws:iam::123456789012:role/ecs-infrastructure"


@dataclass(frozen=True)
class Traffic:
    """An ALB whose production (80) and test (8080) rules forward to both target groups."""

    blue: str
    green: str
    production: str
    test: str


def elbv2() -> Any:
    return boto3.client("elbv2", region_name="us-east-1")


@pytest.fixture
def traffic(stage: Stage) -> Traffic:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_subnets(SubnetIds=[stage.subnet])["Subnets"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc]
    lb = elbv2().create_load_balancer(Name="web", Subnets=subnets[:2], Type="application")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    groups = [
        elbv2().create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for name in ("web-blue", "web-green")
    ]
    rules = []
    for port in (80, 8080):
        listener = elbv2().create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[0]}],
        )["Listeners"][0]["ListenerArn"]
        forward = [{"TargetGroupArn": groups[0], "Weight": 100}]
        forward.append({"TargetGroupArn": groups[1], "Weight": 0})
        rules.append(
            elbv2().create_rule(
                ListenerArn=listener,
                Priority=1,
                Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": forward}}],
            )["Rules"][0]["RuleArn"]
        )
    return Traffic(blue=groups[0], green=groups[1], production=rules[0], test=rules[1])


@pytest.fixture
def scaled_minutes(local_aws: LocalAws) -> Iterator[None]:
    """One simulated minute (of bake time) lasts one real second."""
    before = local_aws.options
    local_aws.options = dataclasses.replace(before, minute_seconds=1.0)
    yield
    local_aws.options = before


def weights(rule: str) -> dict[str, int]:
    (found,) = elbv2().describe_rules(RuleArns=[rule])["Rules"]
    (action,) = [a for a in found["Actions"] if a["Type"] == "forward"]
    return {g["TargetGroupArn"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}


def blue_green(
    stage: Stage, traffic: Traffic, *, image: str, raw: dict[str, Any] | None = None
) -> DesiredService:
    desired = stage.service("web", strategy=Strategy.ECS, image=image, raw=raw)
    assert desired.service is not None
    service = {
        **desired.service,
        "loadBalancers": [
            {
                "targetGroupArn": traffic.blue,
                "containerName": "app",
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": traffic.green,
                    "productionListenerRule": traffic.production,
                    "testListenerRule": traffic.test,
                    "roleArn": ROLE,
                },
            }
        ],
        "deploymentConfiguration": {
            "strategy": "BLUE_GREEN",
            "bakeTimeInMinutes": 1,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
    }
    task_definition = {
        **desired.task_definition,
        "containerDefinitions": [
            {
                "name": "app",
                "image": image,
                "essential": True,
                "portMappings": [{"containerPort": 8080}],
            }
        ],
    }
    return dataclasses.replace(desired, service=service, task_definition=task_definition)


@pytest.mark.usefixtures("scaled_minutes")
def test_blue_green_ends_synced_with_production_on_the_former_alternate_group(
    stage: Stage, traffic: Traffic
) -> None:
    first = stage.roll_out(blue_green(stage, traffic, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome

    rolled = stage.roll_out(blue_green(stage, traffic, image="nginx:1.27"))

    outcome = rolled.outcome
    assert outcome.result == Result.SYNCED, outcome
    assert "serviceDeploymentArn" in outcome.details
    assert weights(traffic.production) == {traffic.blue: 0, traffic.green: 100}
    # ECS's lifecycle stages were the rollout's phases while it ran (those a poll saw)
    assert "bake-time" in rolled.phases, rolled.phases
    assert any("production" in line and "traffic" in line for line in rolled.lines)


@pytest.mark.usefixtures("scaled_minutes")
def test_a_verify_failing_during_the_bake_is_rolled_back_by_ecs(
    stage: Stage, traffic: Traffic, probe: Probe
) -> None:
    first = stage.roll_out(blue_green(stage, traffic, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    before = live("web")
    assert before is not None
    probe.answer(503)
    verify = {"verify": {"http": [{"url": probe.url}], "duration": "30s"}}

    rolled = stage.roll_out(blue_green(stage, traffic, image="nginx:1.27", raw=verify))

    outcome = rolled.outcome
    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("verification failed: http"), outcome
    arn = str(outcome.details["serviceDeploymentArn"])
    assert any(line.startswith(f"stopping ECS service deployment {arn}") for line in rolled.lines)
    (found,) = ecs().describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    assert found["status"] == "ROLLBACK_SUCCESSFUL"
    assert "bake-time" in rolled.phases
    # production is back on the group it was on, serving the previous revision
    assert weights(traffic.production) == {traffic.blue: 100, traffic.green: 0}
    after = live("web")
    assert after is not None and after["taskDefinition"] == before["taskDefinition"]


@pytest.mark.usefixtures("scaled_minutes")
def test_linear_50_is_followed_through_its_half_way_step(stage: Stage, traffic: Traffic) -> None:
    first = stage.roll_out(blue_green(stage, traffic, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    desired = blue_green(stage, traffic, image="nginx:1.27")
    assert desired.service is not None
    linear = {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": 0,
        "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1},
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    desired = dataclasses.replace(
        desired, service={**desired.service, "deploymentConfiguration": linear}
    )
    seen: list[dict[str, int]] = []
    done = threading.Event()

    def watch() -> None:
        # the production rule's weights as often as the rollout polls, for the whole rollout
        while not done.wait(0.05):
            now = weights(traffic.production)
            if not seen or seen[-1] != now:
                seen.append(now)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        rolled = stage.roll_out(desired)
    finally:
        done.set()
        watcher.join()

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert {traffic.blue: 50, traffic.green: 50} in seen, seen
    assert weights(traffic.production) == {traffic.blue: 0, traffic.green: 100}


@pytest.mark.usefixtures("scaled_minutes")
def test_an_alarm_during_the_bake_is_rolled_back_by_ecs_naming_the_alarm(
    stage: Stage, traffic: Traffic
) -> None:
    alarm("web-5xx", "OK")
    first = stage.roll_out(blue_green(stage, traffic, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    desired = blue_green(stage, traffic, image="nginx:1.27")
    assert desired.service is not None
    configuration = {
        **desired.service["deploymentConfiguration"],
        "bakeTimeInMinutes": 5,
        "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True},
    }
    desired = dataclasses.replace(
        desired, service={**desired.service, "deploymentConfiguration": configuration}
    )

    def watch(line: str) -> None:
        if "at BAKE_TIME" in line:
            alarm("web-5xx", "ALARM")

    rolled = stage.roll_out(desired, on_report=watch)

    outcome = rolled.outcome
    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason is not None and "web-5xx" in outcome.failure_reason, outcome
    assert not any(line.startswith("stopping ECS") for line in rolled.lines)  # ECS's own
    assert weights(traffic.production) == {traffic.blue: 100, traffic.green: 0}


@pytest.mark.usefixtures("scaled_minutes")
def test_each_deployment_moves_production_to_the_other_group(
    stage: Stage, traffic: Traffic
) -> None:
    first = stage.roll_out(blue_green(stage, traffic, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    second = stage.roll_out(blue_green(stage, traffic, image="nginx:1.27"))
    assert second.outcome.result == Result.SYNCED, second.outcome
    assert weights(traffic.production) == {traffic.blue: 0, traffic.green: 100}

    third = stage.roll_out(blue_green(stage, traffic, image="nginx:1.28"))

    assert third.outcome.result == Result.SYNCED, third.outcome
    # git still names blue first: the update leaves ECS's swap alone, so the new tasks start
    # behind blue (the alternate now) and production moves there
    assert weights(traffic.production) == {traffic.blue: 100, traffic.green: 0}
    assert "loadBalancers not sent: they are git's, with ECS's blue/green swap" in third.lines
    service = live("web")
    assert service is not None
    assert service["loadBalancers"][0]["targetGroupArn"] == traffic.blue
