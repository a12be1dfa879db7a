"""Planning one service: create, update, replace, run, in sync, invalid; and the digest."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from controller.core.digest import DIGEST_TAG, task_definition_digest
from controller.core.model import DeploySpec, DesiredService, Environment, Problem, Strategy
from controller.core.plan import Action, FieldChange, LiveService, plan_invalid, plan_service

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
