"""One controller per working clone: the second is refused at once, naming the first."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

import pytest

from controller.source.workdir_lock import WorkdirBusy, WorkdirLock, lock_path


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with (
        WorkdirLock(tmp_path / "clone"),
        pytest.raises(WorkdirBusy, match=rf"pid {os.getpid()} on "),
    ):
        WorkdirLock(tmp_path / "clone").acquire()
    WorkdirLock(tmp_path / "clone").acquire()  # released: free again


def test_a_holder_that_has_not_written_its_record_yet_is_still_named(tmp_path: Path) -> None:
    # the winner of a race on a new lock file holds it a moment before its record is there
    path = lock_path(tmp_path / "clone")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    record = json.dumps({"pid": 4242, "host": "h", "command": "sync", "since": "now"})
    writer = threading.Timer(0.2, lambda: os.pwrite(fd, record.encode(), 0))
    writer.start()
    try:
        with pytest.raises(WorkdirBusy, match="pid 4242 on 'h'"):
            WorkdirLock(tmp_path / "clone").acquire()
    finally:
        writer.join()
        os.close(fd)
