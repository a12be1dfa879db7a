"""The run-task strategy: a job that runs once each time its rendered content changes.

As in the seed tutorial's "ECS Run Task step": register the task definition (or reuse an
identical ACTIVE revision), RunTask with run-task.yaml's request, wait until every task has
stopped, and report Synced when every essential container exited 0, else Failed with the exit
codes and stoppedReason in ``details``. A job is never rolled back (there is nothing to restore),
but a failure carries a reason, so the pass leaves a rollback marker and the same job is not
rerun in a loop. ``runTask.skipSteadyStateCheck`` only starts the tasks. Does I/O through the
rollout context.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core.outcome import Outcome, Result
from controller.strategies.base import PhasedRollout, Progress, RolloutContext, RolloutState
from controller.strategies.steps import resolve_task_definition

JsonDict = dict[str, Any]

PREPARE, RUN, WAIT = ("prepare", "run", "wait")
STARTED_BY = "ecs-gitops"


@dataclass
class RunTaskState(RolloutState):
    """What a job's run remembers beside the common progress."""

    # the tasks RunTask started, waited on until every one has stopped
    task_arns: list[str] = field(default_factory=list)


class RunTaskRollout(PhasedRollout):
    """One run of a job, advanced one step per ``step()`` call."""

    first_phase = PREPARE
    acting_phases = frozenset({PREPARE, RUN})
    state_type: type[RolloutState] = RunTaskState

    @property
    def state(self) -> RunTaskState:
        return self.progress.state(RunTaskState)

    def handlers(self) -> Mapping[str, Callable[[], Outcome | None]]:
        return {PREPARE: self._prepare, RUN: self._run, WAIT: self._wait}

    def changed_anything(self) -> bool:
        return self.progress.phase == WAIT

    def fail(self, reason: str) -> Outcome | None:
        # a job is never rolled back: there is nothing to restore
        return self._failed(reason, arns=list(self.state.task_arns), found={})

    def failing_service(self) -> str | None:
        # a job has no service: its exit codes are its reason
        return None

    def supersede(self) -> None:
        if self.progress.phase != WAIT:
            super().supersede()
        # a job already running is waited for: it is ECS's to finish

    def _prepare(self) -> Outcome | None:
        self.progress.task_definition_arn = resolve_task_definition(self.ctx, None)
        self.progress.phase = RUN
        return None

    def _run(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        assert p.task_definition_arn is not None
        request: JsonDict = {
            "startedBy": STARTED_BY,
            **(ctx.desired.run_task or {}),
            "taskDefinition": p.task_definition_arn,
            # RunTask is idempotent per token: a controller that stopped between this call and
            # its checkpoint gets the same tasks back on resume instead of a second run
            "clientToken": _client_token(ctx, p),
        }
        ctx.report(f"running {request.get('count', 1)} task(s) of {p.task_definition_arn}")
        tasks = ctx.api.run_task(request)
        arns = [str(t["taskArn"]) for t in tasks]
        self.state.task_arns = arns
        if ctx.desired.deploy.block("runTask").get("skipSteadyStateCheck"):
            return Outcome(
                Result.SYNCED,
                f"started {_count(arns)} of {p.task_definition_arn} (skipSteadyStateCheck: not waited for)",
                task_definition_arn=p.task_definition_arn,
                details={"tasks": [{"taskArn": arn} for arn in arns]},
            )
        p.phase = WAIT
        return None

    def _wait(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        assert p.task_definition_arn is not None
        arns = list(self.state.task_arns)
        found = {
            str(t["taskArn"]): t
            for t in ctx.api.describe_tasks(cluster=ctx.desired.cluster, arns=arns)
        }
        running = [
            arn for arn in arns if arn in found and found[arn].get("lastStatus") != "STOPPED"
        ]
        if running:
            if ctx.clock() >= p.deadline:
                # stopped, so that a retry (a fix, or the marker deleted) never runs beside it
                for arn in running:
                    ctx.api.stop_task(
                        cluster=ctx.desired.cluster, arn=arn, reason="ecs-gitops: job timed out"
                    )
                reason = (
                    f"timed out after {ctx.desired.deploy.timeout_seconds:g}s with "
                    f"{_count(running)} still running (stopped: {', '.join(_short(a) for a in running)})"
                )
                return self._failed(reason, arns=arns, found=found)
            return None
        essential = self._essential_containers()
        reports = [_task_report(arn, found.get(arn)) for arn in arns]
        failures = [failure for report in reports for failure in _failures(report, essential)]
        if failures:
            return self._failed("; ".join(failures), arns=arns, found=found)
        return Outcome(
            Result.SYNCED,
            f"ran {_count(arns)} of {p.task_definition_arn}: every essential container exited 0",
            task_definition_arn=p.task_definition_arn,
            details={"tasks": reports},
        )

    def _failed(self, reason: str, *, arns: list[str], found: dict[str, JsonDict]) -> Outcome:
        p = self.progress
        self.ctx.report(f"job failed: {reason}")
        return Outcome(
            Result.FAILED,
            f"job {p.task_definition_arn} failed: {reason}",
            task_definition_arn=p.task_definition_arn,
            failure_reason=reason,
            details={"tasks": [_task_report(arn, found.get(arn)) for arn in arns]},
        )

    def _essential_containers(self) -> set[str]:
        assert self.progress.task_definition_arn is not None
        definition, _ = self.ctx.api.describe_task_definition(self.progress.task_definition_arn)
        return {
            str(c["name"])
            for c in definition.get("containerDefinitions") or ()
            if c.get("essential", True)  # ECS: a container is essential unless it says not
        }


def _client_token(ctx: RolloutContext, progress: Progress) -> str:
    seed = f"{ctx.desired.key}|{ctx.commit}|{progress.started_at!r}"
    return hashlib.sha256(seed.encode()).hexdigest()[:64]


def _task_report(arn: str, task: JsonDict | None) -> JsonDict:
    """What the status file keeps of one task: exit codes and why it stopped."""
    if task is None:
        return {"taskArn": arn, "lastStatus": "MISSING"}
    report: JsonDict = {
        "taskArn": arn,
        "lastStatus": task.get("lastStatus"),
        "exitCodes": {str(c.get("name")): c.get("exitCode") for c in task.get("containers") or ()},
    }
    for key in ("stopCode", "stoppedReason"):
        if task.get(key):
            report[key] = task[key]
    return report


def _failures(report: JsonDict, essential: set[str]) -> list[str]:
    task = _short(str(report["taskArn"]))
    if report.get("lastStatus") == "MISSING":
        return [f"task {task} is no longer known to ECS"]
    why = f" ({report['stoppedReason']})" if report.get("stoppedReason") else ""
    failures = []
    for name, code in sorted(report.get("exitCodes", {}).items()):
        if name not in essential or code == 0:
            continue
        exited = "did not run" if code is None else f"exited {code}"
        failures.append(f"task {task}: container {name} {exited}{why}")
    return failures


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _count(arns: list[str]) -> str:
    return f"{len(arns)} task{'s' if len(arns) != 1 else ''}"


# what the registry runs for this strategy
ROLLOUT = RunTaskRollout
