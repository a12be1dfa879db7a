"""ECS's native deployments in local-aws (stages, alternate target group, weights, bakes) and
deployment alarms."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller.localaws import LocalAws
from controller.localaws.blue_green import LIFECYCLE_STAGES, production_steps
from tests.localaws.support import Network, describe, register, steady, wait_for

BREAKER = {"enable": True, "rollback": True}


@dataclass(frozen=True)
class Traffic:
    blue: str  # target group ARNs
    green: str
    production: str  # listener rule ARNs
    test: str

    def load_balancers(self, **advanced: Any) -> list[dict[str, Any]]:
        return [
            {
                "targetGroupArn": self.blue,
                "containerName": "app",
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": self.green,
                    "productionListenerRule": self.production,
                    "testListenerRule": self.test,
                    "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure",
                    **advanced,
                },
            }
        ]


def _forward_both(blue: str, green: str) -> list[dict[str, Any]]:
    groups = [{"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


@pytest.fixture
def traffic(elbv2: Any, network: Network) -> Traffic:
    """An ALB with a production listener (80) and a test listener (8080), each with a rule
    forwarding to both target groups, all of it to blue."""
    lb = elbv2.create_load_balancer(Name="web", Subnets=network.subnets, Type="application")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    groups = [
        elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=network.vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for name in ("web-blue", "web-green")
    ]
    rules = []
    for port in (80, 8080):
        listener = elbv2.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[0]}],
        )["Listeners"][0]["ListenerArn"]
        rules.append(
            elbv2.create_rule(
                ListenerArn=listener,
                Priority=1,
                Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                Actions=_forward_both(*groups),
            )["Rules"][0]["RuleArn"]
        )
    return Traffic(blue=groups[0], green=groups[1], production=rules[0], test=rules[1])


@pytest.fixture
def fast_minutes(local_aws: LocalAws) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=0.05)


def _weights(elbv2: Any, rule: str) -> dict[str, int]:
    [found] = elbv2.describe_rules(RuleArns=[rule])["Rules"]
    [action] = [a for a in found["Actions"] if a["Type"] == "forward"]
    return {g["TargetGroupArn"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}


def _targets(elbv2: Any, group: str) -> list[str]:
    described = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return [d["Target"]["Id"] for d in described]


def _create(
    ecs: Any, cluster: str, network: Network, traffic: Traffic, **configuration: Any
) -> None:
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        loadBalancers=traffic.load_balancers(),
        deploymentConfiguration={"strategy": "BLUE_GREEN", **configuration},
    )
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete")


def _newest(ecs: Any, cluster: str) -> dict[str, Any]:
    arn = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"][0][
        "serviceDeploymentArn"
    ]
    [found] = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return dict(found)


@pytest.mark.usefixtures("fast_minutes")
def _deploy_v2(ecs: Any, cluster: str) -> None:
    """Start a deployment of web to a second revision."""
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:2"),
    )


def _baking(ecs: Any, cluster: str) -> dict[str, Any]:
    """The newest service deployment, once it has reached BAKE_TIME."""
    return wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d.get("lifecycleStage") == "BAKE_TIME",
        what="the deployment in BAKE_TIME",
    )


def test_blue_green_shifts_production_to_the_alternate_group_then_swaps_them(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    _create(ecs, cluster, network, traffic)
    assert len(_targets(elbv2, traffic.blue)) == 2 and _targets(elbv2, traffic.green) == []

    _deploy_v2(ecs, cluster)

    stages: list[str] = []

    def observe() -> dict[str, Any]:
        seen = _newest(ecs, cluster)
        if seen.get("lifecycleStage") and seen["lifecycleStage"] not in stages:
            stages.append(seen["lifecycleStage"])
        return seen

    done = wait_for(observe, lambda d: d["status"] == "SUCCESSFUL", what="blue/green SUCCESSFUL")
    assert stages == sorted(stages, key=LIFECYCLE_STAGES.index)  # never out of ECS's order
    assert done["lifecycleStage"] == "CLEAN_UP"
    assert _weights(elbv2, traffic.production) == {traffic.blue: 0, traffic.green: 100}
    assert _weights(elbv2, traffic.test) == {traffic.blue: 0, traffic.green: 100}
    assert done["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    service = wait_for(lambda: describe(ecs, cluster, "web"), steady, what="v2 steady")
    [lb] = service["loadBalancers"]
    # the groups traded places: the next deployment's green is the old blue
    assert lb["targetGroupArn"] == traffic.green
    assert lb["advancedConfiguration"]["alternateTargetGroupArn"] == traffic.blue
    assert len(_targets(elbv2, traffic.green)) == 2 and _targets(elbv2, traffic.blue) == []


def test_bake_time_keeps_blue_running_after_production_shifted(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=1.0)
    _create(ecs, cluster, network, traffic, bakeTimeInMinutes=2)

    _deploy_v2(ecs, cluster)

    baking = _baking(ecs, cluster)
    assert baking["status"] == "IN_PROGRESS"
    assert _weights(elbv2, traffic.production) == {traffic.blue: 0, traffic.green: 100}
    assert baking["sourceServiceRevisions"][0]["runningTaskCount"] == 2
    assert len(_targets(elbv2, traffic.blue)) == 2 and len(_targets(elbv2, traffic.green)) == 2
    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "SUCCESSFUL",
        what="SUCCESSFUL after the bake",
    )
    assert (done["finishedAt"] - baking["startedAt"]).total_seconds() >= 2.0


@pytest.mark.usefixtures("fast_minutes")
def test_failing_green_tasks_roll_back_with_traffic_on_blue(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    _create(ecs, cluster, network, traffic, deploymentCircuitBreaker=BREAKER)
    v1 = describe(ecs, cluster, "web")["taskDefinition"]

    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:broken"),
    )

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="the broken blue/green deployment ROLLBACK_SUCCESSFUL",
    )
    assert "circuit breaker" in done["rollback"]["reason"]
    assert _weights(elbv2, traffic.production) == {traffic.blue: 100, traffic.green: 0}
    service = describe(ecs, cluster, "web")
    assert service["taskDefinition"] == v1
    assert service["loadBalancers"][0]["targetGroupArn"] == traffic.blue
    assert len(_targets(elbv2, traffic.blue)) == 2 and _targets(elbv2, traffic.green) == []


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return str(refused.value.response["Error"]["Code"])


def test_native_strategy_needs_advanced_configuration_on_each_load_balancer(
    ecs: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    [lb] = traffic.load_balancers()
    del lb["advancedConfiguration"]

    code = _refused(
        lambda: ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition=register(ecs, "web", "registry.example/web:1"),
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=network.awsvpc(),
            loadBalancers=[lb],
            deploymentConfiguration={"strategy": "BLUE_GREEN"},
        )
    )

    assert code == "InvalidParameterException"


def test_production_rule_must_forward_to_both_target_groups(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    elbv2.modify_rule(
        RuleArn=traffic.production, Actions=[{"Type": "forward", "TargetGroupArn": traffic.blue}]
    )

    code = _refused(
        lambda: ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition=register(ecs, "web", "registry.example/web:1"),
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=network.awsvpc(),
            loadBalancers=traffic.load_balancers(),
            deploymentConfiguration={"strategy": "BLUE_GREEN"},
        )
    )

    assert code == "InvalidParameterException"


def test_native_strategy_needs_the_ecs_deployment_controller(ecs: Any, cluster: str) -> None:
    code = _refused(
        lambda: ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition=register(ecs, "web", "registry.example/web:1"),
            desiredCount=1,
            deploymentController={"type": "CODE_DEPLOY"},
            deploymentConfiguration={"strategy": "BLUE_GREEN"},
        )
    )

    assert code == "InvalidParameterException"


def test_update_to_blue_green_without_advanced_configuration_is_refused(
    ecs: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    [lb] = traffic.load_balancers()
    del lb["advancedConfiguration"]
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        loadBalancers=[lb],
    )

    code = _refused(
        lambda: ecs.update_service(
            cluster=cluster, service="web", deploymentConfiguration={"strategy": "BLUE_GREEN"}
        )
    )

    assert code == "InvalidParameterException"
    assert describe(ecs, cluster, "web")["deploymentConfiguration"].get("strategy") != "BLUE_GREEN"


def test_cli_refuses_a_negative_minute_in_one_line() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "controller",
            "local-aws",
            "--port",
            "0",
            "--minute-seconds",
            "-1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "--minute-seconds must be 0 or more" in done.stderr


def test_stop_service_deployment_during_the_bake_puts_traffic_back_on_blue(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=1.0)
    _create(ecs, cluster, network, traffic, bakeTimeInMinutes=30)
    blue_targets = sorted(_targets(elbv2, traffic.blue))
    _deploy_v2(ecs, cluster)
    baking = _baking(ecs, cluster)
    assert _weights(elbv2, traffic.production) == {traffic.blue: 0, traffic.green: 100}

    ecs.stop_service_deployment(
        serviceDeploymentArn=baking["serviceDeploymentArn"], stopType="ROLLBACK"
    )

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="the stopped blue/green deployment ROLLBACK_SUCCESSFUL",
    )
    assert done["rollback"]["reason"] == "Service deployment rolled back by StopServiceDeployment."
    assert _weights(elbv2, traffic.production) == {traffic.blue: 100, traffic.green: 0}
    assert _weights(elbv2, traffic.test) == {traffic.blue: 100, traffic.green: 0}
    assert describe(ecs, cluster, "web")["loadBalancers"][0]["targetGroupArn"] == traffic.blue
    # the blue tasks served on untouched: a rollback here starts nothing new
    assert sorted(_targets(elbv2, traffic.blue)) == blue_targets
    assert _targets(elbv2, traffic.green) == []


@pytest.mark.parametrize(
    ("configuration", "steps"),
    [
        ({"strategy": "BLUE_GREEN"}, [(100.0, 0.0)]),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 50.0}},
            [(50.0, 6.0), (100.0, 6.0)],
        ),
        ({"strategy": "LINEAR"}, [(round(10.0 * i, 1), 6.0) for i in range(1, 11)]),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 30.0}},
            [(30.0, 6.0), (60.0, 6.0), (90.0, 6.0), (100.0, 6.0)],
        ),
        ({"strategy": "CANARY"}, [(5.0, 10.0), (100.0, 0.0)]),
        (
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 1},
            },
            [(20.0, 1.0), (100.0, 0.0)],
        ),
    ],
)
def test_production_steps_follow_ecs_defaults(
    configuration: dict[str, Any], steps: list[tuple[float, float]]
) -> None:
    assert production_steps(configuration) == steps


def test_linear_moves_production_traffic_in_steps(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=0.5)
    _create(
        ecs,
        cluster,
        network,
        traffic,
        strategy="LINEAR",
        linearConfiguration={"stepPercent": 50.0, "stepBakeTimeInMinutes": 1},
    )
    _deploy_v2(ecs, cluster)

    half = wait_for(
        lambda: (_weights(elbv2, traffic.production), _newest(ecs, cluster)),
        lambda seen: seen[0] == {traffic.blue: 50, traffic.green: 50},
        what="production at 50/50",
    )
    assert half[1]["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    assert half[1]["targetServiceRevision"]["requestedProductionTrafficWeight"] == 50.0
    assert half[1]["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 50.0
    wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "SUCCESSFUL",
        what="the linear deployment SUCCESSFUL",
    )
    assert _weights(elbv2, traffic.production) == {traffic.blue: 0, traffic.green: 100}


def test_canary_sends_its_percent_first_then_the_rest(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=0.5)
    _create(
        ecs,
        cluster,
        network,
        traffic,
        strategy="CANARY",
        canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1},
    )
    _deploy_v2(ecs, cluster)

    wait_for(
        lambda: _weights(elbv2, traffic.production),
        lambda weights: weights == {traffic.blue: 90, traffic.green: 10},
        what="production at 90/10",
    )
    wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "SUCCESSFUL",
        what="the canary deployment SUCCESSFUL",
    )
    assert _weights(elbv2, traffic.production) == {traffic.blue: 0, traffic.green: 100}


def _alarm(name: str) -> Any:
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    return cloudwatch


def test_alarm_during_the_bake_rolls_a_blue_green_deployment_back(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=1.0)
    cloudwatch = _alarm("web-5xx")
    alarms = {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}
    _create(ecs, cluster, network, traffic, bakeTimeInMinutes=30, alarms=alarms)
    _deploy_v2(ecs, cluster)
    _baking(ecs, cluster)

    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx")

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="the deployment rolled back on its alarm",
    )
    assert "web-5xx" in done["rollback"]["reason"]
    assert done["alarms"]["status"] == "TRIGGERED"
    assert done["alarms"]["triggeredAlarmNames"] == ["web-5xx"]
    assert _weights(elbv2, traffic.production) == {traffic.blue: 100, traffic.green: 0}


def test_alarm_rolls_a_rolling_deployment_back(ecs: Any, cluster: str, network: Network) -> None:
    cloudwatch = _alarm("web-errors")
    v1 = register(ecs, "web", "registry.example/web:1")
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=v1,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        deploymentConfiguration={
            "alarms": {"alarmNames": ["web-errors"], "enable": True, "rollback": True}
        },
    )
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete")
    ecs.update_service(
        cluster=cluster,
        service="web",
        taskDefinition=register(ecs, "web", "registry.example/web:stuck"),
    )

    cloudwatch.set_alarm_state(AlarmName="web-errors", StateValue="ALARM", StateReason="errors")

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="the rolling deployment rolled back on its alarm",
    )
    assert "web-errors" in done["rollback"]["reason"]
    assert done["alarms"]["triggeredAlarmNames"] == ["web-errors"]
    assert describe(ecs, cluster, "web")["taskDefinition"] == v1


PAUSE_AFTER_TEST_SHIFT = {
    "targetType": "PAUSE",
    "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
}


def _paused(ecs: Any, cluster: str) -> dict[str, Any]:
    return wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: any(h["status"] == "AWAITING_ACTION" for h in d.get("lifecycleHookDetails", [])),
        what="a PAUSE hook AWAITING_ACTION",
    )


@pytest.mark.usefixtures("fast_minutes")
def test_pause_hook_waits_for_continue(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    _create(ecs, cluster, network, traffic, lifecycleHooks=[PAUSE_AFTER_TEST_SHIFT])
    _deploy_v2(ecs, cluster)

    paused = _paused(ecs, cluster)
    [hook] = paused["lifecycleHookDetails"]
    assert paused["status"] == "IN_PROGRESS"
    assert paused["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert hook["targetType"] == "PAUSE" and hook["timeoutAction"] == "ROLLBACK"
    assert hook["expiresAt"] > paused["startedAt"]
    # test traffic went to green; production waits on blue
    assert _weights(elbv2, traffic.test) == {traffic.blue: 0, traffic.green: 100}
    assert _weights(elbv2, traffic.production) == {traffic.blue: 100, traffic.green: 0}

    ecs.continue_service_deployment(
        serviceDeploymentArn=paused["serviceDeploymentArn"],
        hookId=hook["hookId"],
        action="CONTINUE",
    )

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "SUCCESSFUL",
        what="SUCCESSFUL after CONTINUE",
    )
    assert _weights(elbv2, traffic.production) == {traffic.blue: 0, traffic.green: 100}
    assert done["lifecycleStage"] == "CLEAN_UP"


@pytest.mark.usefixtures("fast_minutes")
def test_pause_hook_rollback_rolls_the_deployment_back(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    _create(ecs, cluster, network, traffic, lifecycleHooks=[PAUSE_AFTER_TEST_SHIFT])
    _deploy_v2(ecs, cluster)
    paused = _paused(ecs, cluster)

    ecs.continue_service_deployment(
        serviceDeploymentArn=paused["serviceDeploymentArn"],
        hookId=paused["lifecycleHookDetails"][0]["hookId"],
        action="ROLLBACK",
    )

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="ROLLBACK_SUCCESSFUL after ROLLBACK",
    )
    assert "POST_TEST_TRAFFIC_SHIFT" in done["rollback"]["reason"]
    assert _weights(elbv2, traffic.test) == {traffic.blue: 100, traffic.green: 0}
    assert _targets(elbv2, traffic.green) == []


@pytest.mark.usefixtures("fast_minutes")
def test_pause_hook_times_out_into_its_action(
    ecs: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    hook = {**PAUSE_AFTER_TEST_SHIFT, "timeoutConfiguration": {"timeoutInMinutes": 1}}
    _create(ecs, cluster, network, traffic, lifecycleHooks=[hook])
    _deploy_v2(ecs, cluster)

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="ROLLBACK_SUCCESSFUL after the hook timed out",
    )
    assert done["lifecycleHookDetails"][0]["status"] == "TIMED_OUT"
    assert "timed out" in done["rollback"]["reason"]


def test_failing_lambda_hook_rolls_back_and_others_pass(
    ecs: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(
        local_aws.options, minute_seconds=0.05, fail_hooks=("*:function:check-*",)
    )
    fine = "arn:aws:lambda:us-east-1:123456789012:function:warm-up"
    failing = "arn:aws:lambda:us-east-1:123456789012:function:check-health"
    hooks = [
        {"hookTargetArn": fine, "lifecycleStages": ["PRE_SCALE_UP"]},
        {"hookTargetArn": failing, "lifecycleStages": ["POST_SCALE_UP"]},
    ]
    _create(ecs, cluster, network, traffic, lifecycleHooks=hooks)
    _deploy_v2(ecs, cluster)

    done = wait_for(
        lambda: _newest(ecs, cluster),
        lambda d: d["status"] == "ROLLBACK_SUCCESSFUL",
        what="ROLLBACK_SUCCESSFUL after the failed hook",
    )
    assert failing in done["rollback"]["reason"] and "POST_SCALE_UP" in done["rollback"]["reason"]
    [detail] = done["lifecycleHookDetails"]
    assert detail == {
        "hookId": detail["hookId"],
        "targetType": "AWS_LAMBDA",
        "targetArn": failing,
        "status": "FAILED",
        "timeoutAction": "ROLLBACK",
    }


def test_continue_without_an_awaiting_hook_is_refused(
    ecs: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    _create(ecs, cluster, network, traffic)
    arn = _newest(ecs, cluster)["serviceDeploymentArn"]

    code = _refused(lambda: ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="x"))
    missing = _refused(
        lambda: ecs.continue_service_deployment(serviceDeploymentArn=arn + "nope", hookId="x")
    )

    assert code == "InvalidParameterException"
    assert missing == "ServiceDeploymentNotFoundException"


def test_pause_hook_at_a_traffic_shift_is_refused(
    ecs: Any, cluster: str, network: Network, traffic: Traffic
) -> None:
    hook = {"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}

    code = _refused(
        lambda: ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition=register(ecs, "web", "registry.example/web:1"),
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=network.awsvpc(),
            loadBalancers=traffic.load_balancers(),
            deploymentConfiguration={"strategy": "BLUE_GREEN", "lifecycleHooks": [hook]},
        )
    )

    assert code == "InvalidParameterException"


def test_cli_announces_failing_hooks() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller",
            "local-aws",
            "--port",
            "0",
            "--fail-hook",
            "*:function:check-*",
            "--minute-seconds",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("local-aws listening on ")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Lambda lifecycle hooks matching '*:function:check-*' will fail" in err


def test_abort_during_the_bake_leaves_both_revisions_and_the_weights(
    ecs: Any, elbv2: Any, cluster: str, network: Network, traffic: Traffic, local_aws: LocalAws
) -> None:
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=1.0)
    _create(ecs, cluster, network, traffic, bakeTimeInMinutes=30)
    _deploy_v2(ecs, cluster)
    baking = _baking(ecs, cluster)

    ecs.stop_service_deployment(
        serviceDeploymentArn=baking["serviceDeploymentArn"], stopType="ABORT"
    )

    # later observations still see it as it was left
    local_aws.options = dataclasses.replace(local_aws.options, minute_seconds=0.01)
    stopped = wait_for(
        lambda: _newest(ecs, cluster), lambda d: d["status"] == "STOPPED", what="STOPPED"
    )
    service = describe(ecs, cluster, "web")
    assert stopped["lifecycleStage"] == "BAKE_TIME"
    assert _weights(elbv2, traffic.production) == {traffic.blue: 0, traffic.green: 100}
    assert len(_targets(elbv2, traffic.blue)) == 2 and len(_targets(elbv2, traffic.green)) == 2
    assert service["runningCount"] == 4
