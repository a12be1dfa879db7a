"""The pure part of ``ecs-gitops promote``: health, digests, image names and the one-line edit."""

from __future__ import annotations

from typing import Any

import pytest

from controller.core.layout import load_repo
from controller.core.promotion import (
    NotPromotable,
    by_digest,
    health_refusal,
    nothing_live,
    recorded_generation,
    repository,
    running_digest,
    with_image,
)

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("nginx:1.27", "nginx"),
        ("nginx", "nginx"),
        ("registry:5000/team/web:1.2", "registry:5000/team/web"),
        ("registry:5000/team/web", "registry:5000/team/web"),
        (
            f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web@{DIGEST}",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web",
        ),
        (f"web:1.2@{DIGEST}", "web"),
    ],
)
def test_repository_drops_tag_and_digest_but_not_a_registry_port(image: str, repo: str) -> None:
    assert repository(image) == repo
    assert by_digest(image, DIGEST) == f"{repo}@{DIGEST}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("strategy: rolling\nimage: web:1\n", "strategy: rolling\nimage: web:2\n"),
        (
            "image: 'web:1'  # pinned\nstrategy: rolling\n",
            "image: 'web:2'  # pinned\nstrategy: rolling\n",
        ),
        ('image:   "web:1"\r\nstrategy: rolling\r\n', 'image:   "web:2"\r\nstrategy: rolling\r\n'),
        # a nested image: (a variable named so) is not deploy.yaml's image
        ("variables:\n  image: x\nimage: web:1\n", "variables:\n  image: x\nimage: web:2\n"),
    ],
)
def test_only_the_value_of_the_image_line_changes(text: str, expected: str) -> None:
    assert with_image(text, "web:2", file="deploy.yaml") == expected


def test_an_image_yaml_would_misread_is_quoted() -> None:
    assert with_image("image: web:1\n", "web: 2", file="deploy.yaml") == 'image: "web: 2"\n'


@pytest.mark.parametrize("text", ["{strategy: rolling, image: web:1}\n", "strategy: rolling\n"])
def test_a_deploy_yaml_without_its_own_image_line_is_refused(text: str) -> None:
    with pytest.raises(NotPromotable, match="no single top-level 'image:' line"):
        with_image(text, "web:2", file="production/web/deploy.yaml")


def _service(**changes: Any) -> dict[str, Any]:
    service: dict[str, Any] = {
        "desiredCount": 2,
        "runningCount": 2,
        "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED"}],
    }
    return {**service, **changes}


def test_health() -> None:
    assert health_refusal(_service(), key="staging/web") is None
    assert health_refusal(_service(runningCount=1), key="s/w") == "s/w: 1 of 2 tasks are running"
    assert health_refusal(_service(desiredCount=0, runningCount=0), key="s/w") == (
        "s/w: the service runs no tasks (desired count 0)"
    )
    failed = _service(
        deployments=[
            {"status": "PRIMARY", "rolloutState": "FAILED", "rolloutStateReason": "circuit breaker"}
        ]
    )
    assert health_refusal(failed, key="s/w") == (
        "s/w: its primary deployment is FAILED, not COMPLETED (circuit breaker)"
    )
    two = _service(
        deployments=[
            {"status": "PRIMARY", "rolloutState": "COMPLETED"},
            {"status": "ACTIVE", "rolloutState": "COMPLETED"},
        ]
    )
    assert (
        health_refusal(two, key="s/w")
        == "s/w: another deployment of the service is still under way"
    )


def _task(digest: str | None, arn: str = "td:1") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web"}
    if digest is not None:
        container["imageDigest"] = digest
    return {"taskDefinitionArn": arn, "containers": [container, {"name": "sidecar"}]}


def test_running_digest() -> None:
    assert (
        running_digest(
            [_task(DIGEST), _task(DIGEST)], container="web", task_definition="td:1", key="k"
        )
        == DIGEST
    )
    # tasks of another revision (draining) do not count
    other = "sha256:" + "b" * 64
    assert (
        running_digest(
            [_task(DIGEST), _task(other, "td:0")], container="web", task_definition="td:1", key="k"
        )
        == DIGEST
    )
    with pytest.raises(NotPromotable, match="no image digest"):
        running_digest([_task(None)], container="web", task_definition="td:1", key="k")
    with pytest.raises(NotPromotable, match="no running task"):
        running_digest([], container="web", task_definition="td:1", key="k")


JOB_FILES = {
    "staging/environment.yaml": "cluster: staging\n",
    "staging/migrate/deploy.yaml": "strategy: run-task\nimage: migrate:3\n",
    "staging/migrate/task-definition.yaml": (
        "family: migrate\nmemory: '512'\ncontainerDefinitions:\n"
        "  - name: migrate\n    image: ${image}\n"
    ),
    "staging/migrate/run-task.yaml": "launchType: EC2\n",
}


def test_a_job_has_no_live_service_to_promote_from() -> None:
    state = load_repo(JOB_FILES)
    assert not state.invalid, state.invalid
    assert nothing_live(state.services["staging/migrate"]) == (
        "staging/migrate: strategy run-task runs it as a job, not as a service: "
        "nothing runs its image live to promote"
    )


@pytest.mark.parametrize(
    ("details", "found"),
    [
        ({"serviceName": "web__3", "colour": "BLUE"}, "web__3"),
        ({"serviceName": "web"}, None),  # not a generation
        ({"serviceName": "api__3"}, None),  # another service's
        ({"serviceName": 3}, None),
        ({}, None),
        (None, None),
    ],
)
def test_the_generation_a_status_file_records(
    details: dict[str, Any] | None, found: str | None
) -> None:
    assert recorded_generation(details, base="web") == found
