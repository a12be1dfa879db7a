"""local-aws reports why tasks failed as ECS does: stop codes, reasons, exit codes, events, target health."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from controller.localaws import LocalAws, SimulationOptions
from tests.localaws.support import Network, describe, register, steady, wait_for

PULL_FAIL = ("--pull-fail-image", "*:missing")
BREAKER = {
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def _stopped_tasks(ecs: Any, cluster: str, task_definition: str) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=cluster, serviceName="web", desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["taskDefinitionArn"] == task_definition]


def _deploy_broken(ecs: Any, cluster: str, network: Network, image: str) -> tuple[str, str]:
    """A steady service web, then an update to ``image``; returns (good, broken) task definitions."""
    good = register(ecs, "web", "registry.example/web:1")
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=good,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        deploymentConfiguration=BREAKER,
    )
    wait_for(lambda: describe(ecs, cluster, "web"), steady, what="web steady")
    broken = register(ecs, "web", image)
    ecs.update_service(cluster=cluster, service="web", taskDefinition=broken)
    return good, broken


def test_a_failing_image_stops_with_essential_container_exited_and_exit_code_1(
    ecs: Any, cluster: str, network: Network
) -> None:
    _, broken = _deploy_broken(ecs, cluster, network, "registry.example/web:broken")

    stopped = wait_for(
        lambda: _stopped_tasks(ecs, cluster, broken),
        lambda tasks: len(tasks) >= 3,
        what="three stopped tasks of the broken revision",
    )

    for task in stopped:
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        assert [(c["name"], c["exitCode"]) for c in task["containers"]] == [("app", 1)]
        assert task["startedAt"] <= task["stoppedAt"]  # it ran before it exited


def test_an_image_that_cannot_be_pulled_fails_to_start(
    local_aws: LocalAws, ecs: Any, cluster: str, network: Network
) -> None:
    local_aws.options = SimulationOptions(pull_fail_images=("*:missing",), task_start_seconds=0.2)
    good, broken = _deploy_broken(ecs, cluster, network, "registry.example/web:missing")

    # the circuit breaker fails the deployment and rolls back, as for a failing image
    done = wait_for(
        lambda: describe(ecs, cluster, "web"),
        lambda s: steady(s) and s["taskDefinition"] == good,
        what="the rollback to the good revision complete",
    )

    stopped = _stopped_tasks(ecs, cluster, broken)
    assert len(stopped) >= 3
    expected = (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
        "resolve ref registry.example/web:missing: registry.example/web:missing: not found"
    )
    for task in stopped:
        assert task["stopCode"] == "TaskFailedToStart"
        assert task["stoppedReason"] == expected
        assert "startedAt" not in task  # never ran
        [container] = task["containers"]
        assert container["reason"] == expected
        assert "exitCode" not in container
    messages = [e["message"] for e in done["events"]]
    assert any(
        m.startswith("(service web) deployment ecs-svc/")
        and m.endswith("deployment failed: tasks failed to start.")
        for m in messages
    )
    assert any(m.startswith("(service web) has started 1 tasks: (task ") for m in messages)


def test_pull_fail_glob_matches_the_full_image_reference() -> None:
    options = SimulationOptions(pull_fail_images=("*:missing",))
    assert options.pull_fails("registry.example/web:missing")
    assert not options.pull_fails("registry.example/web:missing-2")
    assert not options.fails("registry.example/web:missing")


def test_unhealthy_targets_say_their_health_checks_failed(
    ecs: Any, elbv2: Any, cluster: str, network: Network
) -> None:
    group = elbv2.create_target_group(
        Name="web", Protocol="HTTP", Port=8080, VpcId=network.vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=register(ecs, "web", "registry.example/web:broken"),
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc(),
        loadBalancers=[{"targetGroupArn": group, "containerName": "app", "containerPort": 8080}],
    )

    described = wait_for(
        lambda: elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"],
        lambda found: any(d["TargetHealth"]["State"] == "unhealthy" for d in found),
        what="an unhealthy target",
    )

    health = next(d["TargetHealth"] for d in described if d["TargetHealth"]["State"] == "unhealthy")
    assert health["Reason"] == "Target.FailedHealthChecks"
    assert health["Description"] == "Health checks failed"


def test_the_cli_takes_pull_fail_image() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", "local-aws", "--port", "0", *PULL_FAIL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("local-aws listening on http://127.0.0.1:"), line
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "images matching '*:missing' will fail to pull" in err
