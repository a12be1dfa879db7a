"""Planning one service: create, update, replace, run, in sync, invalid; the digest; and the
service members ECS never reports back, judged by the desired state last applied."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.core.diff import NOT_REPORTED
from controller.core.digest import DIGEST_TAG, task_definition_digest
from controller.core.fingerprint import desired_state_fingerprint
from controller.core.model import DeploySpec, DesiredService, Environment, Problem, Strategy
from controller.core.outcome import Result
from controller.core.plan import (
    UNKNOWN_APPLIED_STATE,
    Action,
    FieldChange,
    LiveService,
    last_applied_state,
    plan_invalid,
    plan_service,
)

DATA = Path(__file__).parent.parent / "data" / "aws"
STAGING = Environment(name="staging", cluster="staging", region="eu-west-1")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def desired(
    *, strategy: Strategy = Strategy.ROLLING, autoscaling: bool = False, **changes: Any
) -> DesiredService:
    task_definition = load("register_task_definition_web.json")
    for key, value in changes.items():
        task_definition[key] = value
    return DesiredService(
        env=STAGING,
        name="web",
        deploy=DeploySpec(strategy=strategy),
        task_definition=task_definition,
        service=None if strategy is Strategy.RUN_TASK else load("create_service_web.json"),
        scalable_target=load("register_scalable_target_web.json") if autoscaling else None,
        scaling_policies=tuple(load("put_scaling_policy_web.json")) if autoscaling else (),
    )


def live(*, service: bool = True, autoscaling: bool = False, **service_changes: Any) -> LiveService:
    answer = load("describe_task_definition_web.json")
    item = load("describe_services_web.json")["services"][0] if service else None
    if item is not None:
        item.update(service_changes)
    return LiveService(
        service=item,
        task_definition=answer["taskDefinition"],
        task_definition_tags=tuple(answer["tags"]),
        scalable_target=load("describe_scalable_targets_web.json")["ScalableTargets"][0]
        if autoscaling
        else None,
        scaling_policies=tuple(load("describe_scaling_policies_web.json")["ScalingPolicies"])
        if autoscaling
        else (),
    )


def test_matching_service_is_in_sync() -> None:
    plan = plan_service(desired(), live())
    assert plan.action is Action.IN_SYNC
    assert plan.changes == ()
    assert not plan.needs_new_task_definition
    assert plan.key == "staging/web"


def test_absent_service_is_created() -> None:
    plan = plan_service(desired(), LiveService())
    assert plan.action is Action.CREATE
    assert plan.needs_new_task_definition


def test_new_image_is_an_update_with_a_new_revision() -> None:
    wanted = desired()
    wanted.task_definition["containerDefinitions"][0]["image"] = "nginx:1.28"
    plan = plan_service(wanted, live())
    assert plan.action is Action.UPDATE
    assert plan.task_definition_changes == (
        FieldChange("containerDefinitions[web].image", "nginx:1.27", "nginx:1.28"),
    )
    assert plan.needs_new_task_definition


def test_service_field_change_is_an_update_without_a_new_revision() -> None:
    plan = plan_service(desired(), live(desiredCount=5))
    assert plan.action is Action.UPDATE
    assert plan.service_changes == (FieldChange("desiredCount", 5, 2),)
    assert not plan.needs_new_task_definition


def test_a_deployment_in_progress_is_named_in_the_plan() -> None:
    steady = live()
    assert plan_service(desired(), steady).in_flight is None
    assert steady.service is not None
    moving = live(
        deployments=[
            {**steady.service["deployments"][0], "id": "ecs-svc/42", "rolloutState": "IN_PROGRESS"}
        ]
    )
    plan = plan_service(desired(), moving)
    assert plan.in_flight == "ECS deployment ecs-svc/42 is in progress"


def test_launch_type_change_is_a_replace() -> None:
    plan = plan_service(desired(), live(launchType="EC2"))
    assert plan.action is Action.REPLACE
    assert plan.service_changes == (FieldChange("launchType", "EC2", "FARGATE", replace=True),)


def test_with_autoscaling_desired_count_is_not_compared_but_capacity_is() -> None:
    assert (
        plan_service(desired(autoscaling=True), live(autoscaling=True, desiredCount=7)).action
        is Action.IN_SYNC
    )
    wanted = desired(autoscaling=True)
    assert wanted.scalable_target is not None
    wanted.scalable_target["MaxCapacity"] = 12
    plan = plan_service(wanted, live(autoscaling=True))
    assert plan.action is Action.UPDATE
    assert plan.autoscaling_changes == (FieldChange("scalableTarget.MaxCapacity", 10, 12),)


def test_run_task_job_runs_when_no_revision_exists() -> None:
    plan = plan_service(desired(strategy=Strategy.RUN_TASK), LiveService())
    assert plan.action is Action.RUN
    assert plan.task_definition_changes == (FieldChange("taskDefinition", None, "staging-web"),)


def test_run_task_job_is_in_sync_when_the_newest_revision_matches() -> None:
    plan = plan_service(desired(strategy=Strategy.RUN_TASK), live(service=False))
    assert plan.action is Action.IN_SYNC


def test_run_task_job_runs_when_content_differs() -> None:
    plan = plan_service(
        desired(strategy=Strategy.RUN_TASK, cpu="512", memory="1024"), live(service=False)
    )
    assert plan.action is Action.RUN
    assert [c.path for c in plan.task_definition_changes] == ["cpu", "memory"]


def test_invalid_service_plan_lists_its_problems() -> None:
    plan = plan_invalid(
        "staging/api",
        [
            Problem("staging/api/service.yaml", 7, "unknown field"),
            Problem("staging/api/deploy.yaml", 2, "bad strategy"),
        ],
    )
    assert plan.action is Action.INVALID
    assert plan.problems == (
        "staging/api/deploy.yaml:2: bad strategy",
        "staging/api/service.yaml:7: unknown field",
    )


def _equivalent_forms() -> list[dict[str, Any]]:
    base = load("register_task_definition_web.json")
    shuffled = copy.deepcopy(base)
    shuffled["containerDefinitions"].reverse()
    shuffled["containerDefinitions"][1]["environment"].reverse()
    spelled_out = copy.deepcopy(base)
    spelled_out.update(cpu="256", memory=512)
    spelled_out["containerDefinitions"][0].update(essential=True, cpu=0, mountPoints=[])
    spelled_out["containerDefinitions"][0]["portMappings"] = [
        {"containerPort": 80, "hostPort": 80, "protocol": "tcp"}
    ]
    tagged = copy.deepcopy(base)
    tagged["tags"].append({"key": DIGEST_TAG, "value": "sha256:whatever"})
    return [base, shuffled, spelled_out, tagged]


@pytest.mark.parametrize(
    "form", _equivalent_forms(), ids=["base", "shuffled", "spelled-out", "digest-tagged"]
)
def test_digest_is_stable_across_equivalent_manifests(form: dict[str, Any]) -> None:
    base = load("register_task_definition_web.json")
    assert task_definition_digest(form) == task_definition_digest(base)


def test_digest_changes_with_content_and_is_in_the_plan() -> None:
    base = load("register_task_definition_web.json")
    changed = copy.deepcopy(base)
    changed["containerDefinitions"][0]["image"] = "nginx:1.28"
    digest = task_definition_digest(base)
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert task_definition_digest(changed) != digest
    assert plan_service(desired(), live()).digest == digest


MONITORING = {
    "metricConfigurations": [{"metricNames": ["CPUUtilization"], "resolutionSeconds": 20}]
}
GATEWAY = [{"portName": "http", "healthCheck": {"healthCheckPath": "/health"}}]


def unreporting(**members: Any) -> DesiredService:
    """The web service with members DescribeServices never returns (monitoring...)."""
    wanted = desired()
    assert wanted.service is not None
    wanted.service.update(members)
    return wanted


@pytest.mark.parametrize(
    ("member", "value"), [("monitoring", MONITORING), ("gatewayConnectors", GATEWAY)]
)
def test_an_unreported_member_is_a_change_when_git_moved_on_from_the_applied_state(
    member: str, value: Any
) -> None:
    plan = plan_service(unreporting(**{member: value}), live(), applied_state="sha256:before")
    assert plan.action is Action.UPDATE
    assert plan.service_changes == (FieldChange(member, NOT_REPORTED, value),)
    assert not plan.needs_new_task_definition


def test_an_unreported_member_is_in_sync_when_its_desired_state_was_applied() -> None:
    wanted = unreporting(monitoring=MONITORING, gatewayConnectors=GATEWAY)
    applied = desired_state_fingerprint(wanted)
    assert plan_service(wanted, live(), applied_state=applied).action is Action.IN_SYNC


def test_an_unreported_member_is_no_drift_without_a_recorded_state() -> None:
    # a new service's first pass, or a pull-request checkout without status files
    wanted = unreporting(monitoring=MONITORING)
    assert plan_service(wanted, live()).action is Action.IN_SYNC
    assert plan_service(wanted, live(), applied_state=None).action is Action.IN_SYNC


def test_unreported_members_join_the_other_changes_of_an_update() -> None:
    plan = plan_service(
        unreporting(monitoring=MONITORING), live(desiredCount=5), applied_state="sha256:before"
    )
    assert plan.service_changes == (
        FieldChange("desiredCount", 5, 2),
        FieldChange("monitoring", NOT_REPORTED, MONITORING),
    )


def test_a_service_without_unreported_members_ignores_the_applied_state() -> None:
    assert plan_service(desired(), live(), applied_state="sha256:before").action is Action.IN_SYNC


@dataclass(frozen=True)
class Status:
    result: Result
    desiredState: str | None
    appliedState: str | None = None


@pytest.mark.parametrize(
    ("status", "applied"),
    [
        (None, None),
        (Status(Result.SYNCED, "sha256:abc"), "sha256:abc"),
        # an OutOfSync status records the state it left unapplied; a rollback restores the
        # task definition and desired count, not monitoring: neither says what ECS holds
        (Status(Result.OUT_OF_SYNC, "sha256:abc"), UNKNOWN_APPLIED_STATE),
        (Status(Result.ROLLED_BACK, "sha256:abc"), UNKNOWN_APPLIED_STATE),
        (Status(Result.FAILED, "sha256:abc"), UNKNOWN_APPLIED_STATE),
        (Status(Result.SYNCED, None), UNKNOWN_APPLIED_STATE),
        # drift left alone (or a held git change) carries over the state that stays applied
        (Status(Result.OUT_OF_SYNC, "sha256:new", "sha256:abc"), "sha256:abc"),
    ],
)
def test_the_last_applied_state_is_a_synced_status_s_desired_state(
    status: Status | None, applied: str | None
) -> None:
    assert last_applied_state(status) == applied


def test_an_unknown_applied_state_sends_unreported_members_again() -> None:
    wanted = unreporting(monitoring=MONITORING)
    unknown = last_applied_state(Status(Result.OUT_OF_SYNC, desired_state_fingerprint(wanted)))
    assert plan_service(wanted, live(), applied_state=unknown).service_changes == (
        FieldChange("monitoring", NOT_REPORTED, MONITORING),
    )
