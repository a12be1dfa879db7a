"""The blue-green rollout against local-aws: a real ALB with prod and stage listeners.

Each test renders tests/data/bluegreen-repo, reads live state with ``fetch_live``, plans, and
drives ``BlueGreenRollout`` to its end, as a reconcile pass does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from controller.aws.clients import forget_clients
from controller.aws.live import fetch_live
from controller.core.outcome import Result
from controller.core.plan import Action, plan_service
from controller.localaws import LocalAws
from controller.strategies.base import drive
from controller.strategies.blue_green.rollout import CONFIRM, BlueGreenRollout
from tests.strategies.bluegreen_support import (
    Alb,
    Balancer,
    autoscaled,
    client,
    colour,
    context,
    deploy,
    desired,
    ecs_service,
    forward,
    healthy_targets,
    image_of,
)
from tests.strategies.support import Probe


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


def test_a_good_version_is_promoted_behind_the_prod_listener(balancer: Balancer) -> None:
    first = deploy(desired(balancer))

    assert first.result == Result.SYNCED, first.message
    # the first generation was created behind the stage listener, then swapped into production
    assert balancer.forwards(balancer.prod_listener) == balancer.green
    assert balancer.forwards(balancer.stage_listener) == balancer.blue
    assert colour("web__1") == "BLUE"
    assert first.details == {
        "serviceName": "web__1",
        "colour": "BLUE",
        "targetGroup": balancer.green,
    }

    second = deploy(desired(balancer, image="nginx:1.27"))

    assert second.result == Result.SYNCED, second.message
    assert balancer.forwards(balancer.prod_listener) == balancer.blue
    assert balancer.forwards(balancer.stage_listener) == balancer.green
    new, old = ecs_service("web__2"), ecs_service("web__1")
    assert new is not None and old is not None
    assert image_of(new) == "nginx:1.27"
    assert (colour("web__2"), colour("web__1")) == ("BLUE", "GREEN")
    assert new["loadBalancers"][0]["targetGroupArn"] == balancer.blue
    assert healthy_targets(balancer.blue) == 2
    assert old["desiredCount"] == 0  # downsized, kept
    assert autoscaled("web__2") == ["cpu60"]
    assert autoscaled("web__1") == []
    assert second.details["serviceName"] == "web__2"


def test_the_diff_compares_git_with_the_service_behind_the_prod_listener(
    balancer: Balancer,
) -> None:
    deploy(desired(balancer))
    deploy(desired(balancer, image="nginx:1.27"))

    same = desired(balancer, image="nginx:1.27")
    live = fetch_live([same])[same.key]
    assert live.service is not None and live.service["serviceName"] == "web__2"
    assert plan_service(same, live).action == Action.IN_SYNC

    bumped = desired(balancer, image="nginx:1.28")
    plan = plan_service(bumped, fetch_live([bumped])[bumped.key])
    assert plan.action == Action.UPDATE
    assert [str(c) for c in plan.changes] == [
        "containerDefinitions[web].image: nginx:1.27 -> nginx:1.28"
    ]


def test_a_failing_image_is_stopped_before_production_traffic_reaches_it(
    balancer: Balancer,
) -> None:
    deploy(desired(balancer))
    good = ecs_service("web__1")
    assert good is not None

    outcome = deploy(desired(balancer, image="nginx:broken"))

    assert outcome.result == Result.ROLLED_BACK, outcome.message
    assert outcome.failure_reason and "web__2" in outcome.failure_reason
    assert outcome.restored_task_definition_arn == good["taskDefinition"]
    # production never moved: the prod listener still forwards to the old target group
    assert balancer.forwards(balancer.prod_listener) == balancer.green
    assert balancer.forwards(balancer.stage_listener) == balancer.blue
    assert ecs_service("web__2") is None  # the stage service is deleted
    kept = ecs_service("web__1")
    assert kept is not None and kept["desiredCount"] == 2
    assert colour("web__1") == "BLUE"
    assert autoscaled("web__1") == ["cpu60"]
    assert healthy_targets(balancer.green) == 2


def test_each_deploy_is_a_new_generation_and_only_the_last_downsized_one_is_kept(
    balancer: Balancer,
) -> None:
    for image in ("nginx:1.26", "nginx:1.27", "nginx:1.28"):
        outcome = deploy(desired(balancer, image=image))
        assert outcome.result == Result.SYNCED, outcome.message

    names = sorted(
        arn.rsplit("/", 1)[-1]
        for arn in client("ecs").list_services(cluster="staging")["serviceArns"]
        if ecs_service(arn.rsplit("/", 1)[-1]) is not None
    )
    assert names == ["web__2", "web__3"]
    third, second = ecs_service("web__3"), ecs_service("web__2")
    assert third is not None and second is not None
    assert image_of(third) == "nginx:1.28"
    assert (third["desiredCount"], second["desiredCount"]) == (2, 0)
    assert balancer.forwards(balancer.prod_listener) == balancer.green
    assert autoscaled("web__3") == ["cpu60"]
    assert autoscaled("web__2") == []


def test_keeping_the_old_service_up_when_asked(balancer: Balancer) -> None:
    deploy(desired(balancer))

    outcome = deploy(
        desired(
            balancer,
            image="nginx:1.27",
            **{"downsizeOldService: true": "downsizeOldService: false"},
        )
    )

    assert outcome.result == Result.SYNCED, outcome.message
    old = ecs_service("web__1")
    assert old is not None and old["desiredCount"] == 2
    assert colour("web__1") == "GREEN"
    assert autoscaled("web__1") == []  # production's autoscaling moved to web__2


def test_a_port_the_container_does_not_map_fails_before_anything_is_created(
    balancer: Balancer,
) -> None:
    # validate refuses such a service (tests/core/test_validate.py); the rollout checks again,
    # for a service that reaches it by another way
    valid = desired(balancer)
    assert valid.service is not None
    balancers = [{**lb, "containerPort": 8080} for lb in valid.service["loadBalancers"]]
    service = replace(valid, service={**valid.service, "loadBalancers": balancers})
    # the task definition still maps 80; only the service's load balancer says 8080
    assert service.task_definition["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 80}
    ]

    outcome = deploy(service)

    assert outcome.result == Result.FAILED
    assert "containerPort 8080" in outcome.message and "it maps: 80" in outcome.message
    assert client("ecs").list_services(cluster="staging")["serviceArns"] == []
    assert client("ecs").list_task_definitions()["taskDefinitionArns"] == []
    assert balancer.forwards(balancer.prod_listener) == balancer.blue


def test_a_failure_after_the_swap_swaps_back_and_restores_the_old_service(
    balancer: Balancer,
) -> None:
    deploy(desired(balancer))
    ctx = context(desired(balancer, image="nginx:1.27"))
    rollout = BlueGreenRollout(ctx)
    while rollout.progress.phase != CONFIRM:
        assert rollout.step() is None
        time.sleep(0.05)
    assert balancer.forwards(balancer.prod_listener) == balancer.blue  # swapped
    # the journaled progress is all a restarted controller needs to carry on
    resumed = BlueGreenRollout.resume(ctx, rollout.progress.to_dict())
    # production's new service disappears under the controller's feet
    client("ecs").delete_service(cluster="staging", service="web__2", force=True)

    outcome = drive(resumed, ctx)

    assert outcome.result == Result.ROLLED_BACK, outcome.message
    assert balancer.forwards(balancer.prod_listener) == balancer.green
    assert balancer.forwards(balancer.stage_listener) == balancer.blue
    old = ecs_service("web__1")
    assert old is not None and old["desiredCount"] == 2
    assert colour("web__1") == "BLUE"
    assert autoscaled("web__1") == ["cpu60"]
    assert outcome.details["serviceName"] == "web__1"


def test_a_failed_verification_keeps_production_on_the_old_version(
    balancer: Balancer, probe: Probe
) -> None:
    deploy(desired(balancer))
    probe.answer(503)
    verified = {"timeout: 60s": f"timeout: 60s\nverify:\n  http:\n    - url: {probe.url}"}

    outcome = deploy(desired(balancer, image="nginx:1.27", **verified))

    assert outcome.result == Result.ROLLED_BACK, outcome.message
    assert outcome.failure_reason and "verification failed" in outcome.failure_reason
    assert probe.hits >= 1
    assert balancer.forwards(balancer.prod_listener) == balancer.green
    assert ecs_service("web__2") is None
    assert colour("web__1") == "BLUE"
