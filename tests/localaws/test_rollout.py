"""Deployments roll out, complete, fail and roll back in local-aws, observed through plain boto3."""

from __future__ import annotations

from typing import Any

from tests.localaws.support import Network, describe, register, steady, wait_for


def _create(
    ecs: Any, cluster: str, network: Network, *, desired: int = 2, **extra: Any
) -> dict[str, Any]:
    service: dict[str, Any] = ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:1"),
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        **extra,
    )["service"]
    return service


def _tasks(ecs: Any, cluster: str, status: str = "RUNNING") -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=cluster, serviceName="web", desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def test_create_service_starts_a_deployment_that_completes(
    ecs: Any, cluster: str, network: Network
) -> None:
    created = _create(ecs, cluster, network)
    assert [d["status"] for d in created["deployments"]] == ["PRIMARY"]
    assert created["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    service = wait_for(
        lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete"
    )

    assert service["runningCount"] == 2 and service["pendingCount"] == 0
    tasks = _tasks(ecs, cluster)
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}
    assert {t["startedBy"] for t in tasks} == {service["deployments"][0]["id"]}
    assert {t["group"] for t in tasks} == {"service:web"}
    messages = [e["message"] for e in service["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert messages[1].startswith("(service web) has started 2 tasks: (task ")
    assert all(e["id"] and e["createdAt"] for e in service["events"])


def test_rolling_update_completes_and_old_tasks_drain(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    first = wait_for(
        lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete"
    )
    old_tasks = {t["taskArn"] for t in _tasks(ecs, cluster)}
    v2 = register(ecs, "web", "registry.example/web:2")

    updated = ecs.update_service(cluster=cluster, service="web", taskDefinition="web")["service"]

    assert updated["taskDefinition"] == v2
    assert [(d["status"], d["taskDefinition"]) for d in updated["deployments"]] == [
        ("PRIMARY", v2),
        ("ACTIVE", first["taskDefinition"]),
    ]
    assert updated["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    def observe() -> dict[str, Any]:
        service = describe(ecs, cluster, "web")
        # maximumPercent 200 and minimumHealthyPercent 100 hold at every observation.
        assert service["runningCount"] + service["pendingCount"] <= 4
        assert service["runningCount"] >= 2
        counts = [(d["runningCount"], d["pendingCount"]) for d in service["deployments"]]
        assert sum(r for r, _ in counts) == service["runningCount"]
        assert sum(p for _, p in counts) == service["pendingCount"]
        return service

    done = wait_for(
        observe,
        lambda s: steady(s) and s["deployments"][0]["taskDefinition"] == v2,
        what="v2 rolled out",
    )

    assert done["deployments"][0]["id"] == updated["deployments"][0]["id"]
    running = _tasks(ecs, cluster)
    assert {t["taskDefinitionArn"] for t in running} == {v2}
    stopped = {t["taskArn"]: t for t in _tasks(ecs, cluster, "STOPPED")}
    assert old_tasks <= set(stopped)
    assert all(stopped[arn]["stopCode"] == "ServiceSchedulerInitiated" for arn in old_tasks)
    messages = [e["message"] for e in done["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert any(m.startswith("(service web) has stopped ") for m in messages)
    created = [e["createdAt"] for e in done["events"]]
    assert created == sorted(created, reverse=True)


def test_desired_count_alone_scales_the_primary(ecs: Any, cluster: str, network: Network) -> None:
    _create(ecs, cluster, network)
    first = wait_for(
        lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete"
    )

    scaled = ecs.update_service(cluster=cluster, service="web", desiredCount=3)["service"]

    assert [d["id"] for d in scaled["deployments"]] == [first["deployments"][0]["id"]]
    done = wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: s["runningCount"] == 3 and steady(s),
        what="3 running",
    )
    assert done["deployments"][0]["id"] == first["deployments"][0]["id"]
    assert done["deployments"][0]["desiredCount"] == 3


def test_force_new_deployment_replaces_tasks_on_the_same_revision(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network, desired=1)
    first = wait_for(
        lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete"
    )
    [old] = _tasks(ecs, cluster)

    forced = ecs.update_service(cluster=cluster, service="web", forceNewDeployment=True)["service"]

    assert len(forced["deployments"]) == 2
    done = wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: steady(s) and s["deployments"][0]["id"] != first["deployments"][0]["id"],
        what="the forced deployment complete",
    )
    assert done["taskDefinition"] == first["taskDefinition"]
    assert [t["taskArn"] for t in _tasks(ecs, cluster)] != [old["taskArn"]]


def test_failing_image_with_circuit_breaker_fails_then_rolls_back(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(
        ecs,
        cluster,
        network,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    first = wait_for(
        lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete"
    )
    broken = register(ecs, "web", "registry.example/web:broken")

    failing = ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)["service"]
    failing_id = failing["deployments"][0]["id"]

    def failed(service: dict[str, Any]) -> bool:
        return any(
            d["id"] == failing_id and d["rolloutState"] == "FAILED" for d in service["deployments"]
        )

    at_failure = wait_for(
        lambda: describe(ecs, cluster, "web"), failed, what="the broken rollout FAILED"
    )
    [failed_deployment] = [d for d in at_failure["deployments"] if d["id"] == failing_id]
    # 0.5 x desiredCount 2 is 1, raised to ECS's minimum threshold of 3.
    assert failed_deployment["failedTasks"] >= 3
    assert (
        failed_deployment["rolloutStateReason"]
        == "ECS deployment circuit breaker: tasks failed to start."
    )

    done = wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: (
            steady(s)
            and s["deployments"][0]["id"] not in (failing_id, first["deployments"][0]["id"])
        ),
        what="the rollback deployment complete",
    )
    assert done["taskDefinition"] == first["taskDefinition"]
    assert done["deployments"][0]["taskDefinition"] == first["taskDefinition"]
    assert {t["taskDefinitionArn"] for t in _tasks(ecs, cluster)} == {first["taskDefinition"]}
    messages = [e["message"] for e in done["events"]]
    assert (
        f"(service web) deployment {failing_id} deployment failed: tasks failed to start."
        in messages
    )
    assert f"(service web) rolling back to deployment {first['deployments'][0]['id']}." in messages
    crashed = [t for t in _tasks(ecs, cluster, "STOPPED") if t["taskDefinitionArn"] == broken]
    crashed = [t for t in crashed if t["stoppedReason"] == "Essential container in task exited"]
    assert len(crashed) >= 3
    assert {c["exitCode"] for t in crashed for c in t["containers"]} == {1}


def test_circuit_breaker_without_rollback_stops_launching(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(
        ecs,
        cluster,
        network,
        desired=1,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False}},
    )
    first = wait_for(
        lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete"
    )
    broken = register(ecs, "web", "registry.example/web:broken")
    ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)

    failed = wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: (
            s["deployments"][0]["rolloutState"] == "FAILED"
            and s["deployments"][0]["runningCount"] == 0
        ),
        what="the broken rollout FAILED",
    )

    primary, old = failed["deployments"]
    assert primary["taskDefinition"] == broken and primary["failedTasks"] == 3
    assert old["taskDefinition"] == first["taskDefinition"] and old["runningCount"] == 1
    assert failed["taskDefinition"] == broken
    assert primary["pendingCount"] == 0  # the breaker stops launching


def test_failing_image_without_circuit_breaker_never_completes(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network, desired=1)
    first = wait_for(
        lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete"
    )
    broken = register(ecs, "web", "registry.example/web:broken")
    ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)

    # Observe well past the point where a breaker would have tripped (3 failures).
    service = wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: s["deployments"][0]["failedTasks"] >= 6,
        what="six failed tasks",
    )

    primary, old = service["deployments"]
    assert primary["taskDefinition"] == broken and primary["rolloutState"] == "IN_PROGRESS"
    assert old["taskDefinition"] == first["taskDefinition"] and old["runningCount"] == 1
    assert "(service web) has reached a steady state." not in [
        e["message"] for e in service["events"][:3]
    ]


def test_stuck_image_stays_pending(ecs: Any, cluster: str, network: Network) -> None:
    stuck = register(ecs, "web", "registry.example/web:stuck")
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=stuck,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
    )
    # A job that starts and stops is the clock: once it has STOPPED, a healthy task would be RUNNING.
    job = ecs.run_task(
        cluster=cluster,
        taskDefinition=register(ecs, "job", "registry.example/job:1"),
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
    )["tasks"][0]["taskArn"]
    wait_for(
        lambda: ecs.describe_tasks(cluster=cluster, tasks=[job])["tasks"][0]["lastStatus"],
        lambda status: status == "STOPPED",
        what="the clock job STOPPED",
    )

    service = describe(ecs, cluster, "web")
    assert service["pendingCount"] == 1 and service["runningCount"] == 0
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert [t["lastStatus"] for t in _tasks(ecs, cluster)] == ["PENDING"]


def test_running_tasks_carry_the_digest_their_image_resolved_to(
    ecs: Any, cluster: str, network: Network
) -> None:
    _create(ecs, cluster, network)
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="the first rollout complete")
    containers = [c for task in _tasks(ecs, cluster) for c in task["containers"]]
    digests = {c.get("imageDigest") for c in containers}
    assert len(containers) == 2 and len(digests) == 1, containers
    (digest,) = digests
    assert digest is not None and digest.startswith("sha256:") and len(digest) == 71
