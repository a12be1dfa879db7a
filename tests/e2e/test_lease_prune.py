"""With leases shared out per service, a removed folder's service is still somebody's to prune.

A pass offers the leases every unit it knows; with ``--shard-by service`` a removed folder's
service is known only by its status file, and was never offered, so no controller held its
lease and it was never pruned. A pass in this process against local-aws and real git, with a
lease guard that, like the real one, holds exactly the units it was offered.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import boto3

from controller.status.journal import JournalEntry
from tests.e2e.support import Workspace, pass_in_process


class Records:
    def __init__(self) -> None:
        self.kept: dict[str, JournalEntry] = {}

    def record(self, entry: JournalEntry) -> None:
        self.kept[entry.key] = entry

    def forget(self, key: str) -> None:
        self.kept.pop(key, None)

    def entries(self) -> dict[str, JournalEntry]:
        return dict(self.kept)


class PerService:
    """A lease guard sharding by service that holds every unit offered to it."""

    def __init__(self) -> None:
        self.offered: set[str] = set()
        self.journal = Records()

    def offer(self, keys: Sequence[str]) -> None:
        self.offered = set(keys)

    def holds(self, key: str) -> bool:
        return key in self.offered

    def stop_for(self, key: str, stop: threading.Event) -> threading.Event:
        return stop

    def admit(self, changes: Mapping[str, str | None]) -> tuple[dict[str, str | None], list[str]]:
        return dict(changes), []

    def acting(self, key: str, clients: Any) -> AbstractContextManager[None]:
        return nullcontext()


def services() -> Iterator[str]:
    ecs: Any = boto3.client("ecs", region_name="us-east-1")
    arns = ecs.list_services(cluster="staging")["serviceArns"]
    for service in ecs.describe_services(cluster="staging", services=arns)["services"]:
        if service["status"] == "ACTIVE":
            yield service["serviceName"]


def test_a_removed_folder_is_offered_and_pruned_when_leases_are_per_service(
    workspace: Workspace,
) -> None:
    assert workspace.sync().returncode == 0
    assert "worker" in set(services())
    workspace.pull()
    workspace.replace("staging/environment.yaml", "prune: false", "prune: true")
    shutil.rmtree(workspace.clone / "staging/worker")
    workspace.commit_and_push("worker is gone; prune it")
    guard = PerService()

    report, _, lines = pass_in_process(workspace, lease=guard)

    assert "staging/worker" in guard.offered
    pruned = [r for r in report.results if r.key == "staging/worker"]
    assert pruned and pruned[0].action == "prune", lines
    assert "worker" not in set(services())
