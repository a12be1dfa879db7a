"""Blue-green touches only the ``<name>__<N>`` generations it created: those tagged as the folder's.

A real ALB in local-aws; foreign generations are made by hand with boto3, as someone bypassing
the config repository would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controller.aws.clients import forget_clients
from controller.core.outcome import Result
from controller.core.ownership import OWNER_TAG
from controller.localaws import LocalAws
from tests.strategies.bluegreen_support import (
    Alb,
    Balancer,
    client,
    colour,
    deploy,
    desired,
    ecs_service,
    forward,
)

OURS = {"key": OWNER_TAG, "value": "staging/web"}


@pytest.fixture
def balancer(local_aws: LocalAws) -> Iterator[Balancer]:
    forget_clients()
    client("ecs").create_cluster(clusterName="staging")
    alb = Alb.create()
    blue, green = alb.target_group("web-blue"), alb.target_group("web-green")
    yield Balancer(
        prod_listener=alb.listener(80, forward(blue)),
        stage_listener=alb.listener(8080, forward(green)),
        blue=blue,
        green=green,
        subnet=alb.subnets[0],
        security_group=alb.security_group,
    )
    forget_clients()


def foreign(
    balancer: Balancer, name: str, *, tags: list[dict[str, str]], group: str | None = None
) -> dict[str, Any]:
    """A ``web__N`` made by hand on its own task definition, optionally on a target group."""
    ecs = client("ecs")
    arn = ecs.register_task_definition(
        family="someone-else",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "web",
                "image": "httpd:2.4",
                "essential": True,
                "portMappings": [{"containerPort": 80}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    request: dict[str, Any] = {
        "cluster": "staging",
        "serviceName": name,
        "taskDefinition": arn,
        "desiredCount": 1,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": [balancer.subnet],
                "securityGroups": [balancer.security_group],
            }
        },
    }
    if tags:
        request["tags"] = tags
    if group is not None:
        request["loadBalancers"] = [
            {"targetGroupArn": group, "containerName": "web", "containerPort": 80}
        ]
    return dict(ecs.create_service(**request)["service"])


def unchanged(name: str, before: dict[str, Any], tags: list[dict[str, str]]) -> None:
    after = ecs_service(name)
    assert after is not None, f"{name} was deleted"
    assert after["taskDefinition"] == before["taskDefinition"]
    assert after["desiredCount"] == before["desiredCount"]
    assert sorted((t["key"], t["value"]) for t in after.get("tags") or ()) == sorted(
        (t["key"], t["value"]) for t in tags
    )


def test_generations_carry_the_owner_tag(balancer: Balancer) -> None:
    outcome = deploy(desired(balancer))

    assert outcome.result == Result.SYNCED, outcome.message
    service = ecs_service("web__1")
    assert service is not None
    tags = {t["key"]: t["value"] for t in service.get("tags") or ()}
    assert tags == {"BG_VERSION": "BLUE", OWNER_TAG: "staging/web"}


@pytest.mark.parametrize(
    "tags",
    [[], [{"key": OWNER_TAG, "value": "production/web"}]],
    ids=["untagged", "another-folder"],
)
def test_foreign_generations_are_never_scaled_tagged_or_deleted(
    balancer: Balancer, tags: list[dict[str, str]]
) -> None:
    assert deploy(desired(balancer)).result == Result.SYNCED  # web__1 behind prod (green)
    # someone's web__5 on the prod target group, and web__6 on no target group
    on_prod = foreign(balancer, "web__5", tags=tags, group=balancer.green)
    loose = foreign(balancer, "web__6", tags=tags)

    second = deploy(desired(balancer, image="nginx:1.27"))

    assert second.result == Result.SYNCED, second.message
    # numbered past the foreign ones; ours is the previous version, downsized and GREEN
    assert second.details["serviceName"] == "web__7"
    assert second.message.endswith("; web__1 is the previous version")
    previous = ecs_service("web__1")
    assert previous is not None and previous["desiredCount"] == 0
    assert (colour("web__7"), colour("web__1")) == ("BLUE", "GREEN")
    unchanged("web__5", on_prod, tags)
    unchanged("web__6", loose, tags)

    # its owner removes web__5 (it would hold the stage target group now); one more deploy
    # deletes our oldest generation, and only ours
    client("ecs").delete_service(cluster="staging", service="web__5", force=True)
    third = deploy(desired(balancer, image="nginx:1.28"))

    assert third.result == Result.SYNCED, third.message
    assert third.details["serviceName"] == "web__8"
    assert ecs_service("web__1") is None
    assert (colour("web__8"), colour("web__7")) == ("BLUE", "GREEN")
    unchanged("web__6", loose, tags)


def test_a_foreign_generation_running_on_the_stage_target_group_stops_the_deploy(
    balancer: Balancer,
) -> None:
    squatter = foreign(balancer, "web__3", tags=[], group=balancer.green)  # stage: green

    outcome = deploy(desired(balancer))

    assert outcome.result == Result.FAILED, outcome.message
    assert outcome.failure_reason == (
        f"service web__3 exists and is not owned by staging/web (it has no {OWNER_TAG} tag): "
        f"not touched; it runs on the stage target group {balancer.green}"
    )
    assert outcome.message.startswith("blue-green deploy not started: ")
    assert ecs_service("web__4") is None  # nothing was created
    unchanged("web__3", squatter, [])
    assert balancer.forwards(balancer.prod_listener) == balancer.blue  # nor swapped


def test_a_failed_deploy_leaves_a_foreign_previous_generation_alone(balancer: Balancer) -> None:
    assert deploy(desired(balancer)).result == Result.SYNCED  # web__1 behind prod (green)
    on_prod = foreign(balancer, "web__2", tags=[], group=balancer.green)

    failed = deploy(desired(balancer, image="nginx:broken"))

    assert failed.result == Result.ROLLED_BACK, failed.message
    assert "web__1 on " in failed.message  # ours was the previous version, not web__2
    assert ecs_service("web__3") is None  # the failed stage service was deleted
    unchanged("web__2", on_prod, [])
    assert colour("web__1") == "BLUE"
