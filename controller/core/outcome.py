"""Outcomes of a reconcile pass for one service, as values (not exceptions).

Purely computational.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Result(StrEnum):
    """The sync result of one service, as written to its status file."""

    SYNCED = "Synced"  # live matches git
    OUT_OF_SYNC = (
        "OutOfSync"  # live differs from git and the controller left it so (auto off, drift...)
    )
    PROGRESSING = "Progressing"  # a rollout is under way (or was, when the controller stopped)
    FAILED = "Failed"  # a deploy or job failed and nothing could be restored
    ROLLED_BACK = "RolledBack"  # a deploy failed and the previous version is back
    INVALID = "Invalid"  # the service's files are invalid: nothing of it was applied
    # its environment's live state could not be read: nothing of it was checked or changed
    UNKNOWN = "Unknown"

    @property
    def is_failure(self) -> bool:
        """Results that make ``sync`` exit 1."""
        return self in (Result.FAILED, Result.ROLLED_BACK, Result.INVALID)


@dataclass(frozen=True)
class Outcome:
    """What happened to one service in one pass."""

    result: Result
    message: str
    task_definition_arn: str | None = None
    # set when the rollout failed: why, and what was restored
    failure_reason: str | None = None
    restored_task_definition_arn: str | None = None
    # extra fields a strategy reports (exit codes of a job, the blue/green colour...)
    details: dict[str, object] = field(default_factory=dict)
