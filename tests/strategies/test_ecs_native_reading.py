"""How the ``ecs`` strategy reads ECS's service deployments: which one is its own, why it rolled back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controller.strategies.ecs.rollout import (
    awaiting_hook,
    choose_deployment,
    rollback_reason,
    stage_line,
    stage_phase,
    swapped_by_ecs,
)

JsonDict = dict[str, Any]
OURS = "arn:aws:ecs:us-east-1:123456789012:task-definition/staging-web:7"
OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/staging-web:6"
APPLIED = 1_800_000_000.0


def deployment(name: str, *, created: float, revision: str) -> JsonDict:
    return {
        "serviceDeploymentArn": f"arn:sd/{name}",
        "createdAt": datetime.fromtimestamp(created, tz=UTC),
        "targetServiceRevision": {"arn": f"arn:rev/{revision}"},
        "status": "IN_PROGRESS",
    }


REVISIONS = {
    "arn:rev/new": {"serviceRevisionArn": "arn:rev/new", "taskDefinition": OURS},
    "arn:rev/new-again": {"serviceRevisionArn": "arn:rev/new-again", "taskDefinition": OURS},
    "arn:rev/old": {"serviceRevisionArn": "arn:rev/old", "taskDefinition": OLD},
}


def test_ours_is_created_after_the_update_and_targets_our_task_definition() -> None:
    candidates = [
        # the newest, but someone else's revision: not ours
        deployment("other", created=APPLIED + 30, revision="old"),
        # ours, though not the newest
        deployment("ours", created=APPLIED + 1, revision="new"),
        # same task definition, but from before the update (an earlier deploy of it)
        deployment("before", created=APPLIED - 600, revision="new"),
    ]
    chosen = choose_deployment(candidates, REVISIONS, task_definition_arn=OURS, not_before=APPLIED)
    assert chosen is not None and chosen["serviceDeploymentArn"] == "arn:sd/ours"


def test_of_two_deployments_of_our_task_definition_the_first_after_the_update_is_ours() -> None:
    candidates = [
        deployment("later", created=APPLIED + 40, revision="new-again"),
        deployment("ours", created=APPLIED, revision="new"),
    ]
    chosen = choose_deployment(candidates, REVISIONS, task_definition_arn=OURS, not_before=APPLIED)
    assert chosen is not None and chosen["serviceDeploymentArn"] == "arn:sd/ours"


def test_nothing_is_chosen_when_no_deployment_targets_our_task_definition() -> None:
    candidates = [
        deployment("other", created=APPLIED + 3, revision="old"),
        deployment("unknown-revision", created=APPLIED + 3, revision="missing"),
    ]
    assert (
        choose_deployment(candidates, REVISIONS, task_definition_arn=OURS, not_before=APPLIED)
        is None
    )


def test_the_rollback_reason_names_the_alarms_the_circuit_breaker_hooks_and_ecs_reason() -> None:
    reason = rollback_reason(
        {
            "status": "ROLLBACK_SUCCESSFUL",
            "alarms": {"status": "TRIGGERED", "triggeredAlarmNames": ["web-5xx", "web-latency"]},
            "deploymentCircuitBreaker": {"status": "TRIGGERED", "failureCount": 3},
            "lifecycleHookDetails": [
                {"hookId": "h1", "targetArn": "arn:lambda:check", "status": "FAILED"},
                {"hookId": "h2", "targetType": "PAUSE", "status": "SUCCEEDED"},
            ],
            "rollback": {"reason": "Service deployment rolled back because of alarms"},
        }
    )
    assert reason == (
        "alarms web-5xx, web-latency in ALARM; the deployment circuit breaker triggered "
        "(3 failed tasks); lifecycle hook arn:lambda:check failed; "
        "Service deployment rolled back because of alarms"
    )


def test_the_rollback_reason_falls_back_to_the_status_reason() -> None:
    assert rollback_reason({"statusReason": "tasks failed to start"}) == "tasks failed to start"
    assert rollback_reason({}) == "ECS rolled the deployment back without saying why"


def test_a_stage_line_shows_the_stage_the_tasks_and_the_traffic_weights() -> None:
    line = stage_line(
        {
            "status": "IN_PROGRESS",
            "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
            "targetServiceRevision": {
                "arn": "arn:aws:ecs:r:1:service-revision/staging/web/222",
                "requestedTaskCount": 2,
                "runningTaskCount": 2,
                "requestedProductionTrafficWeight": 50.0,
                "requestedTestTrafficWeight": 100.0,
            },
            "sourceServiceRevisions": [
                {
                    "arn": "arn:aws:ecs:r:1:service-revision/staging/web/111",
                    "requestedProductionTrafficWeight": 50.0,
                    "requestedTestTrafficWeight": 0.0,
                }
            ],
        }
    )
    assert line == (
        "ECS deployment IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT: new revision 2/2 tasks running; "
        "traffic 222: production 50%, test 100%; 111: production 50%, test 0%"
    )
    assert stage_phase("POST_TEST_TRAFFIC_SHIFT") == "post-test-traffic-shift"


def test_the_hook_awaiting_approval_is_found_and_a_rejection_is_named_by_its_stage() -> None:
    waiting = {
        "status": "IN_PROGRESS",
        "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        "lifecycleHookDetails": [
            {"hookId": "lambda", "targetType": "AWS_LAMBDA", "status": "SUCCEEDED"},
            {"hookId": "gate", "targetType": "PAUSE", "status": "AWAITING_ACTION"},
        ],
    }
    hook = awaiting_hook(waiting)
    assert hook is not None and hook["hookId"] == "gate"
    assert awaiting_hook({"lifecycleHookDetails": [{"status": "SUCCEEDED"}]}) is None
    rejected = {
        "status": "ROLLBACK_SUCCESSFUL",
        "lifecycleStage": "CLEAN_UP",
        "lifecycleHookDetails": [{"hookId": "gate", "targetType": "PAUSE", "status": "FAILED"}],
        "rollback": {"reason": "rolled back by ContinueServiceDeployment"},
    }
    assert (
        rollback_reason(rejected, paused_stage="POST_TEST_TRAFFIC_SHIFT")
        == "rejected at POST_TEST_TRAFFIC_SHIFT"
    )
    assert rollback_reason(rejected) == "rejected at CLEAN_UP"


def test_load_balancers_ecs_swapped_are_told_from_a_change() -> None:
    advanced = {"alternateTargetGroupArn": "tg/green", "productionListenerRule": "rule/prod"}
    git = [{"targetGroupArn": "tg/blue", "containerName": "app", "advancedConfiguration": advanced}]
    swapped = {**advanced, "alternateTargetGroupArn": "tg/blue", "roleArn": "role"}
    live = [
        {"targetGroupArn": "tg/green", "containerName": "app", "advancedConfiguration": swapped}
    ]
    assert swapped_by_ecs(git, live)
    assert not swapped_by_ecs(git, [{**git[0], "advancedConfiguration": advanced}])  # same
    other = [{**live[0], "containerName": "web"}]
    assert not swapped_by_ecs(git, other)  # a real change besides the swap
    assert not swapped_by_ecs([], [])
