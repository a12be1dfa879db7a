"""Journals written before rollout state was typed still load, and their rollouts resume.

Each strategy's record of its rollout is a typed dataclass now; in the journal it is still the
progress record's ``extra`` mapping with the keys it always had. The entries below are as the
earlier version wrote them.
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi
from controller.aws.live import fetch_live
from controller.aws.task_definitions import TaskDefinitionCache
from controller.core.model import Strategy
from controller.core.outcome import Result
from controller.core.plan import plan_service
from controller.strategies.base import Progress, RolloutContext, drive
from controller.strategies.blue_green.rollout import BlueGreenState
from controller.strategies.canary.rollout import CanaryState
from controller.strategies.ecs.rollout import EcsState
from controller.strategies.registry import ROLLOUTS, rollout_for
from controller.strategies.rolling.rollout import RollingState
from controller.strategies.run_task.rollout import RunTaskState
from tests.strategies.support import Stage

COMMON = {
    "started_at": 1000.0,
    "deadline": 1600.0,
    "task_definition_arn": "arn:td/web:2",
    "created": False,
}

# (strategy, the progress record an earlier version journaled, what its typed state reads)
OLD_ENTRIES: list[tuple[Strategy, dict[str, Any], Any]] = [
    (
        Strategy.ROLLING,
        {
            **COMMON,
            "phase": "verify",
            "deployment_id": "ecs-svc/1",
            "previous_task_definition_arn": "arn:td/web:1",
            "previous_desired_count": 2,
            "extra": {
                "desiredCount": 2,
                "exists": True,
                "heartbeatAt": 1030.0,
                "verifyUntil": 1090.0,
            },
        },
        RollingState(heartbeat_at=1030.0, verify_until=1090.0, desired_count=2, exists=True),
    ),
    (
        Strategy.BLUE_GREEN,
        {
            **COMMON,
            "phase": "confirm",
            "created": True,
            "extra": {
                "newService": "web__3",
                "oldService": "web__2",
                "prodTargetGroup": "arn:tg/blue",
                "stageTargetGroup": "arn:tg/green",
                "swapped": True,
                "desiredCount": 2,
                "oldScalableTarget": {"MinCapacity": 1, "MaxCapacity": 4},
                "oldScalingPolicies": [{"PolicyName": "cpu60"}],
            },
        },
        BlueGreenState(
            new_service="web__3",
            old_service="web__2",
            prod_target_group="arn:tg/blue",
            stage_target_group="arn:tg/green",
            swapped=True,
            desired_count=2,
            old_scalable_target={"MinCapacity": 1, "MaxCapacity": 4},
            old_scaling_policies=[{"PolicyName": "cpu60"}],
        ),
    ),
    (
        Strategy.CANARY,
        {
            **COMMON,
            "phase": "rolling/wait",
            "extra": {
                "canaryDeploymentId": "ecs-svc/7",
                "rolling": {**COMMON, "phase": "wait", "extra": {"desiredCount": 2}},
            },
        },
        CanaryState(
            canary_deployment_id="ecs-svc/7",
            rolling={**COMMON, "phase": "wait", "extra": {"desiredCount": 2}},
        ),
    ),
    (
        Strategy.RUN_TASK,
        {**COMMON, "phase": "wait", "extra": {"taskArns": ["arn:task/1", "arn:task/2"]}},
        RunTaskState(task_arns=["arn:task/1", "arn:task/2"]),
    ),
    (
        Strategy.ECS,
        {
            **COMMON,
            "phase": "paused",
            "extra": {
                "desiredCount": 2,
                "exists": True,
                "previousDeploymentId": "ecs-svc/1",
                "appliedAt": 1001.5,
                "serviceDeploymentArn": "arn:sd/1",
                "ecsStage": "ECS deployment IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT",
                "pausedAt": 1200.0,
                "pausedStage": "POST_TEST_TRAFFIC_SHIFT",
                "keepLoadBalancers": True,
                "stopSent": True,
                "verifiedInBake": True,
                "noEcsDeployment": True,
            },
        },
        EcsState(
            desired_count=2,
            exists=True,
            previous_deployment_id="ecs-svc/1",
            applied_at=1001.5,
            service_deployment_arn="arn:sd/1",
            ecs_stage="ECS deployment IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT",
            paused_at=1200.0,
            paused_stage="POST_TEST_TRAFFIC_SHIFT",
            keep_load_balancers=True,
            stop_sent=True,
            verified_in_bake=True,
            no_ecs_deployment=True,
        ),
    ),
]


@pytest.mark.parametrize(("strategy", "record", "state"), OLD_ENTRIES, ids=lambda v: str(v)[:12])
def test_an_old_journal_entry_loads_as_the_strategys_typed_state(
    strategy: Strategy, record: dict[str, Any], state: Any
) -> None:
    progress = Progress.from_dict(record, ROLLOUTS[strategy].state_type)

    assert progress.extra == state
    # and journaled again, it says what it said (with the keys it had), to this version and the last
    again = progress.to_dict()
    assert {k: again.get(k) for k in record} == {**record, "extra": again["extra"]}
    assert {k: again["extra"].get(k) for k in record["extra"]} == record["extra"]
    assert Progress.from_dict(again, ROLLOUTS[strategy].state_type).extra == state


def test_unknown_keys_of_a_journal_are_ignored() -> None:
    record = {**COMMON, "phase": "wait", "extra": {"desiredCount": 1, "fromTheFuture": 1}}
    assert Progress.from_dict(record, RollingState).extra == RollingState(desired_count=1)


def test_a_rolling_deploy_resumes_from_an_entry_an_earlier_version_journaled(stage: Stage) -> None:
    before = stage.roll_out(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26"))
    assert before.outcome.result == Result.SYNCED, before.outcome
    desired = stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.27")
    live = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]
    plan = plan_service(desired, live)
    clients = clients_for(desired.env)
    ctx = RolloutContext(
        desired=desired,
        plan=plan,
        api=EcsApi(clients),
        elb=ElbApi(clients),
        commit="0123456789abcdef",
        poll_seconds=0.05,
    )
    revision = ctx.api.register_task_definition(desired.task_definition, digest=plan.digest)
    now = ctx.clock()
    # journaled by the earlier version after its prepare step: the count it chose (1, where
    # the manifest now says 2) is the journal's, so the resumed update must send it
    entry = {
        "phase": "apply",
        "started_at": now,
        "deadline": now + 60,
        "task_definition_arn": revision,
        "previous_task_definition_arn": before.outcome.task_definition_arn,
        "previous_desired_count": 2,
        "extra": {"desiredCount": 1, "exists": True, "heartbeatAt": now},
    }

    rollout = rollout_for(ctx, entry)
    assert rollout is not None
    outcome = drive(rollout, ctx)

    assert outcome.result == Result.SYNCED, outcome
    assert outcome.task_definition_arn == revision
    service = ctx.api.describe_service(cluster="staging", name="web")
    assert service is not None
    assert (service["taskDefinition"], service["desiredCount"]) == (revision, 1)
