"""One controller at a time per working clone: an exclusive lock on ``<workdir>.lock``.

Two controllers sharing a clone would race on its index, its refs, the rollout journal and the
pending status next to it. The lock is ``flock(2)`` on a file next to the clone, so the kernel
releases it when the holder dies (kill -9 included): a stale lock never needs cleaning up. The
file says who holds it, for the error the next one prints. Does I/O (local files).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from controller.errors import EcsGitopsError


class WorkdirBusy(EcsGitopsError):
    """Another controller holds the working clone: terminal for this process."""


def lock_path(workdir: Path) -> Path:
    return workdir.parent / f"{workdir.name}.lock"


class WorkdirLock:
    """Held from ``acquire()`` (or ``with``) until ``release()`` or the process ends."""

    def __init__(self, workdir: Path) -> None:
        self.path = lock_path(workdir)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock at once, or raise ``WorkdirBusy`` naming its holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise WorkdirBusy(
                f"lock the working clone {self.path.with_suffix('')}: another ecs-gitops "
                f"controller holds it ({holder}); run one controller per working clone, or give "
                "this one its own --workdir"
            ) from None
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(os.path.basename(a) for a in sys.argv[:2]),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data = json.dumps(record).encode()
        # written over the last holder's record, then cut to length: never an empty file
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> WorkdirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """Who holds the lock, as the lock file says (a placeholder when it cannot be read).

    A holder that has just taken a lock file it created writes its record a moment later:
    an empty file is read again for a short while.
    """
    for _ in range(_HOLDER_READS):
        try:
            holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return (
                f"pid {int(holder['pid'])} on {str(holder['host'])!r}, "
                f"{str(holder.get('command', ''))!r} since {holder.get('since', '?')!s}"
            )
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.05)
    return "holder unknown"


_HOLDER_READS = 20
