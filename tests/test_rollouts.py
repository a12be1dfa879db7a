"""Rollouts under way in `run`: one per service, newer commits deployed after, never lost."""

from __future__ import annotations

import threading

import pytest

from controller.rollouts import Rollouts


def test_a_service_has_one_rollout_and_a_newer_commit_is_revisited_after_it() -> None:
    revisited: list[set[str]] = []
    ended: list[str] = []
    rollouts: Rollouts[str] = Rollouts(parallel=2, revisit=revisited.append, ended=ended.append)
    gate = threading.Event()

    future = rollouts.start(
        "staging/web", commit="c1", work=lambda: (gate.wait(10), "done")[1], finish=lambda r: None
    )
    assert rollouts.busy() == {"staging/web"}
    with pytest.raises(RuntimeError, match="already has a rollout"):
        rollouts.start("staging/web", commit="c2", work=lambda: "x", finish=lambda r: None)
    assert rollouts.defer("staging/web", "c1") is False  # the commit being rolled out
    assert rollouts.defer("staging/web", "c2") is True
    assert rollouts.defer("staging/web", "c3") is True
    gate.set()
    assert future.result(10) == "done"
    assert rollouts.wait(10)
    assert revisited == [{"staging/web"}]
    assert ended == ["done"]
    assert rollouts.overtaken("staging/web") == "c1"  # c2 and c3 came after c1's rollout
    assert rollouts.overtaken("staging/web") is None  # forgotten once asked
    rollouts.close()


def test_a_rollout_that_raises_still_lets_its_service_go_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rollouts: Rollouts[str] = Rollouts(parallel=1, revisit=lambda keys: None)

    def boom() -> str:
        raise ValueError("bug")

    future = rollouts.start("staging/web", commit="c1", work=boom, finish=lambda r: None)
    with pytest.raises(ValueError):
        future.result(10)
    assert rollouts.wait(10)
    assert "staging/web: the rollout's thread failed" in caplog.text
    assert rollouts.busy() == frozenset()
    rollouts.close()
    with pytest.raises(RuntimeError, match="stopping"):
        rollouts.start("staging/web", commit="c2", work=lambda: "x", finish=lambda r: None)


def test_environments_have_their_own_slots() -> None:
    rollouts: Rollouts[str] = Rollouts(parallel=1, revisit=lambda keys: None)
    gate = threading.Event()
    rollouts.start(
        "staging/a", commit="c", work=lambda: (gate.wait(10), "a")[1], finish=lambda r: None
    )
    # staging's one slot is taken; production's is free
    other = rollouts.start("production/b", commit="c", work=lambda: "b", finish=lambda r: None)
    assert other.result(10) == "b"
    gate.set()
    assert rollouts.wait(10)
    rollouts.close()
