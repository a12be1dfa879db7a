"""The rolling strategy: UpdateService in place, wait for ECS to finish, undo what failed.

As in the seed tutorial: register the task definition, create or update the service,
wait for steady state, verify (deploy.yaml ``verify``), then attach autoscaling. Success
means *our* deployment (the id UpdateService returned, on our task definition) is PRIMARY
and COMPLETED and passed verification; a stable service on another task definition is ECS's
circuit breaker having rolled us back. Does I/O through the rollout context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.core.health import HealthStatus, deployment_health, settled
from controller.core.outcome import Outcome, Result
from controller.core.ownership import with_owner
from controller.core.plan import ServicePlan
from controller.strategies.base import (
    PhasedRollout,
    RolloutState,
    heartbeat,
    primary_deployment_id,
)
from controller.strategies.steps import desired_count, resolve_task_definition
from controller.strategies.verify import Verdict, verify_step

JsonDict = dict[str, Any]

# Phases, in order; ROLLBACK and ROLLBACK_WAIT are entered only on failure, SETTLE only when
# git moved on to another desired state while this rollout was under way.
PREPARE, APPLY, WAIT, VERIFY, AUTOSCALING, ROLLBACK, ROLLBACK_WAIT, SETTLE = (
    "prepare",
    "apply",
    "wait",
    "verify",
    "autoscaling",
    "rollback",
    "rollback-wait",
    "settle",
)


def removed_tags(plan: ServicePlan) -> list[str]:
    """Keys of the service tags the plan removes (``tags[team]: web -> (unset)``)."""
    return [
        change.path[len("tags[") : -1]
        for change in plan.service_changes
        if change.path.startswith("tags[") and change.path.endswith("]") and change.new is None
    ]


@dataclass
class RollingState(RolloutState):
    """What a rolling deploy remembers beside the common progress."""

    # the count the service is given (decided once, before the update)
    desired_count: int | None = None
    # whether the service existed before (then it is updated, else created)
    exists: bool = False
    # ECS's circuit breaker already rolled the deploy back: nothing to restore
    ecs_rolled_back: bool = False


class RollingRollout(PhasedRollout):
    """A rolling deploy of one service, advanced one step per ``step()`` call."""

    first_phase = PREPARE
    acting_phases = frozenset({PREPARE, APPLY, AUTOSCALING, ROLLBACK})
    state_type: type[RolloutState] = RollingState

    @property
    def state(self) -> RollingState:
        return self.progress.state(RollingState)

    @property
    def _name(self) -> str:
        return self.ctx.desired.service_name

    def handlers(self) -> Mapping[str, Callable[[], Outcome | None]]:
        return {
            PREPARE: self._prepare,
            APPLY: self._apply,
            WAIT: self._wait,
            VERIFY: self._verify,
            AUTOSCALING: self._autoscaling,
            ROLLBACK: self._rollback,
            ROLLBACK_WAIT: self._rollback_wait,
            SETTLE: self._settle,
        }

    def changed_anything(self) -> bool:
        p = self.progress
        return p.created or p.deployment_id is not None or p.phase not in (PREPARE, APPLY)

    def fail(self, reason: str) -> Outcome | None:
        return self._fail(reason)

    def supersede(self) -> None:
        p = self.progress
        if p.phase == PREPARE:
            super().supersede()  # nothing sent to the service yet
        elif p.phase in (APPLY, WAIT, VERIFY, AUTOSCALING):
            # the update may have reached ECS: let it finish (or undo it), verify nothing more
            p.phase = SETTLE
        # a rollback under way is finished as it is

    def _settle(self) -> Outcome | None:
        """A superseded deploy: wait until ECS settles; undo it if it fails or overruns."""
        ctx, p = self.ctx, self.progress
        service = self._observe(self._name)
        if p.task_definition_arn is None or service is None:
            return self._superseded()
        health = deployment_health(
            service, deployment_id=p.deployment_id, task_definition_arn=p.task_definition_arn
        )
        if health.status == HealthStatus.HEALTHY or (health.ecs_rolled_back and settled(service)):
            return Outcome(
                Result.OUT_OF_SYNC,
                f"superseded: the deploy of {p.task_definition_arn} settled ({health.message})",
            )
        if health.status == HealthStatus.DEGRADED and not health.ecs_rolled_back:
            return self._fail(f"superseded deploy failed: {health.message}")
        if ctx.clock() >= p.deadline:
            return self._fail(f"superseded deploy did not settle in time ({health.message})")
        heartbeat(ctx, p, f"the superseded deploy of {self._name} to settle: {health.message}")
        return None

    def _prepare(self) -> Outcome | None:
        # not _observe(): the events already there are history, not this rollout's
        live = self._describe(self._name)
        p = self.progress
        if live is not None:
            p.previous_task_definition_arn = live.get("taskDefinition")
            p.previous_desired_count = live.get("desiredCount")
            p.seen_events = [str(e.get("id")) for e in live.get("events") or ()]
        p.task_definition_arn = resolve_task_definition(self.ctx, live)
        self.state.desired_count = desired_count(self.ctx.desired, live)
        self.state.exists = live is not None
        p.phase = APPLY
        return None

    def _apply(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        request = dict(ctx.desired.service or {})
        assert p.task_definition_arn is not None
        count = self.state.desired_count
        assert count is not None
        if not self.state.exists:
            ctx.report(
                f"creating service {self._name} with {p.task_definition_arn} and desired count {count}"
            )
            service = ctx.api.create_service(
                {
                    **request,
                    "taskDefinition": p.task_definition_arn,
                    "desiredCount": count,
                    # ours to prune: prune deletes only what carries its folder's key
                    "tags": with_owner(request.get("tags"), ctx.desired.key),
                }
            )
            p.created = True
        else:
            fields = ctx.api.update_fields(request)
            fields.update(taskDefinition=p.task_definition_arn, desiredCount=count)
            if ctx.desired.deploy.block("rolling").get("forceNewDeployment"):
                fields["forceNewDeployment"] = True
            ctx.report(
                f"updating service {self._name} to {p.task_definition_arn} and desired count {count}"
            )
            service = ctx.api.update_service(cluster=self._cluster, name=self._name, fields=fields)
            p.deployment_id = primary_deployment_id(service)  # changed: a failure must undo it
            if request.get("tags"):
                ctx.api.tag_service(arn=str(service["serviceArn"]), tags=request["tags"])
            # TagResource only adds: a tag git removed is removed by its own call
            ctx.api.untag_service(arn=str(service["serviceArn"]), keys=removed_tags(ctx.plan))
        p.deployment_id = primary_deployment_id(service)
        p.phase = WAIT
        return None

    def _wait(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        assert p.task_definition_arn is not None
        service = self._observe(self._name)
        health = deployment_health(
            service, deployment_id=p.deployment_id, task_definition_arn=p.task_definition_arn
        )
        if health.status == HealthStatus.HEALTHY:
            p.phase = VERIFY
            return self._verify()  # observe at once: no poll interval between the two
        if health.status in (HealthStatus.DEGRADED, HealthStatus.MISSING):
            return self._fail(health.message, ecs_rolled_back=health.ecs_rolled_back)
        if ctx.clock() >= p.deadline:
            timeout = ctx.desired.deploy.timeout_seconds
            return self._fail(
                f"timed out after {timeout:g}s waiting for steady state ({health.message})"
            )
        heartbeat(ctx, p, f"steady state of {self._name}: {health.message}")
        return None

    def _verify(self) -> Outcome | None:
        verification = verify_step(self.ctx, self.progress)
        if verification.verdict == Verdict.FAILED:
            return self._fail(f"verification failed: {verification.message}")
        if verification.verdict == Verdict.PASSED:
            self.progress.phase = AUTOSCALING
            return self._autoscaling()
        return None

    def _autoscaling(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        desired = ctx.desired
        if ctx.plan.autoscaling_changes or p.created:
            ctx.api.apply_autoscaling(
                target=desired.scalable_target, policies=desired.scaling_policies
            )
        return Outcome(
            Result.SYNCED,
            f"deployed {p.task_definition_arn}",
            task_definition_arn=p.task_definition_arn,
        )

    def _fail(self, reason: str, *, ecs_rolled_back: bool = False) -> Outcome | None:
        p = self.progress
        p.failure = reason
        self.state.ecs_rolled_back = ecs_rolled_back
        p.phase = ROLLBACK
        self.ctx.report(f"deploy failed: {reason}; rolling back")
        return None

    def _rollback(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        if not self.state.ecs_rolled_back:
            if p.previous_task_definition_arn:
                fields: JsonDict = {"taskDefinition": p.previous_task_definition_arn}
                if p.previous_desired_count is not None:
                    fields["desiredCount"] = p.previous_desired_count
                ctx.report(f"restoring {p.previous_task_definition_arn}")
                ctx.api.update_service(cluster=self._cluster, name=self._name, fields=fields)
            else:
                # a service created by this rollout has nothing to go back to: scale it to 0
                ctx.report(f"scaling new service {self._name} to 0")
                ctx.api.update_service(
                    cluster=self._cluster, name=self._name, fields={"desiredCount": 0}
                )
        # the rollback gets as long as the deploy had
        p.deadline = ctx.clock() + ctx.desired.deploy.timeout_seconds
        p.phase = ROLLBACK_WAIT
        return None

    def _rollback_wait(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        service = self._observe(self._name)
        restored = service.get("taskDefinition") if service else None
        if settled(service):
            return Outcome(
                Result.ROLLED_BACK if p.previous_task_definition_arn else Result.FAILED,
                f"deploy of {p.task_definition_arn} failed: {p.failure}; "
                + (
                    f"{restored} restored"
                    if p.previous_task_definition_arn
                    else "service scaled to 0"
                ),
                task_definition_arn=restored,
                failure_reason=p.failure,
                restored_task_definition_arn=restored if p.previous_task_definition_arn else None,
            )
        if ctx.clock() >= p.deadline:
            return Outcome(
                Result.FAILED,
                f"deploy of {p.task_definition_arn} failed: {p.failure}; the rollback did not settle in time",
                task_definition_arn=restored,
                failure_reason=p.failure,
            )
        return None


# what the registry runs for this strategy
ROLLOUT = RollingRollout
