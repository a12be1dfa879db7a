"""Observation helpers for the local-aws tests: polling with a liveness bound, and ECS shortcuts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
# A liveness bound, not a timing assertion: rollouts at 0.2 s per task finish in about a second.
DEADLINE_SECONDS = 60.0


def wait_for(observe: Callable[[], T], until: Callable[[T], bool], *, what: str) -> T:
    """Observe until ``until`` holds; fail with the last observation if it never does."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        seen = observe()
        if until(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {what}; last observation: {seen!r}")
        time.sleep(0.05)


@dataclass(frozen=True)
class Network:
    subnets: list[str]
    security_group: str
    vpc: str

    def awsvpc(self) -> dict[str, Any]:
        return {
            "awsvpcConfiguration": {
                "subnets": self.subnets,
                "securityGroups": [self.security_group],
            }
        }


def register(ecs: Any, family: str, image: str, **extra: Any) -> str:
    """Register a Fargate task definition with task-level cpu/memory only; returns its ARN."""
    arn: str = ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": image, "portMappings": [{"containerPort": 8080}]}
        ],
        **extra,
    )["taskDefinition"]["taskDefinitionArn"]
    return arn


def describe(ecs: Any, cluster: str, name: str) -> dict[str, Any]:
    service: dict[str, Any] = ecs.describe_services(cluster=cluster, services=[name])["services"][0]
    return service


def steady(service: dict[str, Any]) -> bool:
    """One deployment, COMPLETED, running what is desired."""
    deployments = service["deployments"]
    return (
        len(deployments) == 1
        and deployments[0]["rolloutState"] == "COMPLETED"
        and service["runningCount"] == service["desiredCount"]
    )


def made_by_hand(
    ecs: Any,
    *,
    cluster: str,
    name: str,
    subnet: str,
    group: str,
    desired: int = 1,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A Fargate service someone made outside the config repository, on its own task definition."""
    arn = ecs.register_task_definition(
        family="made-by-hand",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "httpd:2.4", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    request: dict[str, Any] = {
        "cluster": cluster,
        "serviceName": name,
        "taskDefinition": arn,
        "desiredCount": desired,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}
        },
    }
    if tags:
        request["tags"] = tags
    return dict(ecs.create_service(**request)["service"])
