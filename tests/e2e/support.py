"""Helpers for end-to-end tests: a config repository in a bare git remote, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3

DATA = Path(__file__).resolve().parent.parent / "data"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@dataclass
class Workspace:
    """A user's clone of the config repository, pushing to a bare remote the controller syncs."""

    remote: Path
    clone: Path
    workdir: Path

    def write(self, path: str, text: str) -> None:
        target = self.clone / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def read(self, path: str) -> str:
        return (self.clone / path).read_text()

    def replace(self, path: str, old: str, new: str) -> None:
        text = self.read(path)
        assert old in text, f"{old!r} not in {path}"
        self.write(path, text.replace(old, new))

    def commit_and_push(self, message: str) -> str:
        git(self.clone, "add", "-A")
        git(self.clone, "commit", "-q", "-m", message)
        self.push()
        return git(self.clone, "rev-parse", "HEAD")

    def push(self) -> None:
        git(self.clone, "pull", "-q", "--rebase", "origin", "main")
        git(self.clone, "push", "-q", "origin", "HEAD:main")

    def pull(self) -> None:
        git(self.clone, "pull", "-q", "--rebase", "origin", "main")

    def remote_head(self) -> str:
        return git(self.remote, "rev-parse", "main")

    def remote_file(self, path: str) -> str | None:
        try:
            return git(self.remote, "show", f"main:{path}")
        except subprocess.CalledProcessError:
            return None

    def sync(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``ecs-gitops sync`` as a user would."""
        return run_cli(
            "sync", "--repo", str(self.remote), "--workdir", str(self.workdir),
            "--poll-interval", "0.2", *args, timeout=timeout,
        )  # fmt: skip


def run_cli(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        cwd=cwd,
    )


def network(endpoint: str) -> tuple[str, str]:
    """The default VPC's first subnet and default security group in local AWS."""
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    return subnet, group
