"""A rollout paused because its lease was lost or ran out says so, and who resumes it.

The keeper runs against local-aws's DynamoDB with an injected clock (expiry is a step of the
test); the rollout is a real rolling deploy against local-aws, driven by ``drive``.
"""

from __future__ import annotations

import threading
import time

import pytest

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi
from controller.aws.live import TaskDefinitionCache, fetch_live
from controller.core.model import Strategy
from controller.core.outcome import Result
from controller.core.plan import plan_service
from controller.localaws import LocalAws
from controller.service.leases import LeaseKeeper, LeaseTable
from controller.strategies.base import RolloutContext, drive
from controller.strategies.registry import rollout_for
from tests.strategies.support import Stage, make_stage

LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(local_aws: LocalAws) -> Clock:
    return Clock()


def keeper(name: str, clock: Clock) -> LeaseKeeper:
    table = LeaseTable("leases", lease_seconds=LEASE)
    table.ensure()
    found = LeaseKeeper(
        table=table,
        lease_seconds=LEASE,
        me=name,
        clock=clock,
        wall=lambda: 1_700_000_000 + clock.now,
    )
    found.offer(["staging/web"])
    return found


def test_the_stop_event_says_why_the_lease_stopped_a_rollout(clock: Clock) -> None:
    old, new = keeper("old", clock), keeper("new", clock)
    old.round()
    stop = threading.Event()
    lease_stop = old.stop_for("staging/web", stop)
    assert lease_stop.reason is None  # valid: nothing to say

    clock.now += LEASE + 1
    assert lease_stop.is_set()
    assert lease_stop.reason == (
        "the lease of staging was not renewed in time; its next holder resumes it"
    )

    new.round()
    old.round()  # its renewal is refused: another controller holds it now
    assert lease_stop.reason == (
        "the lease of staging was lost to another controller, which resumes it"
    )

    stop.set()  # the controller stopping says it in its own words
    assert lease_stop.reason is None


def test_a_rollout_whose_lease_ran_out_pauses_saying_so(clock: Clock, local_aws: LocalAws) -> None:
    stage: Stage = make_stage(local_aws)
    holder = keeper("holder", clock)
    holder.round()
    desired = stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26")
    live = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]

    def sleep(seconds: float) -> None:
        time.sleep(0.05)
        clock.now += LEASE + 1  # the holder froze through its lease while ECS went on

    ctx = RolloutContext(
        desired=desired,
        plan=plan_service(desired, live),
        api=EcsApi(clients_for(desired.env)),
        elb=ElbApi(clients_for(desired.env)),
        commit="0123456789abcdef",
        poll_seconds=1.0,
        sleep=sleep,
        stop=holder.stop_for(desired.key, threading.Event()),
    )
    rollout = rollout_for(ctx)
    assert rollout is not None

    outcome = drive(rollout, ctx)

    assert outcome.result == Result.PROGRESSING
    assert outcome.message == (
        f"paused in phase {rollout.progress.phase}: the lease of staging was not renewed in "
        "time; its next holder resumes it"
    )


def test_a_rollout_stopped_with_the_controller_says_it_resumes_on_the_next_start(
    clock: Clock, local_aws: LocalAws
) -> None:
    stage: Stage = make_stage(local_aws)
    holder = keeper("holder", clock)
    holder.round()
    desired = stage.service("web", strategy=Strategy.ROLLING, image="nginx:1.26")
    live = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]
    stop = threading.Event()
    ctx = RolloutContext(
        desired=desired,
        plan=plan_service(desired, live),
        api=EcsApi(clients_for(desired.env)),
        elb=ElbApi(clients_for(desired.env)),
        commit="0123456789abcdef",
        poll_seconds=1.0,
        sleep=lambda seconds: stop.set(),
        stop=holder.stop_for(desired.key, stop),
    )
    rollout = rollout_for(ctx)
    assert rollout is not None

    outcome = drive(rollout, ctx)

    assert outcome.message.endswith("when the controller stopped; resumes on its next start")
