"""The canary strategy: try the new task definition on a one-task copy of the service first.

As in the seed tutorial's "ECS Canary deployments": create ``<serviceName>Canary`` (same request
as the service: network, load balancers, tags) with ``canary.desiredCount`` tasks (default 1) on
the new task definition, wait for its steady state, verify (deploy.yaml ``verify``), delete it,
then roll the full service out with ``RollingRollout`` (which waits, verifies again and attaches
autoscaling). If anything fails before the rolling phase, the canary is deleted and the main
service is never touched; a failure in the rolling phase is rolled back as any rolling deploy.
The canary never gets autoscaling, and carries the owner tag (``ecs-gitops.owner`` = the
folder's key): a ``<serviceName>Canary`` without it is someone else's, and the rollout fails
without touching it or the service. Does I/O through the rollout context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.core.health import HealthStatus, deployment_health
from controller.core.outcome import Outcome, Result
from controller.core.ownership import canary_name, not_owned, owned_by, with_owner
from controller.strategies.base import (
    PhasedRollout,
    Progress,
    RolloutContext,
    RolloutState,
    primary_deployment_id,
    stream_events,
)
from controller.strategies.rolling.rollout import RollingRollout
from controller.strategies.steps import resolve_task_definition
from controller.strategies.verify import Verdict, verify_step

JsonDict = dict[str, Any]

# Phases, in order; the rolling phase is journaled as "rolling/<its own phase>".
PREPARE, CREATE, WAIT, VERIFY, DELETE, ROLLING, ABORT = (
    "canary-prepare",
    "canary-create",
    "canary-wait",
    "canary-verify",
    "canary-delete",
    "rolling",
    "canary-abort",  # entered only on failure: delete the canary, leave the service alone
)


@dataclass
class CanaryState(RolloutState):
    """What a canary deploy remembers beside the common progress."""

    # the canary service's deployment (the one CreateService or UpdateService started)
    canary_deployment_id: str | None = None
    # the rolling phase's own progress record, once the canary passed
    rolling: JsonDict | None = None


class CanaryRollout(PhasedRollout):
    """A canary then a rolling deploy of one service, advanced one step per ``step()`` call."""

    first_phase = PREPARE
    acting_phases = frozenset({PREPARE, CREATE, DELETE, ROLLING, ABORT})
    state_type: type[RolloutState] = CanaryState

    def __init__(self, ctx: RolloutContext, progress: Progress | None = None) -> None:
        super().__init__(ctx, progress)
        self._rolling: RollingRollout | None = None

    @property
    def state(self) -> CanaryState:
        return self.progress.state(CanaryState)

    @property
    def _canary(self) -> str:
        return canary_name(self.ctx.desired.service_name)

    def step(self) -> Outcome | None:
        phase = self.progress.phase
        if phase == ROLLING or phase.startswith(ROLLING + "/"):
            return self._roll()
        return super().step()

    def handlers(self) -> Mapping[str, Callable[[], Outcome | None]]:
        return {
            PREPARE: self._prepare,
            CREATE: self._create,
            WAIT: self._wait,
            VERIFY: self._verify,
            DELETE: self._delete,
            ABORT: self._abort,
        }

    # -- the canary --------------------------------------------------------------------

    def _prepare(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        live = self._describe(ctx.desired.service_name)
        live_arn = live.get("taskDefinition") if live else None
        p.previous_task_definition_arn = live_arn
        p.task_definition_arn = resolve_task_definition(ctx, live)
        if live is not None and p.task_definition_arn == live_arn:
            # only service settings changed: the same tasks would run, there is nothing to try
            ctx.report("the task definition is unchanged: no canary needed")
            return self._start_rolling()
        p.phase = CREATE
        return None

    def _ours(self, canary: JsonDict) -> bool:
        # a draining service is going away whoever owns it: waiting for it touches nothing
        return canary.get("status") == "DRAINING" or owned_by(canary, self.ctx.desired.key)

    def _not_ours(self, canary: JsonDict) -> Outcome:
        """A service of the canary's name that the controller did not create: leave everything."""
        p = self.progress
        reason = not_owned(self._canary, canary, key=self.ctx.desired.key)
        self.ctx.report(f"deploy failed: {reason}")
        return Outcome(
            Result.FAILED,
            f"canary of {p.task_definition_arn} not started: {reason}",
            task_definition_arn=p.previous_task_definition_arn,
            failure_reason=reason,
        )

    def _create(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        assert p.task_definition_arn is not None
        existing = self._describe(self._canary)
        if existing is not None and not self._ours(existing):
            return self._not_ours(existing)
        if existing is not None and existing.get("status") == "DRAINING":
            # a canary of an earlier rollout is still going away; its name is not free yet
            if ctx.clock() >= p.deadline:
                return self._fail(f"timed out waiting for the old {self._canary} to drain")
            return None
        count = int(ctx.desired.deploy.block("canary").get("desiredCount", 1))
        request: JsonDict = {
            **(ctx.desired.service or {}),
            "serviceName": self._canary,
            "taskDefinition": p.task_definition_arn,
            "desiredCount": count,
            "tags": with_owner((ctx.desired.service or {}).get("tags"), ctx.desired.key),
        }
        if existing is not None:
            # left over by a controller that stopped mid-canary: reuse it
            fields = ctx.api.update_fields(request)
            fields.update(taskDefinition=p.task_definition_arn, desiredCount=count)
            ctx.report(f"updating canary {self._canary} to {p.task_definition_arn}")
            service = ctx.api.update_service(
                cluster=self._cluster, name=self._canary, fields=fields
            )
        else:
            ctx.report(
                f"creating canary {self._canary} with {count} task(s) of {p.task_definition_arn}"
            )
            service = ctx.api.create_service(request)
        p.seen_events = [str(e.get("id")) for e in service.get("events") or ()]
        self.state.canary_deployment_id = primary_deployment_id(service)
        p.phase = WAIT
        return None

    def _wait(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        assert p.task_definition_arn is not None
        service = self._describe(self._canary)
        stream_events(ctx, p, service)
        deployment_id = self.state.canary_deployment_id
        health = deployment_health(
            service, deployment_id=deployment_id, task_definition_arn=p.task_definition_arn
        )
        if health.status == HealthStatus.HEALTHY:
            p.phase = VERIFY
            return self._verify()
        if health.status in (HealthStatus.DEGRADED, HealthStatus.MISSING):
            return self._fail(f"canary {self._canary}: {health.message}")
        failed = _failed_tasks(service, deployment_id)
        if failed:
            # the canary is a test: one task that cannot start is already the answer
            return self._fail(f"canary {self._canary}: {failed} task(s) failed to start")
        if ctx.clock() >= p.deadline:
            timeout = ctx.desired.deploy.timeout_seconds
            return self._fail(
                f"canary {self._canary} timed out after {timeout:g}s ({health.message})"
            )
        return None

    def _verify(self) -> Outcome | None:
        verification = verify_step(self.ctx, self.progress)
        if verification.verdict == Verdict.FAILED:
            return self._fail(f"canary verification failed: {verification.message}")
        if verification.verdict == Verdict.PASSED:
            self.progress.phase = DELETE
            return self._delete()
        return None

    def _delete(self) -> Outcome | None:
        self._remove_canary()
        return self._start_rolling()

    def _remove_canary(self) -> None:
        ctx = self.ctx
        existing = self._describe(self._canary)
        if existing is None or existing.get("status") == "DRAINING":
            return
        if not owned_by(existing, ctx.desired.key):
            ctx.report(not_owned(self._canary, existing, key=ctx.desired.key))
            return
        ctx.report(f"deleting canary {self._canary}")
        ctx.api.update_service(cluster=self._cluster, name=self._canary, fields={"desiredCount": 0})
        ctx.api.delete_service(cluster=self._cluster, name=self._canary)

    # -- the full service, by the rolling strategy ---------------------------------------

    def _start_rolling(self) -> Outcome | None:
        self._rolling = RollingRollout(self.ctx)
        self._checkpoint_rolling()
        return None

    def _inner(self) -> RollingRollout:
        if self._rolling is None:  # resumed from the journal
            self._rolling = RollingRollout.resume(self.ctx, dict(self.state.rolling or {}))
        return self._rolling

    def _roll(self) -> Outcome | None:
        outcome = self._inner().step()
        self._checkpoint_rolling()
        if outcome is not None and outcome.result == Result.SYNCED:
            return Outcome(
                Result.SYNCED,
                f"canary passed; {outcome.message}",
                task_definition_arn=outcome.task_definition_arn,
                details=outcome.details,
            )
        return outcome

    def _checkpoint_rolling(self) -> None:
        assert self._rolling is not None
        inner, p = self._rolling.progress, self.progress
        self.state.rolling = inner.to_dict()
        p.phase = f"{ROLLING}/{inner.phase}"
        p.deployment_id = inner.deployment_id

    # -- refusals and superseded rollouts ------------------------------------------------

    def waits(self) -> bool:
        if self.progress.phase.startswith(ROLLING + "/"):
            return self._inner().waits()
        return super().waits()

    def _in_rolling(self) -> bool:
        return self.progress.phase.startswith(ROLLING)

    def changed_anything(self) -> bool:
        if self._in_rolling():
            return self._inner().changed_anything()
        return self.progress.phase not in (PREPARE, CREATE)

    def fail(self, reason: str) -> Outcome | None:
        if not self._in_rolling():
            return self._fail(reason)
        outcome = self._inner().fail(reason)
        self._checkpoint_rolling()
        return outcome

    def failing_service(self) -> str | None:
        # the canary service runs the new tasks
        return self._canary

    def supersede(self) -> None:
        if self._in_rolling():
            self._inner().supersede()
            self._checkpoint_rolling()
        elif self.progress.phase == PREPARE:
            super().supersede()
        elif self.progress.phase != ABORT:
            # a canary of a state git no longer asks for has nothing left to prove: delete it
            self.progress.failure = "superseded by a newer desired state"
            self.progress.phase = ABORT

    # -- failure before the rolling phase ----------------------------------------------

    def _fail(self, reason: str) -> Outcome | None:
        p = self.progress
        p.failure = reason
        p.phase = ABORT
        self.ctx.report(f"deploy failed: {reason}; deleting the canary")
        return None

    def _abort(self) -> Outcome | None:
        p = self.progress
        self._remove_canary()
        previous = p.previous_task_definition_arn
        if previous:
            return Outcome(
                Result.ROLLED_BACK,
                f"canary of {p.task_definition_arn} failed: {p.failure}; canary deleted, "
                f"{self.ctx.desired.service_name} left untouched on {previous}",
                task_definition_arn=previous,
                failure_reason=p.failure,
                restored_task_definition_arn=previous,
            )
        return Outcome(
            Result.FAILED,
            f"canary of {p.task_definition_arn} failed: {p.failure}; canary deleted, "
            f"{self.ctx.desired.service_name} not created",
            failure_reason=p.failure,
        )


def _failed_tasks(service: JsonDict | None, deployment_id: str | None) -> int:
    for deployment in (service or {}).get("deployments") or ():
        if deployment_id is None or deployment.get("id") == deployment_id:
            return int(deployment.get("failedTasks") or 0)
    return 0


# what the registry runs for this strategy
ROLLOUT = CanaryRollout
