"""What a pass does to each service, and why: the one decision ``plan`` shows and ``sync`` acts on.

The field diff (``plan_service``) says what differs; this module says what is done about it:
a rollback marker holds the very state that failed, ``sync.auto: false`` and drift with
``selfHeal`` off are only reported, a replacement is refused (except blue-green, where a
replace is just another deploy), a service waits for a ``runBefore`` prerequisite that did not
succeed, and a run-task job runs once per desired state. Purely computational: status files and
markers come in as plain records (Protocols), never read here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from controller.core.fingerprint import desired_state_fingerprint
from controller.core.model import DesiredService, RepoState
from controller.core.outcome import Result
from controller.core.plan import Action, ServicePlan, StatusRecord, last_applied_state
from controller.core.strategy_traits import Runs
from controller.strategies.descriptions import describe


class Decision(StrEnum):
    """What happens to one service in a pass."""

    APPLY = (
        "apply"  # rolled out (created, updated, replaced by blue-green, job run, drift repaired)
    )
    IN_SYNC = "in-sync"  # live matches git: nothing is sent
    HELD = "held"  # a rollback marker holds this very desired state: not retried
    REPORT_ONLY = "report-only"  # sync.auto off, or live drift with selfHeal off: reported only
    REFUSED = "refused"  # a field UpdateService cannot change differs: not replaced automatically
    BLOCKED = "blocked"  # a runBefore prerequisite is not Synced: waits for it
    INVALID = "invalid"  # the service's files are invalid: nothing of it is applied


class MarkerRecord(Protocol):
    """What deciding reads of a rollback marker (``controller.status.records.RollbackMarker``)."""

    @property
    def failedCommit(self) -> str: ...  # the marker file's own keys (camelCase)

    @property
    def reason(self) -> str: ...

    @property
    def desiredState(self) -> str | None: ...


@dataclass(frozen=True)
class Verdict:
    """One service's decision, with the sentence that explains it.

    ``plan`` is the plan acted on (a job's plan says whether it runs, see ``job_plan``);
    ``result`` is the status a service that is not applied ends with (Synced for in-sync);
    ``drift`` says that an apply repairs drift (git asks for what was last applied);
    ``changed`` is the short description of the changes.
    """

    decision: Decision
    reason: str
    plan: ServicePlan
    result: Result = Result.OUT_OF_SYNC
    drift: bool = False
    changed: str = ""


def is_explicit(only: str | None, key: str) -> bool:
    """``--only ENV/SERVICE`` names this very service (overrides ``sync.auto: false``)."""
    return only is not None and only.strip("/") == key


def describe_changes(plan: ServicePlan) -> str:
    """The first three changes of a plan, in one line ('' when there are none)."""
    if plan.action == Action.CREATE:
        return "service does not exist yet"
    shown = [str(c) for c in plan.changes[:3]]
    more = len(plan.changes) - len(shown)
    return "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def job_plan(plan: ServicePlan, *, status: StatusRecord | None, fingerprint: str) -> ServicePlan:
    """A run-task job runs once per desired state, not whenever its family moved on.

    It runs when its rendered content differs from the state its last status is about (or,
    with no status, when no identical revision exists). A job that ran (Synced) is done; one
    that failed is held by its rollback marker, so deleting the marker runs it again.
    """
    if status is None:
        return plan
    done = status.desiredState == fingerprint and status.result == Result.SYNCED
    return replace(plan, action=Action.IN_SYNC if done else Action.RUN)


def decide(
    desired: DesiredService | None,
    plan: ServicePlan,
    *,
    status: StatusRecord | None,
    marker: MarkerRecord | None,
    marker_file: str,
    explicit: bool = False,
    waiting_on: str | None = None,
    after: Sequence[str] = (),
) -> Verdict:
    """Decide what one service's pass does, from its plan, status file, marker and policy.

    ``desired`` is None (or ``plan`` invalid) for a service whose files are invalid.
    ``explicit``: ``--only`` names the service (auto off and selfHeal off give way).
    ``waiting_on``: why a runBefore prerequisite is not Synced (the service is then blocked).
    ``after``: prerequisites that run first in this pass (named in an apply's reason).
    ``marker_file``: the marker's path, named in a held service's reason.
    The rules apply in this order: invalid, in sync, held, refused, auto off, drift (selfHeal
    off, or an ECS deployment in flight), blocked.
    """
    if desired is None or plan.action is Action.INVALID:
        return Verdict(Decision.INVALID, "; ".join(plan.problems), plan, result=Result.INVALID)
    fingerprint = desired_state_fingerprint(desired)
    traits = describe(desired.deploy.strategy)
    if traits.runs_once:
        plan = job_plan(plan, status=status, fingerprint=fingerprint)
    if plan.action is Action.IN_SYNC:
        return Verdict(Decision.IN_SYNC, "live matches git", plan, result=Result.SYNCED)
    if marker is not None and marker.desiredState in (None, fingerprint):
        # the very state that failed (or a marker too damaged to tell): do not loop;
        # a new commit or deleting the marker retries
        reason = (
            f"not retried: this desired state failed at {marker.failedCommit[:12]} "
            f"({marker.reason}); push a fix or revert, or delete {marker_file} to try again"
        )
        held = status.result if status is not None else Result.ROLLED_BACK
        return Verdict(Decision.HELD, reason, plan, result=held)
    # a strategy that creates a new service on every deploy: a replacement is just another deploy
    if plan.action is Action.REPLACE and traits.runs is not Runs.AS_GENERATIONS:
        fields = ", ".join(c.path for c in plan.changes if c.replace)
        reason = f"needs the service replaced ({fields}): not applied automatically"
        return Verdict(Decision.REFUSED, reason, plan)
    changed = describe_changes(plan) or "its desired state changed"
    policy = desired.env.sync
    if not policy.auto and not explicit:
        reason = f"out of sync ({changed}); sync.auto is off for {desired.env.name}"
        return Verdict(Decision.REPORT_ONLY, reason, plan, changed=changed)
    # what git asks for is what was last applied: the difference is drift, made outside git
    drift = last_applied_state(status) == fingerprint
    if drift and not policy.self_heal and not explicit:
        reason = f"live drifted from git ({changed}); selfHeal is off"
        return Verdict(Decision.REPORT_ONLY, reason, plan, changed=changed)
    if drift and plan.in_flight is not None:
        # a second UpdateService into a deployment under way would fight it (a native
        # blue/green's traffic shift, a bake, an approval): repair once it has ended
        reason = f"live drifted from git ({changed}) while {plan.in_flight}: repaired once it ends"
        return Verdict(Decision.REPORT_ONLY, reason, plan, changed=changed)
    if waiting_on is not None:
        reason = f"not deployed ({changed}): {waiting_on}"
        return Verdict(Decision.BLOCKED, reason, plan, changed=changed)
    reason = ("repairing drift: " if drift else f"{plan.action}: ") + changed
    if after:
        reason += f" (once {', '.join(after)} (runBefore) is Synced)"
    return Verdict(Decision.APPLY, reason, plan, drift=drift, changed=changed)


def prerequisites(state: RepoState, keys: Sequence[str]) -> dict[str, list[str]]:
    """Selected service -> the selected services whose deploy.yaml says ``runBefore`` it."""
    selected = set(keys)
    found: dict[str, list[str]] = {}
    for key in keys:
        desired = state.services.get(key)
        if desired is None:
            continue
        target = f"{desired.env.name}/{desired.deploy.raw.get('runBefore')}"
        if "runBefore" in desired.deploy.raw and target in selected:
            found.setdefault(target, []).append(key)
    return found


def waiting_on(results: Mapping[str, tuple[Result, str]]) -> str | None:
    """Why a service must not deploy: the runBefore prerequisites (key -> status) not Synced."""
    reasons = [
        f"{key} (runBefore) is {result}: {message}"
        for key, (result, message) in sorted(results.items())
        if result != Result.SYNCED
    ]
    return "; ".join(reasons) or None


def decide_all(
    state: RepoState,
    plans: Mapping[str, ServicePlan],
    *,
    statuses: Mapping[str, StatusRecord],
    markers: Mapping[str, MarkerRecord],
    marker_file: Callable[[str], str],
    only: str | None = None,
) -> dict[str, Verdict]:
    """Every planned service's decision, as a pass would take it (what ``plan`` shows).

    runBefore, the smallest rule faithful to a pass: a prerequisite that is applied runs first,
    and the service is applied after it (``after``; should the prerequisite fail, the pass
    then leaves the service OutOfSync, which no plan can foresee). A prerequisite in sync is
    Synced and changes nothing. Any other prerequisite (held, invalid, refused, reported only,
    blocked) stays not Synced, so the service is blocked, with the reason the pass would give.
    """
    firsts = prerequisites(state, list(plans))
    verdicts: dict[str, Verdict] = {}

    def one(key: str, path: frozenset[str]) -> Verdict:
        if key in verdicts:
            return verdicts[key]
        before = {
            first: one(first, path | {key})
            for first in firsts.get(key, ())
            if first not in path  # load_repo already refused runBefore cycles
        }
        outcomes = {
            first: (v.result, v.reason)
            for first, v in before.items()
            if v.decision is not Decision.APPLY
        }
        verdicts[key] = decide(
            state.services.get(key),
            plans[key],
            status=statuses.get(key),
            marker=markers.get(key),
            marker_file=marker_file(key),
            explicit=is_explicit(only, key),
            waiting_on=waiting_on(outcomes),
            after=sorted(k for k, v in before.items() if v.decision is Decision.APPLY),
        )
        return verdicts[key]

    for key in plans:
        one(key, frozenset())
    return verdicts
