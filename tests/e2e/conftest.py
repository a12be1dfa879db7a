"""End-to-end fixtures: a config repository in a bare git remote, and the CLI as a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.controllers import Controller
from tests.e2e.support import DATA, Workspace, network, publish


@pytest.fixture
def workspace(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    """tests/data/sync-repo as a bare remote plus a clone, with the staging cluster created."""
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    yield publish(DATA / "sync-repo", tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})


@pytest.fixture
def controllers() -> Iterator[list[Controller]]:
    """Started controllers, killed at the end of the test whatever happened."""
    started: list[Controller] = []
    yield started
    for c in started:
        c.close()
