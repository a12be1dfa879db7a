"""Helpers of the blue-green strategy tests: the test repository, one rollout, what ECS and the ALB say."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi
from controller.aws.live import fetch_live
from controller.core.layout import load_repo
from controller.core.model import DesiredService
from controller.core.outcome import Outcome
from controller.core.plan import plan_service
from controller.strategies.base import RolloutContext, drive
from controller.strategies.blue_green.rollout import BlueGreenRollout
from controller.strategies.registry import rollout_for

REGION = "us-east-1"
REPO = Path(__file__).resolve().parent.parent / "data" / "bluegreen-repo"


def client(name: str) -> Any:
    return boto3.client(name, region_name=REGION)


@dataclass(frozen=True)
class Balancer:
    """An ALB with two target groups: prod listener -> blue, stage listener -> green."""

    prod_listener: str
    stage_listener: str
    blue: str
    green: str
    subnet: str
    security_group: str

    def forwards(self, listener: str) -> str:
        (found,) = client("elbv2").describe_listeners(ListenerArns=[listener])["Listeners"]
        return str(found["DefaultActions"][0]["TargetGroupArn"])


def desired(balancer: Balancer, *, image: str = "nginx:1.26", **edits: str) -> DesiredService:
    """staging/web of the test repository, pointed at the balancer; ``edits``: old=new in any file."""
    files = {
        str(path.relative_to(REPO)): path.read_text() for path in REPO.rglob("*") if path.is_file()
    }
    substitutions = {
        "SUBNET": balancer.subnet,
        "SECURITY_GROUP": balancer.security_group,
        "PROD_LISTENER": balancer.prod_listener,
        "STAGE_LISTENER": balancer.stage_listener,
        "nginx:1.26": image,
        **edits,
    }
    for name, text in files.items():
        for old, new in substitutions.items():
            text = text.replace(old, new)
        files[name] = text
    state = load_repo(files)
    assert not state.problems, state.problems
    return state.services["staging/web"]


def context(service: DesiredService) -> RolloutContext:
    live = fetch_live([service])[service.key]
    return RolloutContext(
        desired=service,
        plan=plan_service(service, live),
        api=EcsApi(clients_for(service.env)),
        elb=ElbApi(clients_for(service.env)),
        commit="c0ffee",
        poll_seconds=0.05,
        sleep=time.sleep,
    )


def deploy(service: DesiredService) -> Outcome:
    ctx = context(service)
    rollout = rollout_for(ctx)
    assert isinstance(rollout, BlueGreenRollout)
    return drive(rollout, ctx)


def ecs_service(name: str) -> dict[str, Any] | None:
    found = client("ecs").describe_services(cluster="staging", services=[name], include=["TAGS"])
    services = [s for s in found["services"] if s["status"] == "ACTIVE"]
    return services[0] if services else None


def colour(name: str) -> str | None:
    service = ecs_service(name)
    assert service is not None, f"{name} does not exist"
    tags = {t["key"]: t["value"] for t in service.get("tags") or ()}
    return tags.get("BG_VERSION")


def image_of(service: dict[str, Any]) -> str:
    definition = client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def autoscaled(name: str) -> list[str]:
    """The scaling policy names attached to service ``name`` (checks its scalable target too)."""
    autoscaling = client("application-autoscaling")
    resource_id = f"service/staging/{name}"
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id]
    )["ScalableTargets"]
    policies = autoscaling.describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=resource_id
    )["ScalingPolicies"]
    assert bool(targets) == bool(policies), (targets, policies)
    return [p["PolicyName"] for p in policies]


def healthy_targets(group: str) -> int:
    described = client("elbv2").describe_target_health(TargetGroupArn=group)
    return sum(
        1 for d in described["TargetHealthDescriptions"] if d["TargetHealth"]["State"] == "healthy"
    )


@dataclass(frozen=True)
class Alb:
    """An application load balancer in local-aws's default VPC, and builders for its parts."""

    arn: str
    vpc_id: str
    subnets: tuple[str, ...]
    security_group: str

    @staticmethod
    def create() -> Alb:
        ec2, elbv2 = client("ec2"), client("elbv2")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
        subnet_ids = tuple(s["SubnetId"] for s in subnets["Subnets"])[:2]
        group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
        alb = elbv2.create_load_balancer(Name="web", Subnets=list(subnet_ids), Type="application")
        return Alb(
            arn=alb["LoadBalancers"][0]["LoadBalancerArn"],
            vpc_id=vpc["VpcId"],
            subnets=subnet_ids,
            security_group=group["GroupId"],
        )

    def target_group(self, name: str) -> str:
        created = client("elbv2").create_target_group(
            Name=name, Protocol="HTTP", Port=80, VpcId=self.vpc_id, TargetType="ip"
        )
        return str(created["TargetGroups"][0]["TargetGroupArn"])

    def listener(self, port: int, default: dict[str, Any]) -> str:
        created = client("elbv2").create_listener(
            LoadBalancerArn=self.arn, Protocol="HTTP", Port=port, DefaultActions=[default]
        )
        return str(created["Listeners"][0]["ListenerArn"])

    def path_rule(self, listener_arn: str, group_arn: str) -> str:
        created = client("elbv2").create_rule(
            ListenerArn=listener_arn,
            Priority=10,
            Conditions=[{"Field": "path-pattern", "Values": ["/app/*"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": group_arn}],
        )
        return str(created["Rules"][0]["RuleArn"])


def forward(group_arn: str) -> dict[str, Any]:
    return {"Type": "forward", "TargetGroupArn": group_arn}
