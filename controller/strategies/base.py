"""What every strategy shares: the rollout context, the progress record, and the step loop.

Does I/O only through the context's adapters (``EcsApi``, ``ElbApi``), clock and sleep (all
injectable): a rollout builds no adapter of its own.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol, Self, TypeVar

from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi
from controller.core.failure_cause import FailureCause
from controller.core.model import DesiredService
from controller.core.outcome import Outcome, Result
from controller.core.plan import ServicePlan
from controller.errors import EcsGitopsError

JsonDict = dict[str, Any]


@dataclass
class RolloutContext:
    """Everything a rollout needs besides its own progress."""

    desired: DesiredService
    plan: ServicePlan
    api: EcsApi
    # the listeners and target groups blue-green swaps (the service's environment's)
    elb: ElbApi
    commit: str
    # (digest, arn) pairs the status file remembers, newest first
    known_revisions: tuple[tuple[str, str], ...] = ()
    poll_seconds: float = 5.0
    clock: Callable[[], float] = time.time
    # None: wait on ``stop`` between observations (wakes at once when asked to stop)
    sleep: Callable[[float], None] | None = None
    report: Callable[[str], None] = lambda line: None
    # set when the controller is asked to stop: the rollout pauses at its next safe point
    stop: threading.Event = field(default_factory=threading.Event)
    # called with the progress after every step, so that a restarted controller can resume
    checkpoint: Callable[[Progress], None] = lambda progress: None
    # reads why a failed deployment failed (service, deployment id, task definition): the
    # stopped tasks, target health and service events ECS recorded; None: not looked up
    diagnose: Callable[[str, str | None, str | None], FailureCause] | None = None


def _journal_key(name: str) -> str:
    """A field's key in the journal: ``desired_count`` -> ``desiredCount``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass
class RolloutState:
    """What a strategy remembers of its rollout beside the common progress: a typed record.

    Each strategy declares its own (a subclass with the fields it needs). It is journaled as
    the progress record's ``extra`` mapping, its fields under camelCase keys (``desiredCount``),
    unset ones left out: the keys journals have always had, so that a journal written by an
    earlier version resumes. Keys a strategy does not know are ignored.
    """

    # when a long wait last said where it was (``heartbeat``)
    heartbeat_at: float | None = None
    # when the open verify window closes (``verify.verify_step``)
    verify_until: float | None = None

    def to_record(self) -> JsonDict:
        values = {_journal_key(f.name): getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Self:
        names = {_journal_key(f.name): f.name for f in fields(cls)}
        return cls(**{names[k]: v for k, v in record.items() if k in names})


StateT = TypeVar("StateT", bound=RolloutState)


@dataclass
class Progress:
    """A rollout's progress: plain data, written to the status file while it runs."""

    phase: str
    started_at: float
    deadline: float
    task_definition_arn: str | None = None
    deployment_id: str | None = None
    previous_task_definition_arn: str | None = None
    previous_desired_count: int | None = None
    created: bool = False
    failure: str | None = None
    seen_events: list[str] = field(default_factory=list)
    # the strategy's own record (its ``PhasedRollout.state_type``)
    extra: RolloutState = field(default_factory=RolloutState)

    def to_dict(self) -> JsonDict:
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record.pop("seen_events")
        record["extra"] = self.extra.to_record()
        # a copy: the record outlives this step (journal, status details), the progress goes on
        return copy.deepcopy({k: v for k, v in record.items() if v not in (None, {}, [])})

    def state(self, kind: type[StateT]) -> StateT:
        """The strategy's record, as the type the strategy declared."""
        assert isinstance(self.extra, kind), f"{type(self.extra).__name__} is no {kind.__name__}"
        return self.extra

    @staticmethod
    def begin(ctx: RolloutContext, phase: str, *, state: RolloutState | None = None) -> Progress:
        """A rollout's progress at its start: the deadline is deploy.yaml's ``timeout`` from now."""
        now = ctx.clock()
        return Progress(
            phase=phase,
            started_at=now,
            deadline=now + ctx.desired.deploy.timeout_seconds,
            extra=state or RolloutState(),
        )

    @staticmethod
    def from_dict(record: JsonDict, state_type: type[RolloutState] = RolloutState) -> Progress:
        """A journaled progress record, its ``extra`` read as the strategy's ``state_type``."""
        known = set(Progress.__dataclass_fields__)
        progress = Progress(**{k: v for k, v in record.items() if k in known and k != "extra"})
        progress.extra = state_type.from_record(record.get("extra") or {})
        return progress


class Rollout(Protocol):
    """A strategy's state machine."""

    progress: Progress

    def step(self) -> Outcome | None:
        """Advance one step from observed state; return the outcome once finished."""
        ...

    def refused(self, reason: str) -> Outcome | None:
        """End the rollout after an error no retry fixes (see ``PhasedRollout.refused``)."""
        ...

    def supersede(self) -> None:
        """Turn a resumed rollout whose desired state git no longer asks for to its safe end."""
        ...

    def waits(self) -> bool:
        """Whether the next step begins by observing ECS (``drive`` pauses first), or acts at once."""
        ...


# The phase of a superseded rollout that has nothing left to wait for or undo.
SUPERSEDED = "superseded"


class PhasedRollout:
    """What the strategies share: a progress record, and a ``step()`` that runs its phase.

    A strategy names its handlers by phase (``handlers()``); the service calls go through
    ``_describe`` (a look) and ``_observe`` (a look that also reports new ECS events).
    """

    first_phase = "prepare"
    # the strategy's typed record of its rollout (journaled as the progress's ``extra``)
    state_type: type[RolloutState] = RolloutState
    # phases that act (register, create, update, delete...) rather than wait on ECS: ``drive``
    # runs them right after the step before, with no poll interval between
    acting_phases: frozenset[str] = frozenset()

    def __init__(self, ctx: RolloutContext, progress: Progress | None = None) -> None:
        self.ctx = ctx
        self.progress = progress or Progress.begin(ctx, self.first_phase, state=self.state_type())

    @classmethod
    def resume(cls, ctx: RolloutContext, record: JsonDict) -> Self:
        """The rollout a journaled progress record (``Progress.to_dict``) left off at."""
        return cls(ctx, Progress.from_dict(record, cls.state_type))

    def handlers(self) -> Mapping[str, Callable[[], Outcome | None]]:
        raise NotImplementedError

    def step(self) -> Outcome | None:
        if self.progress.phase == SUPERSEDED:
            return self._superseded()
        return self.handlers()[self.progress.phase]()

    def waits(self) -> bool:
        phase = self.progress.phase
        return phase != SUPERSEDED and phase not in self.acting_phases

    def failing_service(self) -> str | None:
        """The service whose new tasks tell why a failed rollout failed (None: no service)."""
        return self.ctx.desired.service_name

    def refused(self, reason: str) -> Outcome | None:
        """A step failed in a way no retry fixes (AWS refused the request, a resource is gone).

        The rollout ends: what it changed is undone by the strategy's own failure path, and
        the outcome carries ``failure_reason`` so that a marker holds this desired state. A
        refusal while undoing ends the rollout at once (no loop).
        """
        p = self.progress
        if p.failure is not None:
            return Outcome(
                Result.FAILED,
                f"deploy of {p.task_definition_arn} failed: {p.failure}; undoing it failed too: {reason}",
                failure_reason=p.failure,
            )
        if not self.changed_anything():
            self.ctx.report(f"deploy refused: {reason}")
            return Outcome(
                Result.FAILED,
                f"deploy of {p.task_definition_arn or 'the new task definition'} refused, "
                f"nothing was changed: {reason}",
                failure_reason=reason,
            )
        return self.fail(reason)

    def changed_anything(self) -> bool:
        """Whether this rollout may have changed a service (then a failure must undo it)."""
        return True

    def fail(self, reason: str) -> Outcome | None:
        """Enter the strategy's failure path (undo what was changed, then report)."""
        raise NotImplementedError

    def supersede(self) -> None:
        """Git no longer asks for this rollout's desired state: finish it safely.

        Called on a resumed rollout before it is driven to its end. No new change is made for
        the superseded state: what was applied is waited on until ECS settles, and undone if
        it fails; what was only prepared is dropped. The default: nothing was applied.
        """
        self.progress.phase = SUPERSEDED

    def _superseded(self) -> Outcome | None:
        return Outcome(Result.OUT_OF_SYNC, "superseded: nothing of it was applied")

    @property
    def _cluster(self) -> str:
        return self.ctx.desired.cluster

    def _describe(self, name: str) -> JsonDict | None:
        return self.ctx.api.describe_service(cluster=self._cluster, name=name)

    def _observe(self, name: str) -> JsonDict | None:
        service = self._describe(name)
        stream_events(self.ctx, self.progress, service)
        return service


# The first pause before trying a step again after a retryable error; it doubles on each
# further failure of that step, capped by the poll interval and the rollout's deadline.
RETRY_FIRST_PAUSE_SECONDS = 0.5


def drive(rollout: Rollout, ctx: RolloutContext) -> Outcome:
    """Step a rollout until it finishes, pausing ``poll_seconds`` before each observation.

    Steps that act follow one another at once (``Rollout.waits``): a pause is only ever spent
    waiting on ECS. Every step is checkpointed. When ``ctx.stop`` is set, the rollout pauses
    between two steps (ECS goes on by itself) and reports Progressing; resuming it from the
    checkpoint picks up where it left. An error that no retry fixes ends the rollout through
    its own failure path; a retryable one (throttling, 5xx, network) has the step tried again
    after a growing pause with jitter, until the rollout's deadline.
    """
    failures = 0  # consecutive retryable failures of the current step
    while True:
        try:
            outcome = rollout.step()
            failures = 0
        except EcsGitopsError as e:
            now = ctx.clock()
            if e.retryable and now < rollout.progress.deadline:
                failures += 1
                pause = retry_pause(
                    failures, poll_seconds=ctx.poll_seconds, left=rollout.progress.deadline - now
                )
                ctx.report(f"retrying in {pause:.1f}s (attempt {failures + 1}): {e}")
                ctx.checkpoint(rollout.progress)
                if ctx.stop.is_set():
                    return _paused(rollout, ctx.stop)
                _pause(ctx, pause)
                continue
            # refused as invalid, or still failing at the deadline: retrying cannot help
            reason = str(e) if not e.retryable else f"still failing at the deadline: {e}"
            outcome = rollout.refused(reason)
        ctx.checkpoint(rollout.progress)
        if outcome is not None:
            return with_cause(rollout, ctx, outcome)
        if ctx.stop.is_set():
            return _paused(rollout, ctx.stop)
        if rollout.waits():
            _pause(ctx, ctx.poll_seconds)


def with_cause(rollout: Rollout, ctx: RolloutContext, outcome: Outcome) -> Outcome:
    """A failed or rolled-back outcome with the cause ECS recorded added to its reason and
    message (the stopped tasks' reasons, stop codes and exit codes; unhealthy targets), and the
    service's newest events in ``details.events``. Reading the cause is best effort."""
    failed = outcome.result in (Result.ROLLED_BACK, Result.FAILED)
    p = rollout.progress
    if ctx.diagnose is None or not failed or outcome.failure_reason is None:
        return outcome
    service = rollout.failing_service() if isinstance(rollout, PhasedRollout) else None
    if service is None or (p.deployment_id is None and p.task_definition_arn is None):
        return outcome  # nothing of ours reached ECS: no task of it can tell
    cause = ctx.diagnose(service, p.deployment_id, p.task_definition_arn)
    reason = cause.explain(outcome.failure_reason)
    details = dict(outcome.details)
    if cause.events:
        details["events"] = cause.event_details()
    message = outcome.message.replace(outcome.failure_reason, reason, 1)
    if message == outcome.message and reason != outcome.failure_reason:
        message = f"{message}; {cause.sentence()}"
    return replace(outcome, failure_reason=reason, message=message, details=details)


def retry_pause(failures: int, *, poll_seconds: float, left: float) -> float:
    """The pause before trying a step again after its ``failures``-th retryable failure in a row.

    Exponential from ``RETRY_FIRST_PAUSE_SECONDS``, capped by the poll interval and the time
    left before the deadline, with "equal jitter" (half fixed, half random) so that rollouts
    throttled together do not all come back at the same moment.
    """
    growing = RETRY_FIRST_PAUSE_SECONDS * 2.0 ** min(failures - 1, 30)
    ceiling = max(min(growing, poll_seconds, left), 0.0)
    return ceiling / 2 + random.uniform(0.0, ceiling / 2)


def _pause(ctx: RolloutContext, seconds: float) -> None:
    if ctx.sleep is None:
        ctx.stop.wait(seconds)
    else:
        ctx.sleep(seconds)


def _paused(rollout: Rollout, stop: threading.Event) -> Outcome:
    phase = rollout.progress.phase
    # a stop event may say why it was set (``reason``, e.g. the lease of a unit lost); without
    # one, the controller itself is stopping
    reason = getattr(stop, "reason", None)
    why = (
        f": {reason}"
        if isinstance(reason, str) and reason
        else " when the controller stopped; resumes on its next start"
    )
    return Outcome(
        Result.PROGRESSING,
        f"paused in phase {phase}{why}",
        task_definition_arn=rollout.progress.task_definition_arn,
        details={"phase": phase, "rollout": rollout.progress.to_dict()},
    )


def stream_events(ctx: RolloutContext, progress: Progress, service: JsonDict | None) -> None:
    """Report the service's ECS events not yet seen, oldest first."""
    if not service:
        return
    seen = set(progress.seen_events)
    fresh = [e for e in service.get("events") or () if e.get("id") not in seen]
    for event in reversed(fresh):
        progress.seen_events.append(str(event.get("id")))
        ctx.report(f"ECS: {event.get('message', '')}")
    # keep the memory bounded on services with long event histories
    del progress.seen_events[:-200]


# how often a long wait says where it is, when ECS itself writes no event
HEARTBEAT_SECONDS = 30.0


def heartbeat(ctx: RolloutContext, progress: Progress, what: str) -> None:
    """Report a waiting rollout's state every ``HEARTBEAT_SECONDS`` (progress during long waits)."""
    now = ctx.clock()
    state = progress.extra
    last = state.heartbeat_at if state.heartbeat_at is not None else progress.started_at
    if now - last >= HEARTBEAT_SECONDS:
        state.heartbeat_at = now
        left = max(0.0, progress.deadline - now)
        ctx.report(f"waiting: {what} ({now - progress.started_at:.0f}s elapsed, {left:.0f}s left)")


def primary_deployment_id(service: JsonDict) -> str | None:
    for deployment in service.get("deployments") or ():
        if deployment.get("status") == "PRIMARY":
            return str(deployment.get("id"))
    return None
