"""The run-task strategy against local-aws: a job runs, its exit codes decide its result."""

from __future__ import annotations

from controller.core.outcome import Result
from tests.strategies.support import Stage, ecs, image_of


def test_a_job_whose_containers_exit_0_is_synced(stage: Stage) -> None:
    rolled = stage.roll_out(stage.job("migrate", image="busybox:1.36", count=2))

    outcome = rolled.outcome
    assert outcome.result == Result.SYNCED, outcome
    assert rolled.phases == ["prepare", "run", "wait"]
    tasks = outcome.details["tasks"]
    assert isinstance(tasks, list) and len(tasks) == 2
    for task in tasks:
        assert task["lastStatus"] == "STOPPED"
        assert task["exitCodes"] == {"app": 0}
    assert outcome.task_definition_arn is not None
    assert image_of(outcome.task_definition_arn) == "busybox:1.36"
    described = ecs().describe_tasks(cluster="staging", tasks=[t["taskArn"] for t in tasks])
    assert {t["startedBy"] for t in described["tasks"]} == {"ecs-gitops"}


def test_a_job_that_exits_1_is_failed_with_its_exit_code_and_reason(stage: Stage) -> None:
    outcome = stage.roll_out(stage.job("migrate", image="busybox:broken")).outcome

    assert outcome.result == Result.FAILED
    (task,) = outcome.details["tasks"]  # type: ignore[misc]
    assert task["exitCodes"] == {"app": 1}
    assert task["stoppedReason"] == "Essential container in task exited"
    assert outcome.failure_reason is not None
    assert "container app exited 1 (Essential container in task exited)" in outcome.failure_reason
    assert outcome.failure_reason in outcome.message


def test_a_failing_container_that_is_not_essential_does_not_fail_the_job(stage: Stage) -> None:
    containers = [
        {"name": "app", "image": "busybox:1.36", "essential": True},
        {"name": "sidecar", "image": "busybox:broken", "essential": False},
    ]
    outcome = stage.roll_out(
        stage.job("migrate", image="busybox:1.36", containers=containers)
    ).outcome

    assert outcome.result == Result.SYNCED, outcome
    (task,) = outcome.details["tasks"]  # type: ignore[misc]
    assert task["exitCodes"] == {"app": 0, "sidecar": 1}


def test_skip_steady_state_check_only_starts_the_job(stage: Stage) -> None:
    # a job that never finishes: only a rollout that does not wait can end
    desired = stage.job(
        "migrate", image="busybox:stuck", raw={"runTask": {"skipSteadyStateCheck": True}}
    )

    rolled = stage.roll_out(desired)

    assert rolled.outcome.result == Result.SYNCED
    assert "wait" not in rolled.phases
    (task,) = rolled.outcome.details["tasks"]  # type: ignore[misc]
    (described,) = ecs().describe_tasks(cluster="staging", tasks=[task["taskArn"]])["tasks"]
    assert described["lastStatus"] != "STOPPED"


def test_a_job_still_running_at_its_timeout_is_failed_and_stopped(stage: Stage) -> None:
    outcome = stage.roll_out(stage.job("migrate", image="busybox:stuck", timeout=0.5)).outcome

    assert outcome.result == Result.FAILED
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("timed out after 0.5s with 1 task still running")
    # never left running beside the next attempt
    (task,) = outcome.details["tasks"]  # type: ignore[misc]
    (described,) = ecs().describe_tasks(cluster="staging", tasks=[task["taskArn"]])["tasks"]
    assert described["desiredStatus"] == "STOPPED"
    assert described["stoppedReason"] == "ecs-gitops: job timed out"


def test_an_identical_revision_is_reused_not_registered_again(stage: Stage) -> None:
    first = stage.roll_out(stage.job("migrate", image="busybox:1.36")).outcome
    second = stage.roll_out(stage.job("migrate", image="busybox:1.36")).outcome

    assert second.result == Result.SYNCED
    assert second.task_definition_arn == first.task_definition_arn
    assert ecs().list_task_definitions(familyPrefix="staging-migrate")["taskDefinitionArns"] == [
        first.task_definition_arn
    ]
