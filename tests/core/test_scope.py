"""Which services a commit touched, and a plan that trusts a recorded task definition digest."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from controller.core.digest import task_definition_digest
from controller.core.model import DeploySpec, DesiredService, Environment, Strategy
from controller.core.plan import Action, LiveService, plan_service
from controller.core.scope import touched_keys

KEYS = ["prod/api", "prod/web", "staging/api", "staging/web", "staging/worker"]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ([], []),
        (["staging/web/deploy.yaml"], ["staging/web"]),
        (["staging/web/deploy.yaml", "staging/web/service.yaml"], ["staging/web"]),
        (["prod/api/task-definition.yml", "staging/worker/deploy.yaml"],
         ["prod/api", "staging/worker"]),
        # environment-wide files touch every service of that environment, and only those
        (["staging/environment.yaml"], ["staging/api", "staging/web", "staging/worker"]),
        # a folder that is no service (removed, or shared): the safe reading is the environment
        (["prod/gone/deploy.yaml"], ["prod/api", "prod/web"]),
        # deleting a rollback marker asks for a retry of that one service
        ([".ecs-gitops/rollback/staging/api.yaml"], ["staging/api"]),
        # the controller's own status notes and root files change no desired state
        ([".ecs-gitops/status/staging/api.yaml", "README.md", ".github/workflows/ci.yaml"], []),
    ],
)  # fmt: skip
def test_touched_keys(changed: list[str], expected: list[str]) -> None:
    assert touched_keys(KEYS, changed) == expected


def test_touched_keys_keep_the_given_order() -> None:
    keys = ["staging/worker", "prod/web", "staging/api"]
    changed = ["staging/api/deploy.yaml", "staging/worker/deploy.yaml", "prod/web/x.yaml"]
    assert touched_keys(keys, changed) == keys


def test_touched_keys_scale_with_the_change_not_the_product_of_both() -> None:
    # 20,000 services and 20,000 changed files: a nested loop would take minutes
    keys = [f"env{i % 4}/svc{i:05d}" for i in range(20_000)]
    changed = [f"{key}/deploy.yaml" for key in keys]
    assert touched_keys(keys, changed) == keys


DATA = Path(__file__).parent.parent / "data" / "aws"
STAGING = Environment(name="staging", cluster="staging", region="eu-west-1")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def desired(**changes: Any) -> DesiredService:
    return DesiredService(
        env=STAGING,
        name="web",
        deploy=DeploySpec(strategy=Strategy.ROLLING),
        task_definition={**load("register_task_definition_web.json"), **changes},
        service=load("create_service_web.json"),
    )


def live_without_task_definition(digest: str | None, **service_changes: Any) -> LiveService:
    item = load("describe_services_web.json")["services"][0]
    item.update(service_changes)
    return LiveService(service=item, task_definition_digest=digest)


def test_a_recorded_digest_equal_to_the_desired_one_proves_the_task_definition_unchanged() -> None:
    service = desired()
    digest = task_definition_digest(service.task_definition)

    plan = plan_service(service, live_without_task_definition(digest))

    assert plan.action is Action.IN_SYNC
    assert plan.digest == digest


def test_service_fields_are_still_compared_when_the_task_definition_is_known() -> None:
    service = desired()
    digest = task_definition_digest(service.task_definition)

    plan = plan_service(service, live_without_task_definition(digest, desiredCount=7))

    assert plan.action is Action.UPDATE
    assert not plan.task_definition_changes
    assert [c.path for c in plan.service_changes] == ["desiredCount"]


def test_a_different_recorded_digest_proves_nothing() -> None:
    service = desired()
    other = copy.deepcopy(service.task_definition)
    other["cpu"] = "1024"

    plan = plan_service(service, live_without_task_definition(task_definition_digest(other)))

    # nothing to compare with: the whole task definition counts as changed
    assert plan.action is Action.UPDATE
    assert plan.task_definition_changes
