"""A run-task job's status after it ran: the next passes with nothing changed keep it as it is.

The real CLI as a subprocess, local-aws, and tests/data/strategies-repo in a bare git remote.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, network, publish

JOB = "staging/migrate"


@pytest.fixture
def ws(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    yield publish(DATA / "strategies-repo", tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})


def test_a_pass_with_nothing_changed_after_a_job_ran_keeps_its_status_and_commits_nothing(
    ws: Workspace,
) -> None:
    first = ws.sync("--only", JOB)
    assert first.returncode == 0, first.stdout + first.stderr
    ran = ws.status(JOB)
    assert ran["result"] == "Synced"
    assert ran["taskDefinitionArn"].endswith(":task-definition/staging-migrate:1")
    head = ws.remote_head()

    again = ws.sync("--only", JOB)

    assert again.returncode == 0, again.stdout + again.stderr
    assert ws.status(JOB) == ran, again.stdout
    assert ws.remote_head() == head, "a pass with nothing changed made a status commit"


def test_a_service_whose_runbefore_job_was_settled_without_running_is_blocked_not_an_error(
    ws: Workspace,
) -> None:
    first = ws.sync()  # migrate runs before web
    assert first.returncode == 0, first.stdout + first.stderr
    assert ws.status(JOB)["result"] == "Synced"
    ws.pull()
    # the job's status file edited by hand: the job is Invalid (tampered), settled unrun
    ws.replace(f".ecs-gitops/status/{JOB}.yaml", "result: Synced", "result: Synced  # me")
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.commit_and_push("a hand edit of the job's status, and a new web image")

    done = ws.sync("--only", "staging")

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert ws.status(JOB)["result"] == "Invalid"
    web = ws.status("staging/web")
    assert "unexpected error" not in web["message"], web
    assert web["result"] == "OutOfSync" and JOB in web["message"], web
