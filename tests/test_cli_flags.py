"""Flags that make no sense are refused by the parser, not accepted silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import build_parser


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--parallel", "0"], "must be at least 1"),
        (["--parallel", "two"], "not a whole number"),
        (["--poll-interval=-1s"], "must be more than 0"),
        (["--poll-interval", "soon"], "not a duration"),
    ],
)
def test_bad_pass_flags_are_refused(
    flags: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["sync", "--repo", "x", *flags])
    assert stopped.value.code == 2
    assert expected in capsys.readouterr().err


def test_durations_take_units() -> None:
    args = build_parser().parse_args(
        ["sync", "--repo", "x", "--poll-interval", "2m", "--parallel", "3"]
    )
    assert (args.poll_interval, args.parallel) == (120.0, 3)


def test_a_malformed_author_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "controller", "sync", "--repo", str(tmp_path), "--author", "<x>"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "--author" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
