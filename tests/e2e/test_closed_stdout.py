"""A reader that goes away (``ecs-gitops ... | head``) ends a command quietly, as SIGPIPE would.

Each command runs with its standard output a pipe whose read end is closed before it writes,
so every write meets the closed pipe: the command must end with 141 (128 + SIGPIPE) and no
traceback, and ``sync`` must still finish its pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.support import Workspace

ROOT = Path(__file__).resolve().parent.parent.parent
READER_GONE = 141


def with_reader_gone(*args: str, timeout: float = 120) -> tuple[int, str]:
    """Run the CLI with nobody reading its standard output: its exit status and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    return process.wait(timeout=timeout), stderr


def test_validate() -> None:
    assert with_reader_gone("validate", "examples") == (READER_GONE, "")


def test_validate_with_problems() -> None:
    code, stderr = with_reader_gone("validate", "tests/data/repos/seed-broken")
    assert code == READER_GONE
    # it stops at its first write to the closed pipe, or (buffered) after its summary
    assert stderr in ("", "1 environment, 1 service: 2 problems (1 invalid service)\n")


def test_plan(workspace: Workspace) -> None:
    assert with_reader_gone("plan", str(workspace.clone)) == (READER_GONE, "")


def test_sync_finishes_its_pass(workspace: Workspace) -> None:
    code, stderr = with_reader_gone(
        "sync", "--repo", str(workspace.remote), "--workdir", str(workspace.workdir),
        "--poll-interval", "0.2",
    )  # fmt: skip
    assert (code, stderr) == (READER_GONE, "")
    # nobody read a line of it, and every service was still deployed and its status committed
    for key in ("staging/web", "staging/worker", "staging/api"):
        assert workspace.status(key)["result"] == "Synced", key
