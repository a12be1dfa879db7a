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
        # set by ``load`` when the file was there but could not be read
        self.unreadable: str | None = None

    @classmethod
    def beside(cls, workdir: Path) -> PendingStatus:
        """The kept changes of the working clone at ``workdir`` (a file next to it)."""
        return cls(workdir.parent / f"{workdir.name}.pending-status.json")

    def load(self) -> dict[str, str | None]:
        """The kept changes; an unreadable file is set aside and reported, never ignored."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        except OSError as e:
            self.unreadable = f"{self.path}: {e.strerror or e}"
            return {}
        try:
            saved = json.loads(text)
            if not isinstance(saved, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in saved.items()
            ):
                raise ValueError("not a mapping of paths to texts")
        except ValueError as e:
            aside = self.path.with_name(self.path.name + ".unreadable")
            self.path.replace(aside)
            self.unreadable = (
                f"{self.path} could not be read ({e}); set aside as {aside}: status or rollback "
                "markers a pass could not push may be lost; check .ecs-gitops/ on the remote"
            )
            return {}
        return dict(saved)

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
