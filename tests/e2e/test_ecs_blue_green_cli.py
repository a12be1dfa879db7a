"""`ecs-gitops sync` and `plan` end to end with ``strategy: ecs`` and ECS's own BLUE_GREEN.

The real CLI as a subprocess, local-aws with a scaled clock (one simulated minute of bake time
lasts one second), an ALB whose production and test listener rules forward to a blue and a
green target group, and tests/data/ecs-blue-green-repo in a bare git remote.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, network, publish, run_cli

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
