"""`ecs-gitops sync` when one environment's live state cannot be read: that environment is
Unknown, the others are reconciled, and every status is committed."""

from __future__ import annotations

from dataclasses import replace

import boto3
import yaml

from controller.localaws import LocalAws
from tests.conftest import fast_options
from tests.e2e.support import Workspace

# DescribeServices in cluster prod is throttled for as long as the test runs
PROD_UNREADABLE = {"DescribeServices/prod": 1_000_000}


def add_prod(ws: Workspace) -> None:
    """A prod environment (cluster prod) with the same web service as staging."""
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="prod")
    env = yaml.safe_load(ws.read("staging/environment.yaml"))
    ws.write("prod/environment.yaml", yaml.safe_dump({**env, "cluster": "prod"}))
    for name in ("deploy.yaml", "service.yaml", "task-definition.yaml"):
        text = ws.read(f"staging/web/{name}").replace("staging-web", "prod-web")
        ws.write(f"prod/web/{name}", text)


def bump(ws: Workspace, env: str) -> None:
    ws.replace(f"{env}/web/deploy.yaml", "nginx:1.26", "nginx:1.27")


def test_an_unreadable_environment_is_unknown_and_the_others_deploy(
    workspace: Workspace, local_aws: LocalAws
) -> None:
    add_prod(workspace)
    workspace.commit_and_push("prod environment")
    first = workspace.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    before = workspace.status("prod/web")
    assert before["result"] == "Synced"
    workspace.pull()
    bump(workspace, "staging")
    bump(workspace, "prod")
    pushed = workspace.commit_and_push("web: nginx 1.27 everywhere")
    local_aws.options = replace(fast_options(), throttle=PROD_UNREADABLE)

    result = workspace.sync()

    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # nothing of prod could be checked
    assert "Traceback" not in output
    staging = workspace.status("staging/web")
    assert (staging["result"], staging["commit"]) == ("Synced", pushed), staging
    prod = workspace.status("prod/web")
    assert prod["result"] == "Unknown", prod
    assert "live state could not be read" in prod["message"]
    assert "ThrottlingException" in prod["message"]
    assert "cluster prod" in prod["message"]
    # what the last status knew is carried over: the revision running, the state applied
    assert prod["taskDefinitionArn"] == before["taskDefinitionArn"]
    assert prod["appliedState"] == before["desiredState"]
    assert workspace.marker("prod/web") is None
    assert "prod/web: Unknown" in result.stdout
    # nothing was sent to prod
    service = boto3.client("ecs", region_name="us-east-1")
    local_aws.options = fast_options()
    (live,) = service.describe_services(cluster="prod", services=["web"])["services"]
    assert live["taskDefinition"] == before["taskDefinitionArn"]

    # readable again: the change is deployed and the status is Synced
    again = workspace.sync()
    assert again.returncode == 0, again.stdout + again.stderr
    assert workspace.status("prod/web")["result"] == "Synced"


def test_a_service_never_read_before_gets_an_unknown_status(
    workspace: Workspace, local_aws: LocalAws
) -> None:
    add_prod(workspace)
    workspace.commit_and_push("prod environment")
    local_aws.options = replace(fast_options(), throttle=PROD_UNREADABLE)

    result = workspace.sync()

    assert result.returncode == 1, result.stdout + result.stderr
    assert workspace.status("staging/web")["result"] == "Synced"
    assert workspace.status("prod/web")["result"] == "Unknown"
