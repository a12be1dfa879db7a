"""Status changes that a pass could not push, kept until a later pass pushes them.

A pass that deployed (or rolled back) but could not push its status commit (the remote was
unreachable, a hook refused it) must not lose what it learnt: above all a rollback marker,
without which the next pass would try the failed state again. The changes are kept next to
the working clone and laid over the fetched ``.ecs-gitops/`` files until they land. Does I/O
(local files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path


class PendingStatus:
    """One JSON file: path under ``.ecs-gitops/`` -> new text, or null to delete it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str | None]:
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(saved, dict):
            return {}
        return {str(k): (v if isinstance(v, str) else None) for k, v in saved.items()}

    def keep(self, changes: Mapping[str, str | None]) -> None:
        """Write the changes atomically (write, fsync, rename)."""
        scratch = self.path.with_name(self.path.name + ".tmp")
        with scratch.open("w") as f:
            json.dump(dict(changes), f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        scratch.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def overlay(files: Mapping[str, str], pending: Mapping[str, str | None]) -> dict[str, str]:
    """The ``.ecs-gitops/`` files as they will be once the pending changes land."""
    merged = dict(files)
    for path, text in pending.items():
        if text is None:
            merged.pop(path, None)
        else:
            merged[path] = text
    return merged
