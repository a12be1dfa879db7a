"""`ecs-gitops sync` of a blue-green service end to end: the CLI, local-aws with an ALB, real git."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, git, publish


def client(name: str) -> Any:
    return boto3.client(name, region_name="us-east-1")


def forwards(listener: str) -> str:
    (found,) = client("elbv2").describe_listeners(ListenerArns=[listener])["Listeners"]
    return str(found["DefaultActions"][0]["TargetGroupArn"])


@pytest.fixture
def bluegreen(tmp_path: Path, local_aws: LocalAws) -> Iterator[tuple[Workspace, dict[str, str]]]:
    """tests/data/bluegreen-repo as a bare remote and a clone, with its ALB and listeners."""
    client("ecs").create_cluster(clusterName="staging")
    ec2, elbv2 = client("ec2"), client("elbv2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = [
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
            "Subnets"
        ]
    ]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    alb = elbv2.create_load_balancer(Name="web", Subnets=subnets[:2])["LoadBalancers"][0]
    arns: dict[str, str] = {}
    for colour, port in (("blue", 80), ("green", 8080)):
        arns[colour] = elbv2.create_target_group(
            Name=f"web-{colour}", Protocol="HTTP", Port=80, VpcId=vpc["VpcId"], TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        arns["prod" if colour == "blue" else "stage"] = elbv2.create_listener(
            LoadBalancerArn=alb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": arns[colour]}],
        )["Listeners"][0]["ListenerArn"]
    placeholders = {
        "SUBNET": subnets[0],
        "SECURITY_GROUP": group,
        "PROD_LISTENER": arns["prod"],
        "STAGE_LISTENER": arns["stage"],
    }
    yield publish(DATA / "bluegreen-repo", tmp_path, placeholders), arns


def test_promote_then_a_broken_image_is_rolled_back_before_the_swap(
    bluegreen: tuple[Workspace, dict[str, str]],
) -> None:
    ws, arns = bluegreen
    first = ws.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    status = yaml.safe_load(ws.remote_file(".ecs-gitops/status/staging/web.yaml") or "")
    assert status["result"] == "Synced"
    assert status["details"] == {
        "serviceName": "web__1",
        "colour": "BLUE",
        "targetGroup": arns["green"],
    }
    assert forwards(arns["prod"]) == arns["green"]
    head = ws.remote_head()

    again = ws.sync()
    assert again.returncode == 0, again.stdout + again.stderr
    assert ws.remote_head() == head  # in sync with the service behind the prod listener

    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")
    ws.commit_and_push("web: broken image")
    broken = ws.sync()

    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert forwards(arns["prod"]) == arns["green"]  # production never saw the broken version
    status = yaml.safe_load(ws.remote_file(".ecs-gitops/status/staging/web.yaml") or "")
    assert status["result"] == "RolledBack"
    assert status["details"]["serviceName"] == "web__1"
    marker = yaml.safe_load(ws.remote_file(".ecs-gitops/rollback/staging/web.yaml") or "")
    assert "web__2" in marker["reason"]
    remaining = client("ecs").describe_services(cluster="staging", services=["web__2"])
    assert all(s["status"] != "ACTIVE" for s in remaining["services"])


def test_pruning_a_blue_green_folder_deletes_every_generation(
    bluegreen: tuple[Workspace, dict[str, str]],
) -> None:
    ws, _ = bluegreen
    first = ws.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.commit_and_push("web: nginx 1.27")
    second = ws.sync()
    assert second.returncode == 0, second.stdout + second.stderr
    ecs = client("ecs")
    active = {
        s["serviceName"]
        for s in ecs.describe_services(cluster="staging", services=["web__1", "web__2"])["services"]
        if s["status"] == "ACTIVE"
    }
    assert active == {"web__1", "web__2"}

    ws.pull()
    ws.replace("staging/environment.yaml", "prune: false", "prune: true")
    git(ws.clone, "rm", "-q", "-r", "staging/web")
    ws.commit_and_push("web: retire")
    pruned = ws.sync()

    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    left = ecs.describe_services(cluster="staging", services=["web__1", "web__2"])["services"]
    assert all(s["status"] != "ACTIVE" for s in left)
    assert ws.remote_file(".ecs-gitops/status/staging/web.yaml") is None
