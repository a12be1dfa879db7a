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
