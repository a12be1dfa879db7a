"""End-to-end fixtures: a config repository in a bare git remote, and the CLI as a subprocess."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, git, network


@pytest.fixture
def workspace(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    """tests/data/sync-repo as a bare remote plus a clone, with the staging cluster created."""
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    remote = tmp_path / "config.git"
    clone = tmp_path / "clone"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    shutil.copytree(DATA / "sync-repo", clone)
    env_file = clone / "staging" / "environment.yaml"
    env_file.write_text(
        env_file.read_text().replace("SUBNET", subnet).replace("SECURITY_GROUP", group)
    )
    git(clone, "init", "-q", "-b", "main")
    git(clone, "remote", "add", "origin", str(remote))
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "Initial config")
    git(clone, "push", "-q", "origin", "main")
    yield Workspace(remote=remote, clone=clone, workdir=tmp_path / "controller-workdir")
