"""A long wait says where it is, even when ECS writes no event."""

from __future__ import annotations

from typing import Any

from controller.strategies.base import HEARTBEAT_SECONDS, Progress, RolloutContext, heartbeat


def test_heartbeat_reports_every_interval_with_elapsed_and_remaining_time() -> None:
    now = [1000.0]
    lines: list[str] = []
    ctx: Any = RolloutContext(
        desired=None,  # type: ignore[arg-type]
        plan=None,  # type: ignore[arg-type]
        api=None,  # type: ignore[arg-type]
        elb=None,  # type: ignore[arg-type]
        commit="c",
        clock=lambda: now[0],
        report=lines.append,
    )
    progress = Progress(phase="wait", started_at=1000.0, deadline=1600.0)
    heartbeat(ctx, progress, "1/2 running")
    assert lines == []  # not yet: the wait just began
    now[0] += HEARTBEAT_SECONDS
    heartbeat(ctx, progress, "1/2 running")
    assert lines == ["waiting: 1/2 running (30s elapsed, 570s left)"]
    now[0] += 1
    heartbeat(ctx, progress, "1/2 running")
    assert len(lines) == 1  # once per interval
