"""How a rollout spends its time: steps that act follow one another at once, a pause is only
ever spent waiting on ECS, and a throttled or failing AWS call is tried again within the rollout.

Rollouts run against local-aws with a long poll interval and an injected sleep that records
each pause (and sleeps a little, so that ECS moves on): the tests assert on the recorded pauses,
not on timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

import pytest

from controller.aws.clients import clients_for, forget_clients
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi
from controller.aws.live import TaskDefinitionCache, fetch_live
from controller.core.model import DesiredService, Strategy
from controller.core.outcome import Outcome, Result
from controller.core.plan import plan_service
from controller.localaws import LocalAws, SimulationOptions
from controller.strategies.base import Progress, RolloutContext, drive, retry_pause
from controller.strategies.registry import rollout_for
from tests.conftest import fast_options
from tests.strategies.support import Stage

POLL = 5.0  # the CLI's default: a pause of this length would show in every recorded run


@dataclass
class Timeline:
    """What a rollout did, in order: ("step", phase after it), ("sleep", seconds), ("say", line)."""

    events: list[tuple[str, object]] = field(default_factory=list)
    outcome: Outcome | None = None

    def sleeps(self) -> list[float]:
        return [float(v) for kind, v in self.events if kind == "sleep"]  # type: ignore[arg-type]

    def before_first_sleep(self) -> list[tuple[str, object]]:
        kinds = [kind for kind, _ in self.events]
        return self.events[: kinds.index("sleep")] if "sleep" in kinds else self.events

    def said(self, text: str) -> bool:
        return any(kind == "say" and text in str(v) for kind, v in self.events)


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    # botocore's adaptive mode slows a client down after throttling: no later test inherits it
    forget_clients()
    yield
    forget_clients()


def run(
    desired: DesiredService,
    *,
    poll: float = POLL,
    stop_after_sleeps: int | None = None,
    then: Callable[[], None] = lambda: None,
) -> Timeline:
    """Plan against local-aws and drive the rollout, recording steps, pauses and lines."""
    live = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]
    timeline = Timeline()

    def sleep(seconds: float) -> None:
        timeline.events.append(("sleep", seconds))
        time.sleep(0.05)  # enough for local-aws to move on; the recorded pause is what counts
        if stop_after_sleeps is not None and len(timeline.sleeps()) >= stop_after_sleeps:
            ctx.stop.set()

    ctx = RolloutContext(
        desired=desired,
        plan=plan_service(desired, live),
        api=EcsApi(clients_for(desired.env)),
        elb=ElbApi(clients_for(desired.env)),
        commit="0123456789abcdef",
        poll_seconds=poll,
        sleep=sleep,
        report=lambda line: timeline.events.append(("say", line)),
        checkpoint=lambda p: timeline.events.append(("step", p.phase)),
    )
    rollout = rollout_for(ctx)
    assert rollout is not None
    then()  # planned: what the test changes in local-aws now meets the rollout only
    timeline.outcome = drive(rollout, ctx)
    return timeline


def refusing(
    *, throttle: Mapping[str, int] | None = None, server_errors: Mapping[str, int] | None = None
) -> SimulationOptions:
    """The suite's fast options, refusing the given ECS calls so many times."""
    return replace(fast_options(), throttle=throttle or {}, server_errors=server_errors or {})


def _phase_before_each_sleep(timeline: Timeline) -> list[str]:
    phases, phase = [], ""
    for kind, value in timeline.events:
        if kind == "step":
            phase = str(value)
        elif kind == "sleep":
            phases.append(phase)
    return phases


def test_a_rolling_update_reaches_update_service_with_no_pause(stage: Stage) -> None:
    first = run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.25"))
    assert first.outcome is not None and first.outcome.result == Result.SYNCED, first.outcome
    # creating: registering and CreateService run back to back
    assert any("creating service web" in str(v) for _, v in first.before_first_sleep())

    second = run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26"))

    assert second.outcome is not None and second.outcome.result == Result.SYNCED
    before = [str(v) for _, v in second.before_first_sleep()]
    assert any(line.startswith("registered ") for line in before), second.events
    assert any(line.startswith("updating service web") for line in before), second.events
    # every pause came while waiting on ECS, and was the poll interval
    assert set(_phase_before_each_sleep(second)) <= {"wait", "verify"}
    assert second.sleeps() and set(second.sleeps()) == {POLL}


def test_a_failed_rolling_deploy_rolls_back_with_no_pause_before_the_rollback(
    stage: Stage,
) -> None:
    run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.25"))

    broken = run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:broken"))

    assert broken.outcome is not None and broken.outcome.result == Result.ROLLED_BACK
    phases = _phase_before_each_sleep(broken)
    assert "rollback" not in phases and "prepare" not in phases and "apply" not in phases
    assert "rollback-wait" in phases


def test_a_canary_pauses_only_while_it_waits(stage: Stage) -> None:
    run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.25"))

    canary = run(stage.service("web", strategy=Strategy.CANARY, image="nginx:1.26"))

    assert canary.outcome is not None and canary.outcome.result == Result.SYNCED, canary.outcome
    assert set(_phase_before_each_sleep(canary)) <= {
        "canary-wait",
        "canary-verify",
        "rolling/wait",
        "rolling/verify",
    }
    # deleting the canary, then registering nothing new and updating the service: at once
    steps = [str(v) for kind, v in canary.events if kind == "step"]
    assert "rolling/prepare" in steps and "rolling/apply" in steps


def test_a_job_is_run_with_no_pause_after_its_task_definition(stage: Stage) -> None:
    job = run(stage.job("migrate", image="busybox:1.36"))

    assert job.outcome is not None and job.outcome.result == Result.SYNCED
    assert any("running 1 task(s)" in str(v) for _, v in job.before_first_sleep())
    assert set(_phase_before_each_sleep(job)) == {"wait"}


def test_a_throttled_update_is_tried_again_within_the_rollout(
    stage: Stage, local_aws: LocalAws
) -> None:
    run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.25"))
    # more throttling than botocore's own attempts absorb: the controller's retry must act
    local_aws.options = refusing(throttle={"UpdateService": 4})

    throttled = run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26"))

    assert throttled.outcome is not None
    assert throttled.outcome.result == Result.SYNCED, throttled.outcome
    assert throttled.said("retrying in"), throttled.events
    assert throttled.said("ThrottlingException")
    # the retry's pause is short (backoff from 0.5 s), not a poll interval
    retry_pauses = [s for s in throttled.sleeps() if s < POLL]
    assert retry_pauses and max(retry_pauses) <= 0.5


def test_server_errors_while_waiting_are_tried_again(stage: Stage, local_aws: LocalAws) -> None:
    run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.25"))

    def failing() -> None:
        local_aws.options = refusing(server_errors={"DescribeServices": 7})

    rolled = run(
        stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26"), poll=1.0, then=failing
    )

    assert rolled.outcome is not None and rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert rolled.said("retrying in")
    # the pauses grow, and never beyond the poll interval
    retries = [s for kind, s in rolled.events if kind == "sleep" and float(s) < 1.0]  # type: ignore[arg-type]
    assert len(retries) >= 2


def test_a_call_still_throttled_at_the_deadline_fails_the_deploy_with_its_marker_reason(
    stage: Stage, local_aws: LocalAws
) -> None:
    run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.25"))
    local_aws.options = refusing(throttle={"UpdateService": 10_000})

    rolled = run(
        stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26", timeout=8), poll=1.0
    )

    outcome = rolled.outcome
    assert outcome is not None and outcome.result == Result.FAILED, outcome
    assert outcome.failure_reason is not None
    assert "still failing at the deadline" in outcome.failure_reason
    assert rolled.said("retrying in")


def test_a_stop_during_a_retry_pauses_the_rollout(stage: Stage, local_aws: LocalAws) -> None:
    run(stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.25"))
    local_aws.options = refusing(throttle={"UpdateService": 10_000})

    rolled = run(
        stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26"), stop_after_sleeps=1
    )

    assert rolled.outcome is not None and rolled.outcome.result == Result.PROGRESSING
    assert "paused in phase apply" in rolled.outcome.message


@pytest.mark.parametrize("failures", [1, 2, 3, 4, 5, 10, 100])
def test_retry_pauses_grow_with_jitter_within_their_caps(failures: int) -> None:
    for _ in range(50):
        pause = retry_pause(failures, poll_seconds=5.0, left=60.0)
        ceiling = min(0.5 * 2 ** (failures - 1), 5.0)
        assert ceiling / 2 <= pause <= ceiling
    assert retry_pause(failures, poll_seconds=5.0, left=0.2) <= 0.2
    assert retry_pause(failures, poll_seconds=0.1, left=60.0) <= 0.1


def test_progress_is_plain_data() -> None:
    # the retry counts live in drive(), not in the journaled progress
    assert "failures" not in Progress.__dataclass_fields__
