"""Watching a repository on local disk: a commit on the branch is reported, nothing else is."""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.service.watch import RepositoryWatch, branch_tip, local_git_dir

DEADLINE = 30.0


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path]:
    remote, clone = tmp_path / "config.git", tmp_path / "clone"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(tmp_path, "init", "-q", "-b", "main", str(clone))
    git(clone, "commit", "-q", "--allow-empty", "-m", "first")
    git(clone, "push", "-q", str(remote), "main")
    return remote, clone


@pytest.fixture
def seen(repos: tuple[Path, Path]) -> Iterator[queue.Queue[str]]:
    remote, _ = repos
    commits: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    git_dir = local_git_dir(str(remote))
    assert git_dir is not None
    watch = RepositoryWatch(git_dir=git_dir, branch="main", on_commit=commits.put, stop=stop)
    watch.start()
    yield commits
    stop.set()
    watch.join(timeout=10)


def push(clone: Path, remote: Path, branch: str = "main") -> str:
    git(clone, "commit", "-q", "--allow-empty", "-m", f"a commit for {branch}")
    git(clone, "push", "-q", str(remote), f"HEAD:{branch}")
    return git(clone, "rev-parse", "HEAD")


def test_each_push_to_the_branch_is_reported_with_its_commit(
    repos: tuple[Path, Path], seen: queue.Queue[str]
) -> None:
    remote, clone = repos
    first = push(clone, remote)
    assert seen.get(timeout=DEADLINE) == first
    second = push(clone, remote)
    assert seen.get(timeout=DEADLINE) == second


def test_a_push_to_another_branch_is_not_reported(
    repos: tuple[Path, Path], seen: queue.Queue[str]
) -> None:
    remote, clone = repos
    push(clone, remote, branch="feature")
    # then one to main: the first (and only) report is main's commit
    ours = push(clone, remote)
    assert seen.get(timeout=DEADLINE) == ours
    assert seen.empty()


def test_local_repositories_are_recognised_and_network_ones_are_not(
    repos: tuple[Path, Path],
) -> None:
    remote, clone = repos
    assert local_git_dir(str(remote)) == remote.resolve()
    assert local_git_dir(f"file://{remote}") == remote.resolve()
    assert local_git_dir(str(clone)) == (clone / ".git").resolve()
    for url in ("https://example.com/org/config.git", "git@example.com:org/config.git"):
        assert local_git_dir(url) is None
    assert branch_tip(remote, "main") == git(remote, "rev-parse", "main")
    assert branch_tip(remote, "missing") is None
