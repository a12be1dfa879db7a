"""`ecs-gitops sync` and `plan` end to end with ``strategy: ecs`` and ECS's own BLUE_GREEN.

The real CLI as a subprocess, local-aws with a scaled clock (one simulated minute of bake time
lasts one second), an ALB whose production and test listener rules forward to a blue and a
green target group, and tests/data/ecs-blue-green-repo in a bare git remote. Where the timing
matters (an alarm or a failing check during the bake, LINEAR's half-way step) the sync runs in
the background while the test watches ECS and the listener rules.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, network, publish, run_cli
from tests.strategies.support import serving_probe

KEY = "staging/web"


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def elbv2() -> Any:
    return boto3.client("elbv2", region_name="us-east-1")


def traffic(subnet: str) -> dict[str, str]:
    """The ALB, its two target groups and two rules, by the placeholder each replaces."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc]
    lb = elbv2().create_load_balancer(Name="web", Subnets=subnets[:2], Type="application")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    blue, green = (
        elbv2().create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for name in ("web-blue", "web-green")
    )
    rules = []
    for port in (80, 8080):
        listener = elbv2().create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
        )["Listeners"][0]["ListenerArn"]
        groups = [{"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]
        rules.append(
            elbv2().create_rule(
                ListenerArn=listener,
                Priority=1,
                Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
            )["Rules"][0]["RuleArn"]
        )
    return {
        "BLUE_TARGET_GROUP": blue,
        "GREEN_TARGET_GROUP": green,
        "PRODUCTION_RULE": rules[0],
        "TEST_RULE": rules[1],
    }


@pytest.fixture
def setup(tmp_path: Path, local_aws: LocalAws) -> Iterator[tuple[Workspace, dict[str, str]]]:
    before = local_aws.options
    local_aws.options = dataclasses.replace(before, minute_seconds=1.0)
    subnet, group = network(local_aws.endpoint_url)
    ecs().create_cluster(clusterName="staging")
    arns = traffic(subnet)
    replacements = {"SUBNET": subnet, "SECURITY_GROUP": group, **arns}
    yield publish(DATA / "ecs-blue-green-repo", tmp_path, replacements), arns
    local_aws.options = before


def production_weights(arns: dict[str, str]) -> dict[str, int]:
    (rule,) = elbv2().describe_rules(RuleArns=[arns["PRODUCTION_RULE"]])["Rules"]
    (action,) = [a for a in rule["Actions"] if a["Type"] == "forward"]
    names = {arns["BLUE_TARGET_GROUP"]: "blue", arns["GREEN_TARGET_GROUP"]: "green"}
    return {
        names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]
    }


def sync(ws: Workspace, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = ws.sync()
    assert result.returncode == expect, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def bump(ws: Workspace) -> subprocess.CompletedProcess[str]:
    """Deploy nginx:1.26, then nginx:1.27; the second pass's output."""
    sync(ws)
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.commit_and_push("web: nginx 1.27")
    return sync(ws)


def test_an_image_bump_ends_synced_with_production_on_the_green_group(
    setup: tuple[Workspace, dict[str, str]],
) -> None:
    ws, arns = setup

    result = bump(ws)

    status = ws.status(KEY)
    assert status["result"] == "Synced", status
    arn = status["details"]["serviceDeploymentArn"]
    (deployment,) = ecs().describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"
    ]
    assert deployment["status"] == "SUCCESSFUL"
    assert "ECS deployment IN_PROGRESS at BAKE_TIME" in result.stdout, result.stdout
    assert production_weights(arns) == {"blue": 0, "green": 100}


def test_plan_right_after_a_blue_green_deployment_finds_no_drift(
    setup: tuple[Workspace, dict[str, str]],
) -> None:
    ws, _ = setup
    bump(ws)
    ws.pull()

    planned = run_cli("plan", str(ws.clone))

    assert planned.returncode == 0, planned.stdout + planned.stderr


def test_a_broken_image_is_rolled_back_by_ecs_and_not_retried(
    setup: tuple[Workspace, dict[str, str]],
) -> None:
    ws, arns = setup
    sync(ws)
    (before,) = ecs().describe_services(cluster="staging", services=["web"])["services"]
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")
    ws.commit_and_push("web: a broken image")

    sync(ws, expect=1)

    status = ws.status(KEY)
    assert status["result"] == "RolledBack", status
    marker = ws.marker(KEY)
    assert marker is not None and "circuit breaker" in marker["reason"], marker
    assert production_weights(arns) == {"blue": 100, "green": 0}
    (after,) = ecs().describe_services(cluster="staging", services=["web"])["services"]
    assert after["taskDefinition"] == before["taskDefinition"]
    deployments = ecs().list_service_deployments(cluster="staging", service="web")[
        "serviceDeployments"
    ]
    # the next pass holds the failed state by its marker: no new deployment
    again = sync(ws)
    assert "staging/web: RolledBack (held" in again.stdout, again.stdout
    listed = ecs().list_service_deployments(cluster="staging", service="web")
    assert listed["serviceDeployments"] == deployments


PAUSE_HOOK = """  lifecycleHooks:
    - targetType: PAUSE
      lifecycleStages: [POST_TEST_TRAFFIC_SHIFT]
"""


def paused(ws: Workspace) -> dict[str, Any]:
    """Deploy nginx:1.26, then nginx:1.27 behind a PAUSE hook: the status while ECS waits."""
    sync(ws)
    ws.pull()
    ws.replace(
        "staging/web/service.yaml",
        "  bakeTimeInMinutes: 1\n",
        "  bakeTimeInMinutes: 1\n" + PAUSE_HOOK,
    )
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.commit_and_push("web: nginx 1.27 behind an approval")
    result = sync(ws)
    assert "paused at POST_TEST_TRAFFIC_SHIFT" in result.stdout, result.stdout
    return ws.status(KEY)


def approve(ws: Workspace, *flags: str) -> subprocess.CompletedProcess[str]:
    return run_cli("approve", KEY, "--path", str(ws.clone), *flags)


def test_a_pause_hook_holds_the_deployment_until_approved(
    setup: tuple[Workspace, dict[str, str]],
) -> None:
    ws, arns = setup
    assert approve(ws).returncode == 1  # nothing awaits yet

    status = paused(ws)

    assert (status["result"], status["phase"]) == ("Progressing", "paused"), status
    assert status["details"]["hook"]["stage"] == "POST_TEST_TRAFFIC_SHIFT", status
    assert production_weights(arns) == {"blue": 100, "green": 0}
    approved = approve(ws)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert approved.stdout.startswith(f"{KEY}: approved at POST_TEST_TRAFFIC_SHIFT"), approved
    sync(ws)
    status = ws.status(KEY)
    assert status["result"] == "Synced", status
    assert production_weights(arns) == {"blue": 0, "green": 100}
    nothing = approve(ws)
    assert nothing.returncode == 1
    assert nothing.stderr.strip().endswith("waits on a PAUSE hook)"), nothing.stderr
    assert len(nothing.stderr.strip().splitlines()) == 1


def test_a_rejected_pause_hook_ends_rolled_back(setup: tuple[Workspace, dict[str, str]]) -> None:
    ws, arns = setup
    paused(ws)

    rejected = approve(ws, "--reject")

    assert rejected.returncode == 0, rejected.stdout + rejected.stderr
    assert rejected.stdout.startswith(f"{KEY}: rejected at POST_TEST_TRAFFIC_SHIFT"), rejected
    sync(ws, expect=1)
    status = ws.status(KEY)
    assert status["result"] == "RolledBack", status
    marker = ws.marker(KEY)
    assert marker is not None and marker["reason"] == "rejected at POST_TEST_TRAFFIC_SHIFT"
    assert production_weights(arns) == {"blue": 100, "green": 0}


# -- ECS's alarms, LINEAR steps and the controller's verify, watched while a sync runs ---------

# generous: a loaded machine may take a while to reach a stage; the waits end as soon as it does
WATCH_SECONDS = 90.0


def deployment_arns() -> set[str]:
    listed = ecs().list_service_deployments(cluster="staging", service="web")
    return {str(d["serviceDeploymentArn"]) for d in listed["serviceDeployments"]}


def new_deployment_at(stage: str, *, known: set[str]) -> dict[str, Any]:
    """The service deployment not in ``known`` once ECS runs it at lifecycle ``stage``."""
    deadline = time.monotonic() + WATCH_SECONDS
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        arns = sorted(deployment_arns() - known)
        if arns:
            seen = ecs().describe_service_deployments(serviceDeploymentArns=arns)[
                "serviceDeployments"
            ]
            for deployment in seen:
                if (deployment["status"], deployment.get("lifecycleStage")) == (
                    "IN_PROGRESS",
                    stage,
                ):
                    return dict(deployment)
        time.sleep(0.05)
    raise AssertionError(f"no new service deployment reached {stage}; last seen: {seen!r}")


def sync_in_background(
    ws: Workspace, pool: ThreadPoolExecutor
) -> Future[subprocess.CompletedProcess[str]]:
    """``ecs-gitops sync`` started, for the test to watch ECS meanwhile."""
    return pool.submit(ws.sync)


def ended(future: Future[subprocess.CompletedProcess[str]], expect: int) -> str:
    result = future.result(timeout=180)
    assert result.returncode == expect, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def commit_bump(ws: Workspace, message: str) -> None:
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.commit_and_push(message)


def alarm(name: str) -> Any:
    """A CloudWatch alarm in moto, not in ALARM (until a test says so)."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
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
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quiet")
    return cloudwatch


ALARMS = """  alarms:
    alarmNames: [web-5xx]
    enable: true
    rollback: true
"""


def test_an_alarm_during_the_bake_rolls_the_deployment_back(
    setup: tuple[Workspace, dict[str, str]],
) -> None:
    ws, arns = setup
    cloudwatch = alarm("web-5xx")
    # a bake long enough (20 simulated minutes: 20s) to be caught in; without the alarm the
    # deployment would end SUCCESSFUL and the sync Synced
    ws.replace(
        "staging/web/service.yaml", "  bakeTimeInMinutes: 1\n", "  bakeTimeInMinutes: 20\n" + ALARMS
    )
    ws.commit_and_push("web: alarms roll back")
    sync(ws)
    known = deployment_arns()
    commit_bump(ws, "web: nginx 1.27")

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = sync_in_background(ws, pool)
        baking = new_deployment_at("BAKE_TIME", known=known)
        assert production_weights(arns) == {"blue": 0, "green": 100}
        cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx")
        ended(running, expect=1)

    status = ws.status(KEY)
    assert status["result"] == "RolledBack", status
    assert status["details"]["serviceDeploymentArn"] == baking["serviceDeploymentArn"]
    marker = ws.marker(KEY)
    assert marker is not None and "alarm web-5xx in ALARM" in marker["reason"], marker
    (deployment,) = ecs().describe_service_deployments(
        serviceDeploymentArns=[baking["serviceDeploymentArn"]]
    )["serviceDeployments"]
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    assert deployment["alarms"]["triggeredAlarmNames"] == ["web-5xx"]
    assert production_weights(arns) == {"blue": 100, "green": 0}


LINEAR = """  strategy: LINEAR
  linearConfiguration:
    stepPercent: 50
    stepBakeTimeInMinutes: 4
"""


def test_linear_holds_production_at_half_before_moving_it_all(
    setup: tuple[Workspace, dict[str, str]],
) -> None:
    ws, arns = setup
    # four simulated minutes (4s) at 50/50 between the two steps
    ws.replace("staging/web/service.yaml", "  strategy: BLUE_GREEN\n", LINEAR)
    ws.commit_and_push("web: linear in two steps")
    sync(ws)
    commit_bump(ws, "web: nginx 1.27")

    observed: list[dict[str, int]] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = sync_in_background(ws, pool)
        while not running.done():
            weights = production_weights(arns)
            if not observed or observed[-1] != weights:
                observed.append(weights)
            time.sleep(0.05)
        output = ended(running, expect=0)

    assert ws.status(KEY)["result"] == "Synced"
    assert observed[0] == {"blue": 100, "green": 0}, observed
    assert {"blue": 50, "green": 50} in observed, observed
    # never back to blue once shifting began, and all of it on green at the end
    half = observed.index({"blue": 50, "green": 50})
    assert observed[half:] == [{"blue": 50, "green": 50}, {"blue": 0, "green": 100}], observed
    assert production_weights(arns) == {"blue": 0, "green": 100}
    assert "production 50%" in output, output


def test_a_failed_verify_during_the_bake_has_ecs_roll_back(
    setup: tuple[Workspace, dict[str, str]],
) -> None:
    ws, arns = setup
    ws.replace("staging/web/service.yaml", "  bakeTimeInMinutes: 1\n", "  bakeTimeInMinutes: 20\n")
    ws.commit_and_push("web: a longer bake")
    sync(ws)
    known = deployment_arns()

    with serving_probe() as probe, ThreadPoolExecutor(max_workers=1) as pool:
        ws.pull()
        ws.replace(
            "staging/web/deploy.yaml",
            "timeout: 60s\n",
            f"timeout: 60s\nverify:\n  http:\n    - url: {probe.url}\n  duration: 15s\n",
        )
        ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
        ws.commit_and_push("web: nginx 1.27, verified")
        running = sync_in_background(ws, pool)
        baking = new_deployment_at("BAKE_TIME", known=known)
        # production is on the new revision now, and it answers 500
        probe.answer(500)
        output = ended(running, expect=1)

    status = ws.status(KEY)
    assert status["result"] == "RolledBack", status
    failed = f"verification failed: http {probe.url} answered 500, expected 200"
    marker = ws.marker(KEY)
    assert marker is not None and marker["reason"] == failed, marker
    arn = baking["serviceDeploymentArn"]
    assert f"stopping ECS service deployment {arn} with a rollback" in output, output
    (deployment,) = ecs().describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"
    ]
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    assert (
        deployment["rollback"]["reason"]
        == "Service deployment rolled back by StopServiceDeployment."
    )
    assert production_weights(arns) == {"blue": 100, "green": 0}
