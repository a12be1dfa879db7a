"""Flags that make no sense are refused by the parser, not accepted silently."""

from __future__ import annotations

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
