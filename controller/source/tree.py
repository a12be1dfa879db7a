"""Read a config repository checkout from disk into the ``{relative path: text}`` mapping the core loads.

Does I/O (reads files). Skips dot-folders (``.git``, ``.ecs-gitops``, ...) and every file that is
not .yaml, .yml or .json, because only those can be manifests.
"""

from __future__ import annotations

import os
from pathlib import Path

from controller.core.layout import EXTENSIONS, load_repo
from controller.core.model import RepoState
from controller.errors import ConfigError


def read_tree(root: Path) -> dict[str, str]:
    """Every manifest-like file under ``root``, by posix path relative to ``root``."""
    if not root.is_dir():
        raise ConfigError(f"read config repository {root}: not a directory")
    files: dict[str, str] = {}
    for folder, dirnames, filenames in os.walk(root):
        # pruning in place keeps os.walk out of .git and the controller's own .ecs-gitops
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.endswith(EXTENSIONS):
                continue
            path = Path(folder, name)
            relative = path.relative_to(root).as_posix()
            try:
                # undecodable bytes become U+FFFD, so the parser reports the line instead of us failing
                files[relative] = path.read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                raise ConfigError(f"read {relative} in {root}: {e.strerror or e}") from e
    return files


def load_path(root: Path) -> RepoState:
    """Read and load the config repository checked out at ``root``."""
    return load_repo(read_tree(root))
