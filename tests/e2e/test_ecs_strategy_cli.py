"""`ecs-gitops sync` end to end with deploy.yaml ``strategy: ecs``: ECS runs the deployment.

The real CLI as a subprocess, local-aws and tests/data/ecs-strategy-repo in a bare git remote:
``web`` declares ECS's default ROLLING deployment with the circuit breaker rolling back. The
controller follows ECS's own service deployment to its end.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, network, publish

KEY = "staging/web"


@pytest.fixture
def ws(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    subnet, group = network(local_aws.endpoint_url)
    ecs().create_cluster(clusterName="staging")
    yield publish(DATA / "ecs-strategy-repo", tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def web() -> dict[str, Any]:
    (service,) = ecs().describe_services(cluster="staging", services=["web"])["services"]
    return dict(service)


def image_of(task_definition_arn: str) -> str:
    definition = ecs().describe_task_definition(taskDefinition=task_definition_arn)
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def service_deployment(arn: str) -> dict[str, Any]:
    (deployment,) = ecs().describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"
    ]
    return dict(deployment)


def target_task_definition(deployment: dict[str, Any]) -> str:
    revision_arn = deployment["targetServiceRevision"]["arn"]
    (revision,) = ecs().describe_service_revisions(serviceRevisionArns=[revision_arn])[
        "serviceRevisions"
    ]
    return str(revision["taskDefinition"])


def sync(ws: Workspace, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = ws.sync()
    assert result.returncode == expect, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def bump(ws: Workspace, image: str) -> None:
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", image)
    ws.commit_and_push(f"web: {image}")


def test_an_image_bump_follows_ecs_deployment_to_synced(ws: Workspace) -> None:
    sync(ws)
    first = ws.status(KEY)
    assert first["result"] == "Synced", first
    bump(ws, "nginx:1.27")

    result = sync(ws)

    status = ws.status(KEY)
    assert status["result"] == "Synced", status
    arn = status["details"]["serviceDeploymentArn"]
    assert arn != first["details"]["serviceDeploymentArn"]
    assert "following ECS service deployment " + arn in result.stdout + result.stderr
    deployment = service_deployment(arn)
    assert deployment["status"] == "SUCCESSFUL"
    live = web()
    assert target_task_definition(deployment) == live["taskDefinition"]
    assert image_of(live["taskDefinition"]) == "nginx:1.27"
    # the next pass finds nothing to do
    again = sync(ws)
    assert "staging/web: Synced (in-sync" in again.stdout, again.stdout


def test_a_broken_image_ends_rolled_back_by_ecs_with_its_reason(ws: Workspace) -> None:
    sync(ws)
    before = web()["taskDefinition"]
    bump(ws, "nginx:broken")

    sync(ws, expect=1)

    status = ws.status(KEY)
    assert status["result"] == "RolledBack", status
    deployment = service_deployment(status["details"]["serviceDeploymentArn"])
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    marker = ws.marker(KEY)
    assert marker is not None
    assert "circuit breaker" in marker["reason"], marker
    assert web()["taskDefinition"] == before


def test_a_deployment_still_running_at_the_timeout_is_rolled_back_by_ecs(ws: Workspace) -> None:
    sync(ws)
    before = web()["taskDefinition"]
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "timeout: 60s", "timeout: 3s")
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:stuck")
    ws.commit_and_push("web: an image whose tasks never start, 3s timeout")

    result = sync(ws, expect=1)

    status = ws.status(KEY)
    assert status["result"] == "RolledBack", status
    arn = status["details"]["serviceDeploymentArn"]
    assert f"stopping ECS service deployment {arn} with a rollback" in result.stdout
    assert service_deployment(arn)["status"] == "ROLLBACK_SUCCESSFUL"
    marker = ws.marker(KEY)
    assert marker is not None and marker["reason"].startswith("timed out after 3s"), marker
    assert web()["taskDefinition"] == before
