"""The local rollout journal: what a rollout is doing, written before and during every change.

A controller killed in the middle of a rollout (kill -9, a lost node) finds the journal on
its next start and resumes the rollout: keeps waiting if it is still healthy, finishes or
rolls back otherwise. The journal lives next to the working clone, outside git, so that
recording progress never needs a commit. With several controllers (``run --lease-table``)
each entry is also kept in a ``SharedJournal`` (the lease table), which is then the one read:
the next holder of the unit resumes the rollout without the old holder's disk. Does I/O
(local files; the shared journal's own I/O is its implementation's).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


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


class SharedJournal(Protocol):
    """Rollout records kept where any controller can read them (the lease table)."""

    def record(self, entry: JournalEntry) -> None: ...

    def forget(self, key: str) -> None: ...

    def entries(self) -> dict[str, JournalEntry]:
        """The records of the units this controller holds, by service key."""
        ...


def entry_to_json(entry: JournalEntry) -> str:
    return json.dumps(entry.__dict__, sort_keys=True)


def entry_from_json(text: str, *, key: str) -> JournalEntry:
    """Raises ValueError or TypeError when ``text`` is no entry of ``key``."""
    entry = JournalEntry(**json.loads(text))
    if entry.key != key:
        raise ValueError(f"it names {entry.key!r}")
    return entry


class Journal:
    """A folder of one JSON file per rollout under way (``<env>/<service>.json``), and with
    ``shared`` the same entries where the next holder of their unit reads them."""

    def __init__(self, root: Path, *, shared: SharedJournal | None = None) -> None:
        self.root = root
        self.shared = shared
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
        if self.shared is not None:
            self.shared.record(entry)

    def forget(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        if self.shared is not None:
            self.shared.forget(key)

    def entries(self) -> dict[str, JournalEntry]:
        """Every readable entry, by service key.

        An unreadable one (a disk fault, a hand edit) is never silently dropped: it is set
        aside as ``<service>.json.unreadable`` for a person to look at, and ``unreadable``
        says so for the caller to report. With ``shared``, its entries are the truth: the
        local files may be those of a unit another controller held and finished since.
        """
        if self.shared is not None:
            return self.shared.entries()
        found: dict[str, JournalEntry] = {}
        if not self.root.is_dir():
            return found
        for path in sorted(self.root.glob("*/*.json")):
            key = f"{path.parent.name}/{path.stem}"
            try:
                entry = entry_from_json(path.read_text(), key=key)
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
