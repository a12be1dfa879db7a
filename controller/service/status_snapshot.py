"""What the status page shows, kept in memory and rebuilt when the status may have changed.

The controller tells the snapshot when a pass ended or a status commit was made (``stale``);
a thread of its own then reads the working clone's checkout (the services and their config)
and the status branch as last fetched, exactly as ``ecs-gitops status`` does, and keeps the
rows. Requests render from the rows in memory, so neither page views nor the page's polling
cost a pass anything, and a pass never waits for the page. Does I/O: reads the working
clone (files and git) from its own thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.core.layout import RenderCache, load_repo
from controller.core.status_table import StatusRow, status_rows
from controller.service.status_page import page_document, recent_events
from controller.source.git_repo import ConfigRepository
from controller.source.tree import read_tree
from controller.status.records import StatusTree

log = logging.getLogger("ecs-gitops")

# Rebuilt at most this often: a burst of rollouts ending costs one read of the clone.
MIN_REBUILD_SECONDS = 0.5


@dataclass(frozen=True)
class Snapshot:
    """The rows as last read, and how to tell one reading from the next."""

    version: int = 0
    # this process's readings apart from another's (a restarted controller counts from 0)
    instance: str = ""
    rows: tuple[StatusRow, ...] = ()
    events: Mapping[str, list[dict[str, str]]] = field(default_factory=dict)
    read_at: str | None = None  # RFC 3339
    note: str = "waiting for the first pass"

    @property
    def tag(self) -> str:
        """An HTTP entity tag: the same for the same reading, only."""
        return f'"{self.instance}-{self.version}"'

    def document(self, *, now: datetime) -> dict[str, Any]:
        return page_document(
            self.rows, events=self.events, now=now, generated_at=self.read_at, note=self.note
        )


class StatusSnapshot:
    """The latest ``Snapshot`` of a working clone, rebuilt in the background when stale."""

    def __init__(
        self,
        repo: ConfigRepository,
        *,
        only: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._only = only
        # a rebuild follows every pass and status commit: only services whose files changed
        # since the last one are rendered again (a status commit changes none of them)
        self._cache = RenderCache()
        self._clock = clock
        self._current = Snapshot(instance=os.urandom(6).hex())
        self._lock = threading.Lock()
        self._stale = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="status-page", daemon=True)

    @property
    def current(self) -> Snapshot:
        with self._lock:
            return self._current

    def stale(self) -> None:
        """The status may have changed (a pass ended, a status commit was made): read again."""
        self._stale.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._stale.set()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._stale.wait()
            if self._stopping.is_set():
                return
            self._stale.clear()
            self.rebuild()
            # what asks again meanwhile is read once more after the pause, not once each
            self._stopping.wait(MIN_REBUILD_SECONDS)

    def rebuild(self) -> None:
        """Read the clone now; on failure keep the last rows (the next change reads again)."""
        if not (self._repo.path / ".git").exists():
            return  # no pull yet: nothing to read
        try:
            rows, events = self._read()
        except Exception as e:  # a pass re-cloning under us, a bug: the page keeps its rows
            log.warning("status page: read the working clone: %s", e)
            return
        read_at = self._clock().replace(microsecond=0).isoformat().replace("+00:00", "Z")
        with self._lock:
            previous = self._current
            self._current = Snapshot(
                version=previous.version + 1,
                instance=previous.instance,
                rows=tuple(rows),
                events=events,
                read_at=read_at,
                note="" if rows else "no services",
            )

    def _read(self) -> tuple[list[StatusRow], dict[str, list[dict[str, str]]]]:
        state = load_repo(read_tree(self._repo.path), cache=self._cache)
        statuses = StatusTree.parse(self._repo.read_status()).statuses
        rows = status_rows(state, statuses, only=self._only)
        events = {}
        for row in rows:
            status = statuses.get(row.key)
            found = recent_events(status.details) if status is not None else []
            if found:
                events[row.key] = found
        return rows, events
