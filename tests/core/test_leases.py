"""The lease decisions: fair shares, takeovers, releases and validity, without AWS."""

from __future__ import annotations

import pytest

from controller.core.leases import (
    LeaseRecord,
    ShardBy,
    fair_share,
    plan_leases,
    renew_every,
    safety_margin,
    trailer,
    unit_of,
    valid_until,
)

NOW = 1_000_000
ENVS = ["dev", "production", "qa", "staging"]


def record(
    unit: str, holder: str | None, *, expires: int = NOW + 10_000, token: int = 1
) -> LeaseRecord:
    return LeaseRecord(unit=unit, holder=holder, token=token, expires_at_ms=expires)


@pytest.mark.parametrize(
    ("units", "members", "share"),
    [(4, 1, 4), (4, 2, 2), (4, 3, 2), (4, 4, 1), (4, 5, 1), (40, 3, 14), (0, 3, 0), (4, 0, 4)],
)
def test_fair_share_is_the_ceiling_of_units_over_live_members(
    units: int, members: int, share: int
) -> None:
    assert fair_share(units, members) == share


def test_unit_of_a_service_is_its_environment_or_the_service_itself() -> None:
    assert unit_of("staging/web", ShardBy.ENVIRONMENT) == "staging"
    assert unit_of("staging/web", ShardBy.SERVICE) == "staging/web"


def test_alone_a_controller_takes_every_free_unit() -> None:
    plan = plan_leases(me="a", units=ENVS, held=(), records={}, members=1, now_ms=NOW)
    assert sorted(plan.take) == ENVS
    assert plan.renew == plan.release == ()


def test_a_unit_held_by_another_is_left_until_it_expires() -> None:
    records = {"dev": record("dev", "b"), "qa": record("qa", "b", expires=NOW - 1)}
    plan = plan_leases(me="a", units=ENVS, held=(), records=records, members=1, now_ms=NOW)
    assert "dev" not in plan.take
    assert "qa" in plan.take  # expired: taken over


def test_a_released_lease_is_free_at_once() -> None:
    records = {"dev": record("dev", "b", expires=0)}
    plan = plan_leases(me="a", units=["dev"], held=(), records=records, members=2, now_ms=NOW)
    assert plan.take == ("dev",)


def test_three_controllers_end_with_every_unit_held_once_and_none_over_its_share() -> None:
    """Simulated rounds: each takes up to its share; the table's condition lets one win."""
    table: dict[str, LeaseRecord] = {}
    held: dict[str, set[str]] = {m: set() for m in "abc"}
    for _ in range(4):
        for me in "abc":
            plan = plan_leases(
                me=me, units=ENVS, held=held[me], records=table, members=3, now_ms=NOW
            )
            for unit in plan.release:
                held[me].discard(unit)
                table[unit] = record(unit, me, expires=0)
            for unit in plan.take:
                if unit not in table or table[unit].expired(NOW):
                    table[unit] = record(unit, me)
                    held[me].add(unit)
    owners = [m for unit in ENVS for m in "abc" if unit in held[m]]
    assert len(owners) == len(ENVS)  # each unit exactly once
    assert all(len(units) <= 2 for units in held.values())
    assert sum(len(u) for u in held.values()) == 4


def test_over_its_share_a_controller_releases_idle_units_only() -> None:
    plan = plan_leases(
        me="a", units=ENVS, held=ENVS, records={}, members=4, busy={"dev", "qa"}, now_ms=NOW
    )
    # share 1: two busy units are kept (a rollout is never cut short to share out)
    assert set(plan.release) <= {"production", "staging"}
    assert set(plan.renew) >= {"dev", "qa"}
    assert plan.take == ()


def test_a_unit_gone_from_the_repository_is_released() -> None:
    plan = plan_leases(
        me="a", units=["dev"], held=["dev", "old"], records={}, members=1, now_ms=NOW
    )
    assert plan.release == ("old",)
    assert plan.renew == ("dev",)


def test_controllers_prefer_different_free_units() -> None:
    firsts = {
        plan_leases(me=me, units=ENVS, held=(), records={}, members=4, now_ms=NOW).take
        for me in ("ctl-1", "ctl-2", "ctl-3", "ctl-4", "ctl-5", "ctl-6")
    }
    assert len(firsts) > 1


def test_validity_counts_from_the_send_and_ends_a_margin_before_the_table_expiry() -> None:
    assert valid_until(100.0, lease_seconds=30) == pytest.approx(100.0 + 30 - safety_margin(30))
    assert safety_margin(30) > 0
    # two renewals can fail before the lease runs out
    assert 2 * renew_every(30) < 30 - safety_margin(30)


def test_the_trailer_names_each_unit_and_its_token() -> None:
    assert trailer({"staging": 3, "dev": 1}) == [
        "Ecs-Gitops-Lease: dev=1",
        "Ecs-Gitops-Lease: staging=3",
    ]
