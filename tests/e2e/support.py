"""Helpers for end-to-end tests: a config repository in a bare git remote, the CLI as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

from controller.aws.clients import API_CALLS
from controller.reconcile import PassOptions, PassReport, run_pass
from controller.source.git_repo import ConfigRepository

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
        # a controller running meanwhile pushes status commits whenever a rollout ends: as a
        # user's script would, rebase onto them and push again
        for attempt in range(5):
            git(self.clone, "pull", "-q", "--rebase", "origin", "main")
            try:
                git(self.clone, "push", "-q", "origin", "HEAD:main")
                return
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
                time.sleep(0.1)

    def pull(self) -> None:
        git(self.clone, "pull", "-q", "--rebase", "origin", "main")

    def remote_head(self) -> str:
        return git(self.remote, "rev-parse", "main")

    def remote_file(self, path: str) -> str | None:
        try:
            return git(self.remote, "show", f"main:{path}")
        except subprocess.CalledProcessError:
            return None

    def status(self, key: str) -> dict[str, Any]:
        """The status file of ENV/SERVICE on the remote's main."""
        text = self.remote_file(f".ecs-gitops/status/{key}.yaml")
        assert text is not None, f"no status file for {key}"
        return dict(yaml.safe_load(text))

    def marker(self, key: str) -> dict[str, Any] | None:
        """The rollback marker of ENV/SERVICE on the remote's main, if any."""
        text = self.remote_file(f".ecs-gitops/rollback/{key}.yaml")
        return None if text is None else dict(yaml.safe_load(text))

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
        # the width of whatever terminal runs the tests must not change what the CLI prints
        env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
        cwd=cwd,
    )


def network(endpoint: str) -> tuple[str, str]:
    """The default VPC's first subnet and default security group in local AWS."""
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    return subnet, group


def publish(source: Path, tmp_path: Path, replacements: Mapping[str, str]) -> Workspace:
    """A copy of ``source`` (placeholders replaced in every YAML file) as a bare remote and a clone."""
    remote, clone = tmp_path / "config.git", tmp_path / "clone"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    shutil.copytree(source, clone)
    for path in clone.rglob("*.yaml"):
        text = path.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text)
    git(clone, "init", "-q", "-b", "main")
    git(clone, "remote", "add", "origin", str(remote))
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "Initial config")
    git(clone, "push", "-q", "origin", "main")
    return Workspace(remote=remote, clone=clone, workdir=tmp_path / "controller-workdir")


def pass_in_process(ws: Workspace, **options: Any) -> tuple[PassReport, dict[str, int], list[str]]:
    """One reconcile pass in this process: its report, the AWS calls by operation, its lines."""
    lines: list[str] = []
    lock = threading.Lock()

    def report(line: str) -> None:
        with lock:
            lines.append(line)

    repo = ConfigRepository(url=str(ws.remote), workdir=ws.workdir)
    API_CALLS.reset()
    result = run_pass(repo, PassOptions(poll_seconds=0.2, report=report, **options))
    return result, API_CALLS.by_operation(), lines
