"""The one decision plan and sync share: every rule, its order, and runBefore across a pass."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from controller.core.decision import (
    Decision,
    decide,
    decide_all,
    describe_changes,
    is_explicit,
    job_plan,
    waiting_on,
)
from controller.core.fingerprint import desired_state_fingerprint
from controller.core.model import (
    DeploySpec,
    DesiredService,
    Environment,
    Problem,
    RepoState,
    Strategy,
    SyncPolicy,
)
from controller.core.outcome import Result
from controller.core.plan import Action, FieldChange, ServicePlan


@dataclass(frozen=True)
class Status:
    result: Result
    desiredState: str | None = None
    appliedState: str | None = None


@dataclass(frozen=True)
class Marker:
    failedCommit: str = "f00dfeedcafe1234"
    reason: str = "circuit breaker"
    desiredState: str | None = None


def env(*, auto: bool = True, self_heal: bool = False) -> Environment:
    return Environment(
        name="staging", cluster="staging", sync=SyncPolicy(auto=auto, self_heal=self_heal)
    )


def service(
    name: str = "web",
    *,
    strategy: Strategy = Strategy.ROLLING,
    environment: Environment | None = None,
    image: str = "nginx:1.27",
    raw: dict[str, Any] | None = None,
) -> DesiredService:
    return DesiredService(
        env=environment or env(),
        name=name,
        deploy=DeploySpec(strategy=strategy, raw={"strategy": str(strategy), **(raw or {})}),
        task_definition={"family": name, "containerDefinitions": [{"name": name, "image": image}]},
        service=None if strategy is Strategy.RUN_TASK else {"serviceName": name},
    )


IMAGE = FieldChange("containerDefinitions[web].image", "nginx:1.26", "nginx:1.27")
LAUNCH = FieldChange("launchType", "EC2", "FARGATE", replace=True)
WEB = service()
FP = desired_state_fingerprint(WEB)
OLD = "sha256:old"


def plan(action: Action, *changes: FieldChange, key: str = "staging/web") -> ServicePlan:
    return ServicePlan(key, action, task_definition_changes=changes)


UPDATE = plan(Action.UPDATE, IMAGE)
MARKER_FILE = ".ecs-gitops/rollback/staging/web.yaml"

CASES: list[tuple[str, dict[str, Any], Decision, str]] = [
    ("nothing differs", {"plan": plan(Action.IN_SYNC)}, Decision.IN_SYNC, "live matches git"),
    (
        "a new service",
        {"plan": plan(Action.CREATE)},
        Decision.APPLY,
        "create: service does not exist yet",
    ),
    (
        "git moved on",
        {"plan": UPDATE, "status": Status(Result.SYNCED, OLD)},
        Decision.APPLY,
        f"update: {IMAGE}",
    ),
    (
        "git moved on with auto off but named by --only",
        {
            "desired": service(environment=env(auto=False)),
            "plan": UPDATE,
            "status": Status(Result.SYNCED, OLD),
            "explicit": True,
        },
        Decision.APPLY,
        f"update: {IMAGE}",
    ),
    (
        "held by a marker of this very state",
        {"plan": UPDATE, "marker": Marker(desiredState=FP), "status": Status(Result.ROLLED_BACK)},
        Decision.HELD,
        "not retried: this desired state failed at f00dfeedcafe (circuit breaker); push a fix "
        f"or revert, or delete {MARKER_FILE} to try again",
    ),
    (
        "held by a marker too damaged to tell",
        {"plan": UPDATE, "marker": Marker(failedCommit="", reason="unreadable marker")},
        Decision.HELD,
        "not retried: this desired state failed at  (unreadable marker); push a fix or "
        f"revert, or delete {MARKER_FILE} to try again",
    ),
    (
        "a marker of another state does not hold",
        {"plan": UPDATE, "marker": Marker(desiredState=OLD), "status": Status(Result.ROLLED_BACK)},
        Decision.APPLY,
        f"update: {IMAGE}",
    ),
    (
        "a marker holds even with --only",
        {"plan": UPDATE, "marker": Marker(desiredState=FP), "explicit": True},
        Decision.HELD,
        "not retried: this desired state failed at f00dfeedcafe (circuit breaker); push a fix "
        f"or revert, or delete {MARKER_FILE} to try again",
    ),
    (
        "a marker does not hold a service in sync",
        {"plan": plan(Action.IN_SYNC), "marker": Marker(desiredState=FP)},
        Decision.IN_SYNC,
        "live matches git",
    ),
    (
        "a replacement is refused",
        {"plan": plan(Action.REPLACE, IMAGE, LAUNCH)},
        Decision.REFUSED,
        "needs the service replaced (launchType): not applied automatically",
    ),
    (
        "a replacement is refused even with --only",
        {"plan": plan(Action.REPLACE, LAUNCH), "explicit": True},
        Decision.REFUSED,
        "needs the service replaced (launchType): not applied automatically",
    ),
    (
        "blue-green replaces by deploying",
        {"desired": service(strategy=Strategy.BLUE_GREEN), "plan": plan(Action.REPLACE, LAUNCH)},
        Decision.APPLY,
        f"replace: {LAUNCH}",
    ),
    (
        "auto off reports",
        {"desired": service(environment=env(auto=False)), "plan": UPDATE},
        Decision.REPORT_ONLY,
        f"out of sync ({IMAGE}); sync.auto is off for staging",
    ),
    (
        "drift with selfHeal off reports",
        {"plan": UPDATE, "status": Status(Result.SYNCED, FP)},
        Decision.REPORT_ONLY,
        f"live drifted from git ({IMAGE}); selfHeal is off",
    ),
    (
        "drift left alone stays drift (OutOfSync carries the applied state)",
        {"plan": UPDATE, "status": Status(Result.OUT_OF_SYNC, FP, appliedState=FP)},
        Decision.REPORT_ONLY,
        f"live drifted from git ({IMAGE}); selfHeal is off",
    ),
    (
        "drift with selfHeal on is repaired",
        {
            "desired": service(environment=env(self_heal=True)),
            "plan": UPDATE,
            "status": Status(Result.SYNCED, FP),
        },
        Decision.APPLY,
        f"repairing drift: {IMAGE}",
    ),
    (
        "drift while an ECS deployment is in flight waits for it, even with selfHeal on",
        {
            "desired": service(environment=env(self_heal=True)),
            "plan": replace(UPDATE, in_flight="ECS deployment ecs-svc/1 is in progress"),
            "status": Status(Result.SYNCED, FP),
        },
        Decision.REPORT_ONLY,
        f"live drifted from git ({IMAGE}) while ECS deployment ecs-svc/1 is in progress: "
        "repaired once it ends",
    ),
    (
        "a new desired state is applied although a deployment is in flight (git moved on)",
        {
            "plan": replace(UPDATE, in_flight="ECS deployment ecs-svc/1 is in progress"),
            "status": Status(Result.SYNCED, OLD),
        },
        Decision.APPLY,
        f"update: {IMAGE}",
    ),
    (
        "drift named by --only is repaired",
        {"plan": UPDATE, "status": Status(Result.SYNCED, FP), "explicit": True},
        Decision.APPLY,
        f"repairing drift: {IMAGE}",
    ),
    (
        "after a rollback git is not known to be live: not drift",
        {"plan": UPDATE, "status": Status(Result.ROLLED_BACK, FP)},
        Decision.APPLY,
        f"update: {IMAGE}",
    ),
    (
        "a prerequisite not Synced blocks",
        {"plan": UPDATE, "waiting_on": "staging/migrate (runBefore) is Failed: exit 1"},
        Decision.BLOCKED,
        f"not deployed ({IMAGE}): staging/migrate (runBefore) is Failed: exit 1",
    ),
    (
        "auto off is said before blocked",
        {
            "desired": service(environment=env(auto=False)),
            "plan": UPDATE,
            "waiting_on": "staging/migrate (runBefore) is Failed: exit 1",
        },
        Decision.REPORT_ONLY,
        f"out of sync ({IMAGE}); sync.auto is off for staging",
    ),
    (
        "a prerequisite that runs first is named",
        {"plan": UPDATE, "after": ["staging/migrate"]},
        Decision.APPLY,
        f"update: {IMAGE} (once staging/migrate (runBefore) is Synced)",
    ),
    (
        "an update without listed changes still says something",
        {"plan": plan(Action.UPDATE)},
        Decision.APPLY,
        "update: its desired state changed",
    ),
    (
        "invalid files",
        {"desired": None, "plan": ServicePlan("staging/web", Action.INVALID, problems=("a", "b"))},
        Decision.INVALID,
        "a; b",
    ),
]


@pytest.mark.parametrize(
    ("arguments", "decision", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(arguments: dict[str, Any], decision: Decision, reason: str) -> None:
    given = {"desired": WEB, "status": None, "marker": None, **arguments}
    verdict = decide(given.pop("desired"), given.pop("plan"), marker_file=MARKER_FILE, **given)
    assert (verdict.decision, verdict.reason) == (decision, reason)


def test_held_keeps_the_status_result_or_says_rolled_back() -> None:
    marker = Marker(desiredState=FP)
    failed = decide(
        WEB, UPDATE, status=Status(Result.FAILED), marker=marker, marker_file=MARKER_FILE
    )
    unknown = decide(WEB, UPDATE, status=None, marker=marker, marker_file=MARKER_FILE)
    assert (failed.result, unknown.result) == (Result.FAILED, Result.ROLLED_BACK)


def test_results_of_what_is_not_applied() -> None:
    def result(**given: Any) -> Result:
        arguments = {"desired": WEB, "plan": UPDATE, "status": None, "marker": None, **given}
        desired, chosen = arguments.pop("desired"), arguments.pop("plan")
        return decide(desired, chosen, marker_file=MARKER_FILE, **arguments).result

    assert result(plan=plan(Action.IN_SYNC)) is Result.SYNCED
    assert result(plan=plan(Action.REPLACE, LAUNCH)) is Result.OUT_OF_SYNC
    assert result(desired=service(environment=env(auto=False))) is Result.OUT_OF_SYNC
    assert result(waiting_on="x") is Result.OUT_OF_SYNC
    assert result(desired=None, plan=plan(Action.INVALID)) is Result.INVALID


def test_an_apply_says_whether_it_repairs_drift() -> None:
    healing = service(environment=env(self_heal=True))
    drift = decide(
        healing,
        UPDATE,
        status=Status(Result.SYNCED, desired_state_fingerprint(healing)),
        marker=None,
        marker_file=MARKER_FILE,
    )
    change = decide(
        WEB, UPDATE, status=Status(Result.SYNCED, OLD), marker=None, marker_file=MARKER_FILE
    )
    assert (drift.drift, change.drift) == (True, False)
    assert drift.changed == change.changed == str(IMAGE)


JOB = service("migrate", strategy=Strategy.RUN_TASK)
JOB_FP = desired_state_fingerprint(JOB)
JOB_CASES = [
    ("no status: the family's revisions say", None, Action.RUN, Action.RUN),
    ("no status, identical revision", None, Action.IN_SYNC, Action.IN_SYNC),
    ("ran this very state", Status(Result.SYNCED, JOB_FP), Action.RUN, Action.IN_SYNC),
    ("ran another state", Status(Result.SYNCED, OLD), Action.IN_SYNC, Action.RUN),
    ("failed this state", Status(Result.FAILED, JOB_FP), Action.IN_SYNC, Action.RUN),
]


@pytest.mark.parametrize(
    ("status", "planned", "acted"),
    [case[1:] for case in JOB_CASES],
    ids=[case[0] for case in JOB_CASES],
)
def test_a_job_runs_once_per_desired_state(
    status: Status | None, planned: Action, acted: Action
) -> None:
    given = ServicePlan("staging/migrate", planned)
    assert job_plan(given, status=status, fingerprint=JOB_FP).action is acted
    verdict = decide(JOB, given, status=status, marker=None, marker_file=MARKER_FILE)
    assert verdict.plan.action is acted
    assert verdict.decision is (Decision.IN_SYNC if acted is Action.IN_SYNC else Decision.APPLY)


def test_a_failed_job_is_held_by_its_marker() -> None:
    verdict = decide(
        JOB,
        ServicePlan("staging/migrate", Action.IN_SYNC),
        status=Status(Result.FAILED, JOB_FP),
        marker=Marker(desiredState=JOB_FP, reason="exit code 1"),
        marker_file=".ecs-gitops/rollback/staging/migrate.yaml",
    )
    assert (verdict.decision, verdict.result) == (Decision.HELD, Result.FAILED)


def test_explicit_only_names_the_very_service() -> None:
    assert is_explicit("staging/web", "staging/web")
    assert is_explicit("/staging/web/", "staging/web")
    assert not is_explicit("staging", "staging/web")
    assert not is_explicit(None, "staging/web")


def test_changes_are_described_three_at_most() -> None:
    many = plan(Action.UPDATE, *(FieldChange(f"f{i}", i, i + 1) for i in range(5)))
    assert describe_changes(many) == "f0: 0 -> 1; f1: 1 -> 2; f2: 2 -> 3 (+2 more)"
    assert describe_changes(plan(Action.CREATE)) == "service does not exist yet"


def test_waiting_on_names_every_prerequisite_not_synced() -> None:
    assert waiting_on({"staging/a": (Result.SYNCED, "ok")}) is None
    assert waiting_on({}) is None
    assert (
        waiting_on({"staging/b": (Result.FAILED, "exit 1"), "staging/a": (Result.INVALID, "x")})
        == "staging/a (runBefore) is Invalid: x; staging/b (runBefore) is Failed: exit 1"
    )


# --- runBefore across a pass: migrate (a job) runBefore web -------------------------------

MIGRATE = service("migrate", strategy=Strategy.RUN_TASK, raw={"runBefore": "web"})
MIGRATE_FP = desired_state_fingerprint(MIGRATE)
STATE = RepoState(
    environments={"staging": env()},
    services={"staging/web": WEB, "staging/migrate": MIGRATE},
    invalid={},
    problems=(),
)
JOB_HELD = Marker(desiredState=MIGRATE_FP, reason="exit code 1")


def pass_of(
    job: ServicePlan,
    *,
    job_status: Status | None = None,
    job_marker: Marker | None = None,
    web: ServicePlan = UPDATE,
    state: RepoState = STATE,
) -> dict[str, tuple[Decision, str]]:
    verdicts = decide_all(
        state,
        {"staging/web": web, "staging/migrate": job},
        statuses={"staging/migrate": job_status} if job_status else {},
        markers={"staging/migrate": job_marker} if job_marker else {},
        marker_file=lambda key: f".ecs-gitops/rollback/{key}.yaml",
    )
    return {key: (v.decision, v.reason) for key, v in verdicts.items()}


def test_a_job_that_runs_first_leaves_the_service_applied_after_it() -> None:
    decided = pass_of(ServicePlan("staging/migrate", Action.RUN))
    assert decided["staging/migrate"][0] is Decision.APPLY
    assert decided["staging/web"] == (
        Decision.APPLY,
        f"update: {IMAGE} (once staging/migrate (runBefore) is Synced)",
    )


def test_a_job_that_already_ran_changes_nothing() -> None:
    decided = pass_of(
        ServicePlan("staging/migrate", Action.RUN), job_status=Status(Result.SYNCED, MIGRATE_FP)
    )
    assert decided["staging/migrate"][0] is Decision.IN_SYNC
    assert decided["staging/web"] == (Decision.APPLY, f"update: {IMAGE}")


def test_a_held_job_blocks_the_service_with_the_reason_a_pass_gives() -> None:
    decided = pass_of(
        ServicePlan("staging/migrate", Action.RUN),
        job_status=Status(Result.FAILED, MIGRATE_FP),
        job_marker=JOB_HELD,
    )
    held = decided["staging/migrate"]
    assert held[0] is Decision.HELD
    assert decided["staging/web"] == (
        Decision.BLOCKED,
        f"not deployed ({IMAGE}): staging/migrate (runBefore) is Failed: {held[1]}",
    )


def test_an_invalid_job_orders_nothing_as_in_a_pass() -> None:
    state = RepoState(
        environments={"staging": env()},
        services={"staging/web": WEB},
        invalid={"staging/migrate": (Problem("staging/migrate/deploy.yaml", 1, "bad"),)},
        problems=(),
    )
    decided = pass_of(
        ServicePlan("staging/migrate", Action.INVALID, problems=("bad",)), state=state
    )
    # an invalid folder says nothing of its runBefore: only valid services order a pass
    assert decided["staging/web"][0] is Decision.APPLY


def test_a_blocked_service_with_nothing_to_deploy_is_in_sync() -> None:
    decided = pass_of(
        ServicePlan("staging/migrate", Action.RUN),
        job_status=Status(Result.FAILED, MIGRATE_FP),
        job_marker=JOB_HELD,
        web=plan(Action.IN_SYNC),
    )
    assert decided["staging/web"][0] is Decision.IN_SYNC


def test_a_refused_prerequisite_blocks_its_follower() -> None:
    first = service("db", raw={"runBefore": "web"})
    state = RepoState(
        environments={"staging": env()},
        services={"staging/web": WEB, "staging/db": first},
        invalid={},
        problems=(),
    )
    verdicts = decide_all(
        state,
        {"staging/web": UPDATE, "staging/db": plan(Action.REPLACE, LAUNCH, key="staging/db")},
        statuses={},
        markers={},
        marker_file=lambda key: key,
    )
    assert verdicts["staging/db"].decision is Decision.REFUSED
    assert verdicts["staging/web"].decision is Decision.BLOCKED
    assert "staging/db (runBefore) is OutOfSync: needs the service replaced" in (
        verdicts["staging/web"].reason
    )
