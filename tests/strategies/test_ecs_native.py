"""The ``ecs`` strategy against local-aws: ECS's own deployment, followed and stopped by the controller."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi
from controller.aws.live import TaskDefinitionCache, fetch_live
from controller.core.model import DesiredService, Strategy
from controller.core.outcome import Result
from controller.core.plan import plan_service
from controller.localaws import LocalAws
from controller.strategies.base import Progress, RolloutContext, drive
from controller.strategies.ecs.rollout import EcsNativeRollout
from controller.strategies.registry import rollout_for
from tests.conftest import fast_options
from tests.strategies.support import Probe, Rolled, Stage, ecs, image_of, live


def deployed(stage: Stage) -> str:
    first = stage.roll_out(stage.service("web", strategy=Strategy.ECS, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    service = live("web")
    assert service is not None
    return str(service["taskDefinition"])


def service_deployment(arn: str) -> dict[str, Any]:
    (found,) = ecs().describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return dict(found)


class CountingApi(EcsApi):
    """The real adapter, counting the calls a test must see made (or not)."""

    def __init__(self, desired: DesiredService) -> None:
        super().__init__(clients_for(desired.env))
        self.stopped: list[str] = []
        self.updates = 0

    def stop_service_deployment(self, arn: str, *, rollback: bool = True) -> None:
        self.stopped.append(arn)
        super().stop_service_deployment(arn, rollback=rollback)

    def update_service(self, *, cluster: str, name: str, fields: dict[str, Any]) -> Any:
        self.updates += 1
        return super().update_service(cluster=cluster, name=name, fields=fields)


def roll_out_late(desired: DesiredService, api: CountingApi) -> Rolled:
    """Drive a rollout whose clock jumps past the deadline once ECS's deployment is found."""
    fetched = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]
    rolled = Rolled(outcome=None)  # type: ignore[arg-type]
    late = [0.0]

    def report(line: str) -> None:
        rolled.lines.append(line)
        if line.startswith("following ECS service deployment"):
            late[0] = desired.deploy.timeout_seconds + 1

    def checkpoint(progress: Progress) -> None:
        if not rolled.phases or rolled.phases[-1] != progress.phase:
            rolled.phases.append(progress.phase)

    ctx = RolloutContext(
        desired=desired,
        plan=plan_service(desired, fetched),
        api=api,
        elb=ElbApi(clients_for(desired.env)),
        commit="0123456789abcdef",
        poll_seconds=0.05,
        clock=lambda: time.time() + late[0],
        report=report,
        checkpoint=checkpoint,
    )
    rollout = rollout_for(ctx)
    assert isinstance(rollout, EcsNativeRollout)
    rolled.outcome = drive(rollout, ctx)
    return rolled


def test_an_image_bump_is_followed_through_its_own_service_deployment(stage: Stage) -> None:
    deployed(stage)

    rolled = stage.roll_out(stage.service("web", strategy=Strategy.ECS, image="nginx:1.27"))

    outcome = rolled.outcome
    assert outcome.result == Result.SYNCED, outcome
    arn = str(outcome.details["serviceDeploymentArn"])
    assert service_deployment(arn)["status"] == "SUCCESSFUL"
    assert rolled.phases[:3] == ["prepare", "apply", "find-deployment"]
    assert any(line.startswith("ECS deployment IN_PROGRESS") for line in rolled.lines)
    service = live("web")
    assert service is not None and image_of(str(service["taskDefinition"])) == "nginx:1.27"


def test_at_the_timeout_the_controller_asks_ecs_to_roll_back(
    stage: Stage, local_aws: LocalAws
) -> None:
    before = deployed(stage)
    # tasks slow enough that ECS's deployment is still under way when the clock jumps, however
    # loaded the machine
    local_aws.options = replace(fast_options(), task_start_seconds=5.0)
    desired = stage.service("web", strategy=Strategy.ECS, image="nginx:1.27")
    api = CountingApi(desired)

    rolled = roll_out_late(desired, api)

    outcome = rolled.outcome
    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("timed out after 60s"), outcome.failure_reason
    arn = str(outcome.details["serviceDeploymentArn"])
    assert api.stopped == [arn]
    assert api.updates == 1  # the deploy's own: no second UpdateService into ECS's deployment
    assert service_deployment(arn)["status"] == "ROLLBACK_SUCCESSFUL"
    assert rolled.phases[-2:] == ["stop", "ecs-rollback"]
    assert outcome.restored_task_definition_arn == before
    service = live("web")
    assert service is not None and service["taskDefinition"] == before


def test_a_verify_failing_after_ecs_finished_restores_the_previous_revision(
    stage: Stage, probe: Probe
) -> None:
    before = deployed(stage)
    probe.answer(503)
    desired = stage.service(
        "web",
        strategy=Strategy.ECS,
        image="nginx:1.27",
        raw={"verify": {"http": [{"url": probe.url}], "duration": "1s"}},
    )

    rolled = stage.roll_out(desired)

    outcome = rolled.outcome
    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("verification failed: http")
    # ECS's deployment had ended SUCCESSFUL: nothing to stop, the rolling undo restores
    assert "ECS's deployment already ended; restoring the previous revision" in rolled.lines
    assert outcome.restored_task_definition_arn == before
    service = live("web")
    assert service is not None and service["taskDefinition"] == before


def test_a_rollout_stopped_while_following_resumes_from_its_journal(stage: Stage) -> None:
    deployed(stage)
    desired = stage.service("web", strategy=Strategy.ECS, image="nginx:1.27")
    api = CountingApi(desired)
    fetched = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]
    journal: list[dict[str, Any]] = []
    ctx = RolloutContext(
        desired=desired,
        plan=plan_service(desired, fetched),
        api=api,
        elb=ElbApi(clients_for(desired.env)),
        commit="0123456789abcdef",
        poll_seconds=0.05,
        checkpoint=lambda progress: journal.append(progress.to_dict()),
    )
    # the controller is asked to stop as soon as the rollout follows ECS's deployment
    ctx.report = lambda line: ctx.stop.set() if line.startswith("following ECS") else None
    first = rollout_for(ctx)
    assert first is not None

    paused = drive(first, ctx)

    assert paused.result == Result.PROGRESSING, paused
    saved = journal[-1]
    arn = saved["extra"]["serviceDeploymentArn"]
    # a restarted controller: a new context, the rollout rebuilt from the journal
    ctx.stop.clear()
    ctx.report = lambda line: None
    resumed = rollout_for(ctx, saved)
    assert resumed is not None

    outcome = drive(resumed, ctx)

    assert outcome.result == Result.SYNCED, outcome
    assert outcome.details["serviceDeploymentArn"] == arn
    assert api.updates == 1  # resumed by observing, not by updating again
    assert service_deployment(arn)["status"] == "SUCCESSFUL"


def test_a_superseded_rollout_lets_ecs_deployment_end_and_changes_nothing_more(
    stage: Stage, local_aws: LocalAws
) -> None:
    deployed(stage)
    # tasks slow enough that ECS's deployment is still under way when the stop is asked
    local_aws.options = replace(fast_options(), task_start_seconds=3.0)
    desired = stage.service("web", strategy=Strategy.ECS, image="nginx:1.27")
    api = CountingApi(desired)
    fetched = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]
    journal: list[dict[str, Any]] = []
    ctx = RolloutContext(
        desired=desired,
        plan=plan_service(desired, fetched),
        api=api,
        elb=ElbApi(clients_for(desired.env)),
        commit="0123456789abcdef",
        poll_seconds=0.05,
        checkpoint=lambda progress: journal.append(progress.to_dict()),
    )
    ctx.report = lambda line: ctx.stop.set() if line.startswith("following ECS") else None
    first = rollout_for(ctx)
    assert first is not None
    assert drive(first, ctx).result == Result.PROGRESSING
    # git moved on while the controller was stopped: the rollout is resumed only to settle
    ctx.stop.clear()
    resumed = rollout_for(ctx, journal[-1])
    assert resumed is not None
    resumed.supersede()

    outcome = drive(resumed, ctx)

    assert outcome.result == Result.OUT_OF_SYNC, outcome
    assert outcome.message.startswith("superseded: the deploy of"), outcome.message
    assert api.updates == 1 and api.stopped == []


def test_throttled_service_deployment_calls_are_retried_within_the_rollout(
    stage: Stage, local_aws: LocalAws
) -> None:
    deployed(stage)
    local_aws.options = replace(
        fast_options(),
        throttle={"ListServiceDeployments": 4, "DescribeServiceDeployments": 4},
    )

    rolled = stage.roll_out(stage.service("web", strategy=Strategy.ECS, image="nginx:1.27"))

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert any("retrying in" in line and "Throttling" in line for line in rolled.lines)


def test_a_count_only_change_starts_no_deployment_and_is_waited_on_as_rolling_does(
    stage: Stage,
) -> None:
    deployed(stage)

    rolled = stage.roll_out(
        stage.service("web", strategy=Strategy.ECS, image="nginx:1.26", desired_count=3)
    )

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    # ECS started no service deployment: none is looked for, the service settles
    assert rolled.phases == ["prepare", "apply", "wait", "autoscaling"], rolled.phases
    service = live("web")
    assert service is not None and service["desiredCount"] == 3
