"""The HOLDER column and the ``lease`` of ``status --lease-table``: pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.core.leases import LeaseRecord
from controller.core.status_table import lease_json, lease_of, lease_text

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def lease(
    unit: str, *, holder: str | None = "ctl-a", token: int = 3, left_ms: int = 20_000
) -> LeaseRecord:
    return LeaseRecord(unit=unit, holder=holder, token=token, expires_at_ms=NOW_MS + left_ms)


def test_a_service_is_covered_by_its_own_lease_else_its_environment_s() -> None:
    leases = {"staging": lease("staging"), "production/api": lease("production/api")}
    assert lease_of("staging/web", leases) == leases["staging"]
    assert lease_of("production/api", leases) == leases["production/api"]
    assert lease_of("production/web", leases) is None


@pytest.mark.parametrize(
    ("record", "shown"),
    [
        (lease("staging"), "ctl-a (token 3, expires in 20s)"),
        (lease("staging", left_ms=-5_000), "ctl-a (token 3, expired 5s ago)"),
        (LeaseRecord("staging", "ctl-a", 3, 0), "ctl-a (token 3, released)"),
        (lease("staging", holder=None), "-"),
        (None, "-"),
    ],
)
def test_lease_text(record: LeaseRecord | None, shown: str) -> None:
    assert lease_text(record, now=NOW) == shown


def test_lease_json() -> None:
    assert lease_json(lease("staging")) == {
        "holder": "ctl-a",
        "token": 3,
        "expiresAt": "2026-01-01T12:00:20.000Z",
    }
    assert lease_json(None) is None
