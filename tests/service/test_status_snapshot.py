"""The status page's snapshot: rebuilt after every pass and status commit, it renders again only
the services whose files changed (a status commit changes none)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from controller.service.status_snapshot import StatusSnapshot
from tests.e2e.support import DATA


class Clone:
    """What the snapshot reads of a working clone: its checkout and its status files."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read_status(self, paths: Any = ()) -> dict[str, str]:
        return {}


def test_a_rebuild_with_no_file_changed_renders_nothing_again(tmp_path: Path) -> None:
    checkout = tmp_path / "clone"
    shutil.copytree(DATA / "sync-repo", checkout)
    (checkout / ".git").mkdir()
    snapshot = StatusSnapshot(Clone(checkout))  # type: ignore[arg-type]

    snapshot.rebuild()
    first = snapshot.current
    assert {row.key for row in first.rows} == {"staging/api", "staging/web", "staging/worker"}
    assert snapshot._cache.changed  # the first reading rendered every service

    snapshot.rebuild()
    assert not snapshot._cache.changed  # nothing changed: nothing rendered again
    assert snapshot.current.rows == first.rows
    assert snapshot.current.version == first.version + 1
