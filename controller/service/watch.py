"""Watch a config repository on local disk and report each new commit on the tracked branch.

Only the branch refs are watched (``refs/heads/...`` and ``packed-refs`` inside the git
folder), and the branch tip is read back after each change, so object writes, index
updates and pushes to other branches never ask for a pass. Does I/O: inotify (or polling)
through watchfiles, and ``git rev-parse`` on the watched repository.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from git import Git, GitCommandError
from watchfiles import Change, watch

log = logging.getLogger("ecs-gitops")

# Group the few file events of one ref update (lock file, rename) into one read of the tip,
# without adding noticeable delay: a push must lead to a pass within a second.
_DEBOUNCE_MS = 200
_STEP_MS = 30


def local_git_dir(url: str) -> Path | None:
    """The git folder of ``url`` when it is a repository on this machine (path or file://)."""
    if url.startswith("file://"):
        path = Path(unquote(urlsplit(url).path))
    elif "://" in url or (":" in url.split("/", 1)[0] and not Path(url).exists()):
        return None  # a network URL, or scp-like host:path
    else:
        path = Path(url)
    if not path.is_dir():
        return None
    try:
        found = Git(str(path)).rev_parse("--absolute-git-dir")
    except GitCommandError:
        return None
    return Path(str(found).strip())


def branch_tip(git_dir: Path, branch: str) -> str | None:
    """The commit ``branch`` points at in the repository at ``git_dir``, None when it has none."""
    try:
        tip = Git().execute(
            ["git", f"--git-dir={git_dir}", "rev-parse", "--verify", "--quiet",
             f"refs/heads/{branch}^{{commit}}"],
        )  # fmt: skip
    except GitCommandError:
        return None
    return str(tip).strip() or None


class RepositoryWatch:
    """Calls ``on_commit(sha)`` whenever ``branch`` of the watched repository moves."""

    def __init__(
        self,
        *,
        git_dir: Path,
        branch: str,
        on_commit: Callable[[str], object],
        stop: threading.Event,
    ) -> None:
        self.git_dir = git_dir
        self.branch = branch
        self._on_commit = on_commit
        self._stop = stop
        self._last = branch_tip(git_dir, branch)
        self._thread = threading.Thread(target=self._run, name="watch", daemon=True)

    def _is_ref(self, change: Change, path: str) -> bool:
        try:
            relative = Path(path).relative_to(self.git_dir).as_posix()
        except ValueError:
            return False
        return relative.startswith("refs/heads/") or relative == "packed-refs"

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            for _ in watch(
                self.git_dir,
                watch_filter=self._is_ref,
                debounce=_DEBOUNCE_MS,
                step=_STEP_MS,
                stop_event=self._stop,
                raise_interrupt=False,
            ):
                self._check()
        except Exception as e:  # the interval keeps the controller going without the watch
            log.warning("stopped watching %s: %s; passes run on the interval only", self.git_dir, e)

    def _check(self) -> None:
        tip = branch_tip(self.git_dir, self.branch)
        if tip is not None and tip != self._last:
            self._last = tip
            self._on_commit(tip)
