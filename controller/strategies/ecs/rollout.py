"""The ``ecs`` strategy: ECS runs the deployment service.yaml declares; the controller follows it.

service.yaml's ``deploymentConfiguration`` (ROLLING, BLUE_GREEN, LINEAR or CANARY, bake time,
alarms, lifecycle hooks) is ECS's to carry out. The rollout registers the task definition and
creates or updates the service exactly as the rolling strategy does (its phases are called,
not copied), then finds the service deployment that update started (ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions: the one created after the update whose
target revision runs the task definition it set, never simply the newest), records its ARN,
and follows it with DescribeServiceDeployments until it ends:

- SUCCESSFUL: deploy.yaml ``verify`` (already run during ECS's bake time when there is one),
  then autoscaling: Synced;
- ROLLBACK_SUCCESSFUL: RolledBack, with why ECS rolled back (its rollback reason, the alarms
  that triggered, the circuit breaker, a failed hook);
- ROLLBACK_FAILED or STOPPED: Failed with ECS's statusReason.

The controller's own rollback (deploy.yaml ``timeout``, a failed ``verify``) is ECS's:
StopServiceDeployment(ROLLBACK), then waiting for ROLLBACK_SUCCESSFUL. No second UpdateService
is ever sent into a deployment in flight; only once ECS's deployment has ended (a verify that
fails after a deployment without bake time) does the rolling strategy's UpdateService rollback
restore the previous revision. Does I/O through the rollout context; the functions that read
ECS's answers (``choose_deployment``, ``rollback_reason``, ``stage_line``) are pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from controller.core.native_deployments import swapped_by_ecs
from controller.core.outcome import Outcome, Result
from controller.strategies.base import RolloutState, heartbeat, primary_deployment_id
from controller.strategies.rolling.rollout import (
    APPLY,
    AUTOSCALING,
    PREPARE,
    ROLLBACK,
    ROLLBACK_WAIT,
    SETTLE,
    VERIFY,
    WAIT,
    RollingRollout,
    RollingState,
)
from controller.strategies.verify import Verdict, verify_step

JsonDict = dict[str, Any]

# Phases of their own (the rolling phases above are reused as they are): FIND until ECS's
# service deployment is found, then one phase per ECS lifecycle stage while it runs, STOP and
# ECS_ROLLBACK_WAIT when the controller asks ECS to roll back.
FIND, DEPLOYING, STOP, ECS_ROLLBACK_WAIT = "find-deployment", "deploying", "stop", "ecs-rollback"
# ECS waits on a PAUSE lifecycle hook: the pass ends Progressing, the next one looks again
PAUSED = "paused"

# ServiceDeployment.lifecycleStage, in the order ECS runs them
LIFECYCLE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
# ServiceDeployment.status values after which ECS does nothing more with the deployment
ENDED = frozenset({"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
# statuses in which a rollback (ECS's or one asked for) is under way
ROLLING_BACK = frozenset({"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"})

# The status details' key for the service deployment followed.
ARN_KEY = "serviceDeploymentArn"


@dataclass
class EcsState(RollingState):
    """What the rollout learnt of ECS's deployment (the journal survives restarts)."""

    service_deployment_arn: str | None = None
    # when the update started it (ECS's clock when it has one): the deployment is found after it
    applied_at: float | None = None
    # the last progress line reported of it (a line is reported when it changes)
    ecs_stage: str | None = None
    # verify already passed during ECS's bake time (not run again after SUCCESSFUL)
    verified_in_bake: bool = False
    # the update started no new ECS deployment (only the count or tags changed)
    no_ecs_deployment: bool = False
    previous_deployment_id: str | None = None
    # when the rollout last saw ECS wait for approval (that wait does not count against the
    # timeout), and at which stage
    paused_at: float | None = None
    paused_stage: str | None = None
    # the live loadBalancers are git's after ECS swapped the target groups: not sent
    keep_load_balancers: bool = False
    # StopServiceDeployment was sent (a resumed rollout does not send it twice)
    stop_sent: bool = False


# How much earlier than the update's own deployment a service deployment may say it was
# created and still be the update's (ECS stamps the two separately).
CREATED_TOLERANCE_SECONDS = 5.0


def stage_phase(stage: str) -> str:
    """The rollout phase while ECS is in a lifecycle stage: ``BAKE_TIME`` -> ``bake-time``."""
    return stage.lower().replace("_", "-")


def _epoch(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def choose_deployment(
    deployments: Iterable[JsonDict],
    revisions: Mapping[str, JsonDict],
    *,
    task_definition_arn: str,
    not_before: float,
) -> JsonDict | None:
    """This rollout's service deployment among ``deployments`` (DescribeServiceDeployments).

    Ours: created no earlier than the update (``not_before``, ECS's clock, less a tolerance),
    and its target revision (``revisions`` by ARN, DescribeServiceRevisions) runs the task
    definition the update set. Of several such, the first created: a later one was started by
    someone else after us.
    """
    earliest = not_before - CREATED_TOLERANCE_SECONDS
    candidates = []
    for deployment in deployments:
        created = _epoch(deployment.get("createdAt"))
        if created is None or created < earliest:
            continue
        target = (deployment.get("targetServiceRevision") or {}).get("arn")
        revision = revisions.get(str(target)) if target else None
        if revision is None or revision.get("taskDefinition") != task_definition_arn:
            continue
        candidates.append((created, str(deployment.get("serviceDeploymentArn")), deployment))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


def awaiting_hook(deployment: JsonDict) -> JsonDict | None:
    """The PAUSE lifecycle hook ECS waits on for approval (AWAITING_ACTION), if any."""
    for hook in deployment.get("lifecycleHookDetails") or ():
        if hook.get("status") == "AWAITING_ACTION":
            return dict(hook)
    return None


def rollback_reason(deployment: JsonDict, *, paused_stage: str | None = None) -> str:
    """Why ECS rolled a deployment back, in words: alarms, circuit breaker, hooks, its reason.

    A PAUSE hook answered with a rollback is a rejection: "rejected at STAGE" (the stage where
    the rollout saw ECS wait, ``paused_stage``, else the deployment's).
    """
    stage = paused_stage or deployment.get("lifecycleStage") or "a lifecycle hook"
    for hook in deployment.get("lifecycleHookDetails") or ():
        if hook.get("targetType") == "PAUSE" and hook.get("status") == "FAILED":
            return f"rejected at {stage}"
    parts: list[str] = []
    triggered = (deployment.get("alarms") or {}).get("triggeredAlarmNames") or []
    if triggered:
        names = ", ".join(str(n) for n in triggered)
        parts.append(f"alarm{'s' if len(triggered) > 1 else ''} {names} in ALARM")
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    if breaker.get("status") == "TRIGGERED":
        count = breaker.get("failureCount")
        parts.append(
            "the deployment circuit breaker triggered"
            + (f" ({count} failed tasks)" if count is not None else "")
        )
    for hook in deployment.get("lifecycleHookDetails") or ():
        if hook.get("status") in ("FAILED", "TIMED_OUT"):
            what = hook.get("targetArn") or hook.get("hookId") or "a lifecycle hook"
            parts.append(f"lifecycle hook {what} {str(hook['status']).lower().replace('_', ' ')}")
    reason = (deployment.get("rollback") or {}).get("reason") or deployment.get("statusReason")
    if reason:
        parts.append(str(reason).rstrip("."))  # joined with "; ", not ended
    return "; ".join(parts) or "ECS rolled the deployment back without saying why"


def _weights(revisions: Sequence[JsonDict]) -> str:
    shown = []
    for revision in revisions:
        production = revision.get("requestedProductionTrafficWeight")
        test = revision.get("requestedTestTrafficWeight")
        if production is None and test is None:
            continue
        name = str(revision.get("arn", "")).rsplit("/", 1)[-1]
        weights = f"production {production:g}%" if production is not None else ""
        if test is not None:
            weights += (", " if weights else "") + f"test {test:g}%"
        shown.append(f"{name}: {weights}")
    return "; ".join(shown)


def stage_line(deployment: JsonDict) -> str:
    """One progress line: ECS's status and lifecycle stage, tasks and traffic weights."""
    status = deployment.get("status", "?")
    stage = deployment.get("lifecycleStage")
    target = deployment.get("targetServiceRevision") or {}
    line = f"ECS deployment {status}" + (f" at {stage}" if stage else "")
    if "runningTaskCount" in target or "requestedTaskCount" in target:
        line += (
            f": new revision {target.get('runningTaskCount', 0)}"
            f"/{target.get('requestedTaskCount', 0)} tasks running"
        )
    weights = _weights([target, *(deployment.get("sourceServiceRevisions") or [])])
    return line + (f"; traffic {weights}" if weights else "")


class EcsNativeRollout(RollingRollout):
    """An ECS-run deployment of one service, followed one observation per ``step()``."""

    acting_phases = RollingRollout.acting_phases | {STOP}
    state_type: type[RolloutState] = EcsState

    @property
    def state(self) -> EcsState:
        return self.progress.state(EcsState)

    def handlers(self) -> Mapping[str, Callable[[], Outcome | None]]:
        handlers = dict(super().handlers())
        handlers.update(
            {
                PREPARE: self._prepare_native,
                APPLY: self._apply_native,
                FIND: self._find,
                DEPLOYING: self._follow,
                VERIFY: self._verify_native,
                AUTOSCALING: self._finish,
                STOP: self._stop,
                ECS_ROLLBACK_WAIT: self._ecs_rollback_wait,
                PAUSED: self._follow,
            }
        )
        handlers.update({stage_phase(stage): self._follow for stage in LIFECYCLE_STAGES})
        return handlers

    @property
    def _arn(self) -> str | None:
        return self.state.service_deployment_arn or None

    def _details(self) -> dict[str, object]:
        return {ARN_KEY: self._arn} if self._arn else {}

    def _rollback_wait(self) -> Outcome | None:
        # a deployment that succeeded just as the controller asked ECS to roll it back is undone
        # the rolling way: its outcome still names the service deployment it followed
        outcome = super()._rollback_wait()
        if outcome is None:
            return None
        return replace(outcome, details={**self._details(), **outcome.details})

    def supersede(self) -> None:
        p = self.progress
        if p.phase == PREPARE:
            super().supersede()
        elif p.phase == PAUSED:
            # an approval gate of a state git no longer wants: ECS rolls it back
            p.failure = f"superseded while paused at {self.state.paused_stage}"
            p.phase = STOP
        elif p.phase not in (ROLLBACK, ROLLBACK_WAIT, STOP, ECS_ROLLBACK_WAIT, SETTLE):
            # the update reached ECS: let its deployment end (a failure is rolled back by ECS)
            p.phase = SETTLE

    # -- apply: the rolling strategy's, plus where ECS's deployment is to be found ----------

    def _prepare_native(self) -> Outcome | None:
        live = self._describe(self._name)
        # to tell, after the update, whether it started a deployment at all
        self.state.previous_deployment_id = primary_deployment_id(live) if live else None
        wanted = (self.ctx.desired.service or {}).get("loadBalancers") or []
        if live is not None and swapped_by_ecs(wanted, live.get("loadBalancers") or []):
            self.state.keep_load_balancers = True
        return self._prepare()

    def _apply_native(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        if self.state.keep_load_balancers and self.state.exists:
            # the rolling apply sends service.yaml as it is: for this one update, without the
            # loadBalancers ECS swapped (ECS keeps its own)
            service = {k: v for k, v in (ctx.desired.service or {}).items() if k != "loadBalancers"}
            self.ctx = replace(ctx, desired=replace(ctx.desired, service=service))
            ctx.report("loadBalancers not sent: they are git's, with ECS's blue/green swap")
        try:
            outcome = self._apply()
        finally:
            self.ctx = ctx
        if outcome is not None:
            return outcome
        if not p.created and p.deployment_id == self.state.previous_deployment_id:
            # nothing ECS deploys changed (the count, tags): no deployment to follow
            self.state.no_ecs_deployment = True
            return None  # the rolling WAIT phase watches the service settle
        service = self._describe(self._name) or {}
        created = next(
            (
                _epoch(d.get("createdAt"))
                for d in service.get("deployments") or ()
                if str(d.get("id")) == p.deployment_id
            ),
            None,
        )
        # ECS's own clock when it has one; this machine's otherwise
        self.state.applied_at = created if created is not None else ctx.clock()
        p.phase = FIND
        return None

    def _find(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        assert p.task_definition_arn is not None
        applied_at = self.state.applied_at
        assert applied_at is not None
        after = datetime.fromtimestamp(applied_at - CREATED_TOLERANCE_SECONDS, tz=UTC)
        briefs = ctx.api.list_service_deployments(
            cluster=self._cluster, name=self._name, created_after=after
        )
        arns = [str(b["serviceDeploymentArn"]) for b in briefs if b.get("serviceDeploymentArn")]
        deployments = ctx.api.describe_service_deployments(arns) if arns else []
        targets = sorted(
            {
                str(t["arn"])
                for d in deployments
                if (t := d.get("targetServiceRevision") or {}).get("arn")
            }
        )
        revisions = {
            str(r.get("serviceRevisionArn")): r
            for r in (ctx.api.describe_service_revisions(targets) if targets else [])
        }
        ours = choose_deployment(
            deployments,
            revisions,
            task_definition_arn=p.task_definition_arn,
            not_before=applied_at,
        )
        if ours is None:
            if ctx.clock() >= p.deadline:
                return self._unfollowed("ECS reported no service deployment of it in time")
            heartbeat(ctx, p, f"ECS's service deployment of {self._name} to appear")
            return None
        self.state.service_deployment_arn = str(ours["serviceDeploymentArn"])
        ctx.report(f"following ECS service deployment {self.state.service_deployment_arn}")
        p.phase = DEPLOYING
        return self._follow(ours)

    def _unfollowed(self, reason: str) -> Outcome:
        """A deployment the controller cannot follow: left to ECS (no second UpdateService)."""
        p = self.progress
        return Outcome(
            Result.FAILED,
            f"deploy of {p.task_definition_arn}: {reason}; left to ECS",
            task_definition_arn=p.task_definition_arn,
            failure_reason=reason,
            details=self._details(),
        )

    # -- following ECS's deployment ----------------------------------------------------------

    def _deployment(self) -> JsonDict | None:
        arn = self._arn
        if arn is None:
            return None
        found = self.ctx.api.describe_service_deployments([arn])
        return found[0] if found else None

    def _report_stage(self, deployment: JsonDict) -> None:
        p = self.progress
        seen = (deployment.get("status"), deployment.get("lifecycleStage"))
        line = stage_line(deployment)
        if self.state.ecs_stage != line:
            self.state.ecs_stage = line
            self.ctx.report(line)
        stage = seen[1]
        if seen[0] not in ROLLING_BACK and stage in LIFECYCLE_STAGES:
            p.phase = stage_phase(str(stage))

    def _follow(self, observed: JsonDict | None = None) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        paused_at, self.state.paused_at = self.state.paused_at, None
        if paused_at is not None:
            # the time ECS waited for approval does not count against the timeout
            p.deadline += max(0.0, ctx.clock() - float(paused_at))
        self._observe(self._name)  # ECS's service events, as progress lines
        deployment = observed or self._deployment()
        if deployment is None:
            return self._unfollowed(f"ECS no longer knows service deployment {self._arn}")
        self._report_stage(deployment)
        status = str(deployment.get("status"))
        if status == "SUCCESSFUL":
            if self.state.verified_in_bake:
                p.phase = AUTOSCALING
                return self._finish()
            p.phase = VERIFY
            return self._verify_native()
        if status == "ROLLBACK_SUCCESSFUL":
            paused_stage = self.state.paused_stage
            reason = rollback_reason(deployment, paused_stage=paused_stage)
            return self._ecs_rolled_back(reason=reason)
        if status in ENDED:  # STOPPED, ROLLBACK_FAILED
            return self._ecs_failed(deployment)
        hook = awaiting_hook(deployment) if status not in ROLLING_BACK else None
        if hook is not None:
            return self._await_approval(deployment, hook)
        baking = status not in ROLLING_BACK and deployment.get("lifecycleStage") == "BAKE_TIME"
        if baking and not self.state.verified_in_bake:
            # production traffic is on the new revision: verify while ECS can still roll back
            verification = verify_step(ctx, p)
            if verification.verdict == Verdict.FAILED:
                return self._fail(f"verification failed: {verification.message}")
            if verification.verdict == Verdict.PASSED:
                self.state.verified_in_bake = True
        if ctx.clock() >= p.deadline:
            timeout = ctx.desired.deploy.timeout_seconds
            return self._fail(f"timed out after {timeout:g}s ({stage_line(deployment)})")
        heartbeat(ctx, p, stage_line(deployment))
        return None

    def _await_approval(self, deployment: JsonDict, hook: JsonDict) -> Outcome:
        """ECS waits on a PAUSE hook: end this pass Progressing, phase paused (the journal
        keeps the rollout; the next pass looks again), with the hook's stage and expiry."""
        ctx, p = self.ctx, self.progress
        stage = str(deployment.get("lifecycleStage") or "a lifecycle stage")
        expires = hook.get("expiresAt")
        until = expires.isoformat() if isinstance(expires, datetime) else expires
        p.phase = PAUSED
        self.state.paused_at = ctx.clock()
        self.state.paused_stage = stage
        key = ctx.desired.key
        ctx.report(
            f"paused at {stage}: ECS waits for approval"
            + (f" until {until}" if until else "")
            + f" (ecs-gitops approve {key}, or --reject)"
        )
        gate: dict[str, object] = {"stage": stage, "hookId": hook.get("hookId")}
        if until:
            gate["expiresAt"] = str(until)
        return Outcome(
            Result.PROGRESSING,
            f"paused at {stage}: awaiting approval (ecs-gitops approve {key})",
            task_definition_arn=p.task_definition_arn,
            details={"phase": PAUSED, "rollout": p.to_dict(), **self._details(), "hook": gate},
        )

    def _verify_native(self) -> Outcome | None:
        outcome = self._verify()  # the rolling phase: on success it moves on to autoscaling
        if outcome is not None and outcome.result is Result.SYNCED:
            return self._finish(outcome)
        return outcome

    def _finish(self, synced: Outcome | None = None) -> Outcome | None:
        outcome = synced or self._autoscaling()
        if outcome is None or outcome.result is not Result.SYNCED:
            return outcome
        return Outcome(
            Result.SYNCED,
            outcome.message,
            task_definition_arn=outcome.task_definition_arn,
            details={**outcome.details, **self._details()},
        )

    def _ecs_rolled_back(self, *, reason: str) -> Outcome:
        p = self.progress
        service = self._describe(self._name) or {}
        restored = service.get("taskDefinition")
        return Outcome(
            Result.ROLLED_BACK,
            f"deploy of {p.task_definition_arn} failed: {reason}; ECS rolled back to {restored}",
            task_definition_arn=str(restored) if restored else None,
            failure_reason=reason,
            restored_task_definition_arn=str(restored) if restored else None,
            details=self._details(),
        )

    def _ecs_failed(self, deployment: JsonDict) -> Outcome:
        p = self.progress
        status = deployment.get("status")
        why = deployment.get("statusReason") or f"ECS ended the deployment {status}"
        reason = f"{p.failure}; then {why}" if p.failure else str(why)
        return Outcome(
            Result.FAILED,
            f"deploy of {p.task_definition_arn} {str(status).lower().replace('_', ' ')}: {reason}",
            task_definition_arn=p.task_definition_arn,
            failure_reason=reason,
            details=self._details(),
        )

    # -- the controller's own rollback: ECS's --------------------------------------------------

    def _fail(self, reason: str, *, ecs_rolled_back: bool = False) -> Outcome | None:
        p = self.progress
        if self._arn is not None:
            p.failure = reason
            p.phase = STOP
            self.ctx.report(f"deploy failed: {reason}; asking ECS to roll back")
            return None
        if self.state.no_ecs_deployment or p.phase in (PREPARE, APPLY, WAIT):
            # no ECS deployment is in flight: the rolling strategy's undo is safe
            return super()._fail(reason, ecs_rolled_back=ecs_rolled_back)
        return self._unfollowed(reason)

    def _stop(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        deployment = self._deployment()
        status = None if deployment is None else deployment.get("status")
        if status == "SUCCESSFUL":
            # ECS's deployment ended before it could be stopped: nothing of it is in flight,
            # so the rolling strategy's UpdateService restores the previous revision
            ctx.report("ECS's deployment already ended; restoring the previous revision")
            return RollingRollout._fail(self, str(p.failure))
        if deployment is None or status in ENDED:
            return self._ended_while_stopping(deployment)
        if status not in ROLLING_BACK and not self.state.stop_sent:
            assert self._arn is not None
            ctx.report(f"stopping ECS service deployment {self._arn} with a rollback")
            ctx.api.stop_service_deployment(self._arn, rollback=True)
            self.state.stop_sent = True
        # the rollback gets as long as the deploy had
        p.deadline = ctx.clock() + ctx.desired.deploy.timeout_seconds
        p.phase = ECS_ROLLBACK_WAIT
        return None

    def _ended_while_stopping(self, deployment: JsonDict | None) -> Outcome:
        p = self.progress
        if deployment is not None and deployment.get("status") == "ROLLBACK_SUCCESSFUL":
            # the controller's reason when it asked for the rollback; ECS's when ECS did
            asked = self.state.stop_sent
            reason = str(p.failure) if asked else rollback_reason(deployment)
            return self._ecs_rolled_back(reason=reason)
        if deployment is None:
            return self._unfollowed(f"{p.failure}; ECS no longer knows its deployment")
        return self._ecs_failed(deployment)

    def _ecs_rollback_wait(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        self._observe(self._name)
        deployment = self._deployment()
        if deployment is not None:
            self._report_stage(deployment)
        status = None if deployment is None else deployment.get("status")
        if status == "SUCCESSFUL":
            p.phase = STOP  # it ended before the stop took: undo it the rolling way
            return None
        if deployment is None or status in ENDED:
            return self._ended_while_stopping(deployment)
        if ctx.clock() >= p.deadline:
            return Outcome(
                Result.FAILED,
                f"deploy of {p.task_definition_arn} failed: {p.failure}; "
                "ECS's rollback did not end in time",
                task_definition_arn=p.task_definition_arn,
                failure_reason=p.failure,
                details=self._details(),
            )
        heartbeat(ctx, p, f"ECS to roll back {self._name}: {stage_line(deployment or {})}")
        return None


# what the registry runs for this strategy
ROLLOUT = EcsNativeRollout
