"""Claims: batched, decided by what the tip holds at push time, never hanging their callers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import pytest

from controller.core.outcome import Result
from controller.status.claims import CLAIMED, Claims, claim_status, held_elsewhere
from controller.status.records import ServiceStatus, status_path

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def intent(key: str) -> ServiceStatus:
    return ServiceStatus(
        service=key, result=Result.PROGRESSING, commit="c" * 40, message="m", updatedAt=""
    )


class Remote:
    """The status branch as a mapping, with the push's compare-and-swap of ConfigRepository."""

    def __init__(self, identity: str, files: dict[str, str] | None = None) -> None:
        self.identity = identity
        self.files = files or {}
        self.pushes = 0
        self.fail_with: Exception | None = None

    def commit_status(
        self,
        changes: Mapping[str, str | None],
        *,
        message: str,
        recheck: Callable[[Mapping[str, str]], Mapping[str, str | None]] | None = None,
    ) -> str | None:
        if self.fail_with is not None:
            raise self.fail_with
        wanted = recheck(dict(self.files)) if recheck else changes
        self.pushes += 1
        self.files.update({p: t for p, t in wanted.items() if t is not None})
        return "sha"


def test_a_live_claim_of_another_controller_keeps_this_one_off() -> None:
    theirs = claim_status(intent("staging/web"), me="b/1", now=NOW, timeout_seconds=600)
    remote = Remote("a/1", {status_path("staging/web"): theirs.to_yaml()})

    answer = Claims(remote, now=lambda: NOW).claim(intent("staging/web"), timeout_seconds=600)

    assert answer is not None and "b/1" in answer
    assert ServiceStatus.from_yaml(remote.files[status_path("staging/web")]) == theirs


def test_an_expired_claim_or_ones_own_is_no_obstacle() -> None:
    old = claim_status(intent("staging/web"), me="b/1", now=NOW, timeout_seconds=0)
    later = NOW + timedelta(minutes=5)
    assert held_elsewhere(old, me="a/1", now=later) is None
    assert held_elsewhere(old, me="b/1", now=NOW) is None
    assert held_elsewhere(old, me="a/1", now=NOW) is not None


def test_claims_made_together_share_pushes_and_all_land() -> None:
    remote = Remote("a/1")
    claims = Claims(remote, now=lambda: NOW)
    keys = [f"staging/s{n}" for n in range(10)]
    answers: dict[str, str | None] = {}
    threads = [
        threading.Thread(
            target=lambda k=k: answers.__setitem__(k, claims.claim(intent(k), timeout_seconds=60))
        )
        for k in keys
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert answers == dict.fromkeys(keys)
    assert 1 <= remote.pushes <= len(keys)
    for key in keys:
        claimed = ServiceStatus.from_yaml(remote.files[status_path(key)])
        assert claimed is not None and claimed.phase == CLAIMED and claimed.controller == "a/1"


@pytest.mark.parametrize("error", [RuntimeError("a bug"), OSError("disk")])
def test_a_failing_push_never_hangs_the_rollouts_waiting_on_it(error: Exception) -> None:
    remote = Remote("a/1")
    remote.fail_with = error
    claims = Claims(remote, now=lambda: NOW)
    answers: list[str | None] = []
    threads = [
        threading.Thread(
            target=lambda n=n: answers.append(
                claims.claim(intent(f"staging/s{n}"), timeout_seconds=60)
            )
        )
        for n in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert not any(thread.is_alive() for thread in threads)
    assert answers == [None] * 5
