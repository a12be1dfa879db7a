"""Task definitions look as real ECS returns them: defaults filled in, tags, newest ACTIVE by family."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _register(ecs: Any, family: str, image: str, **extra: Any) -> dict[str, Any]:
    td: dict[str, Any] = ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": image, "portMappings": [{"containerPort": 8080}]}
        ],
        **extra,
    )["taskDefinition"]
    return td


def test_describe_fills_in_what_ecs_fills_in(ecs: Any, local_aws: Any) -> None:
    _register(
        ecs,
        "web",
        "registry.example/web:1",
        executionRoleArn="arn:aws:iam::123456789012:role/exec",
        taskRoleArn="arn:aws:iam::123456789012:role/web",
    )

    td = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]

    assert td["registeredBy"] == "arn:aws:iam::123456789012:root"
    assert td["registeredAt"] is not None
    assert td["compatibilities"] == ["EC2", "FARGATE"]
    assert td["status"] == "ACTIVE" and td["revision"] == 1
    names = {a["name"] for a in td["requiresAttributes"]}
    assert {"ecs.capability.task-eni", "com.amazonaws.ecs.capability.task-iam-role"} <= names
    [container] = td["containerDefinitions"]
    assert container["essential"] is True
    # Under awsvpc, hostPort defaults to containerPort; protocol defaults to tcp.
    assert container["portMappings"] == [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}
    ]


def test_describe_with_tags_returns_the_revisions_tags(ecs: Any, local_aws: Any) -> None:
    _register(
        ecs,
        "web",
        "registry.example/web:1",
        tags=[{"key": "ecs-gitops/digest", "value": "sha256:aaa"}],
    )
    _register(
        ecs,
        "web",
        "registry.example/web:2",
        tags=[{"key": "ecs-gitops/digest", "value": "sha256:bbb"}],
    )

    newest = ecs.describe_task_definition(taskDefinition="web", include=["TAGS"])
    first = ecs.describe_task_definition(taskDefinition="web:1", include=["TAGS"])

    assert newest["tags"] == [{"key": "ecs-gitops/digest", "value": "sha256:bbb"}]
    assert first["tags"] == [{"key": "ecs-gitops/digest", "value": "sha256:aaa"}]
    assert "tags" not in ecs.describe_task_definition(taskDefinition="web")


def test_family_resolves_to_the_newest_active_revision(ecs: Any, local_aws: Any) -> None:
    for n in (1, 2, 3):
        _register(ecs, "web", f"registry.example/web:{n}")
    ecs.deregister_task_definition(taskDefinition="web:3")

    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 2
    inactive = ecs.describe_task_definition(taskDefinition="web:3")["taskDefinition"]
    assert inactive["status"] == "INACTIVE"

    ecs.deregister_task_definition(taskDefinition="web:2")
    ecs.deregister_task_definition(taskDefinition="web:1")
    with pytest.raises(ClientError) as none_active:
        ecs.describe_task_definition(taskDefinition="web")
    assert none_active.value.response["Error"]["Code"] == "ClientException"


def test_list_task_definitions_honours_family_status_sort_and_pages(
    ecs: Any, local_aws: Any
) -> None:
    for family in ("worker", "web"):
        for n in (1, 2):
            _register(ecs, family, f"registry.example/{family}:{n}")
    ecs.deregister_task_definition(taskDefinition="web:1")

    def names(**params: Any) -> list[str]:
        return [
            arn.split("/")[-1] for arn in ecs.list_task_definitions(**params)["taskDefinitionArns"]
        ]

    assert names() == ["web:2", "worker:1", "worker:2"]
    assert names(sort="DESC") == ["worker:2", "worker:1", "web:2"]
    assert names(familyPrefix="web") == ["web:2"]
    assert names(familyPrefix="web", status="INACTIVE") == ["web:1"]
    page = ecs.list_task_definitions(maxResults=2)
    assert [a.split("/")[-1] for a in page["taskDefinitionArns"]] == ["web:2", "worker:1"]
    assert names(maxResults=2, nextToken=page["nextToken"]) == ["worker:2"]
