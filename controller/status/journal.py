"""The local rollout journal: what a rollout is doing, written before and during every change.

A controller killed in the middle of a rollout (kill -9, a lost node) finds the journal on
its next start and resumes the rollout: keeps waiting if it is still healthy, finishes or
rolls back otherwise. The journal lives next to the working clone, outside git, so that
recording progress never needs a commit. Does I/O (local files).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JournalEntry:
    """One rollout under way: the service, the config commit and state, and its progress."""

    key: str
    commit: str
    desired_state: str
    strategy: str
    progress: dict[str, Any]
    # where the rollout acts: a rollout is never resumed in a place git no longer names
    cluster: str = ""
    service_name: str = ""


class Journal:
    """A folder of one JSON file per rollout under way (``<env>/<service>.json``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # entries that could not be read, by key: why, and where the file was set aside
        self.unreadable: dict[str, str] = {}

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def record(self, entry: JournalEntry) -> None:
        """Write an entry atomically (write, fsync, rename), so a crash never leaves half a file."""
        path = self._path(entry.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".json.tmp")
        with scratch.open("w") as f:
            json.dump(entry.__dict__, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        scratch.replace(path)

    def forget(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def entries(self) -> dict[str, JournalEntry]:
        """Every readable entry, by service key.

        An unreadable one (a disk fault, a hand edit) is never silently dropped: it is set
        aside as ``<service>.json.unreadable`` for a person to look at, and ``unreadable``
        says so for the caller to report.
        """
        found: dict[str, JournalEntry] = {}
        if not self.root.is_dir():
            return found
        for path in sorted(self.root.glob("*/*.json")):
            key = f"{path.parent.name}/{path.stem}"
            try:
                entry = JournalEntry(**json.loads(path.read_text()))
                if entry.key != key:
                    raise ValueError(f"it names {entry.key!r}")
            except (OSError, ValueError, TypeError) as e:
                aside = path.with_name(path.name + ".unreadable")
                try:
                    path.replace(aside)
                    where = f"set aside as {aside}"
                except OSError as moved:
                    where = f"left in place: {moved.strerror or moved}"
                self.unreadable[key] = f"{type(e).__name__}: {e}; {where}"
                continue
            found[entry.key] = entry
        return found
