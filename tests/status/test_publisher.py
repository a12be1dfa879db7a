"""The status publisher: group commits, and nothing lost when a push fails."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from controller.errors import GitError
from controller.status.pending import PendingStatus
from controller.status.publisher import StatusPublisher


class Remote:
    """A repository whose pushes can be made to fail or to take a while."""

    def __init__(self) -> None:
        self.commits: list[tuple[dict[str, str | None], str]] = []
        self.fail = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def commit_status(self, changes: Mapping[str, str | None], *, message: str) -> str | None:
        self.entered.set()
        self.release.wait(10)
        if self.fail:
            raise GitError("push status to main: remote unreachable", retryable=True)
        self.commits.append((dict(changes), message))
        return f"sha{len(self.commits)}"


def test_a_failed_push_is_kept_and_goes_out_with_the_next_publish(tmp_path: Path) -> None:
    remote = Remote()
    pending = PendingStatus(tmp_path / "w.pending-status.json")
    publisher = StatusPublisher(remote, pending)
    remote.fail = True
    with pytest.raises(GitError, match="the next pass pushes it"):
        publisher.publish({".ecs-gitops/rollback/staging/web.yaml": "marker"}, message="web")
    assert pending.load() == {".ecs-gitops/rollback/staging/web.yaml": "marker"}

    remote.fail = False
    assert publisher.publish({".ecs-gitops/status/staging/api.yaml": "ok"}, message="api")
    assert remote.commits[0][0] == {
        ".ecs-gitops/rollback/staging/web.yaml": "marker",
        ".ecs-gitops/status/staging/api.yaml": "ok",
    }
    assert pending.load() == {}


def test_publishes_arriving_during_a_push_share_the_next_commit(tmp_path: Path) -> None:
    remote = Remote()
    publisher = StatusPublisher(remote, PendingStatus(tmp_path / "w.pending-status.json"))
    remote.release.clear()
    first = threading.Thread(target=publisher.publish, args=({"a": "1"},), kwargs={"message": "a"})
    first.start()
    assert remote.entered.wait(10)
    others = [
        threading.Thread(target=publisher.publish, args=({k: "1"},), kwargs={"message": k})
        for k in ("b", "c", "d")
    ]
    for t in others:
        t.start()
    while publisher._next.messages != ["b", "c", "d"]:  # all three are waiting
        threading.Event().wait(0.01)
    remote.release.set()
    for t in [first, *others]:
        t.join(10)
    assert [sorted(changes) for changes, _ in remote.commits] == [["a"], ["b", "c", "d"]]
    assert remote.commits[1][1].startswith("status: 3 updates")


def test_nothing_to_publish_makes_no_commit(tmp_path: Path) -> None:
    remote = Remote()
    publisher = StatusPublisher(remote, PendingStatus(tmp_path / "w.pending-status.json"))
    assert publisher.publish({}, message="nothing") is None
    assert remote.commits == []
