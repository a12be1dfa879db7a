"""The lease keeper against local-aws's DynamoDB: table, sharing, takeover, fencing, handover.

Clocks are injected (the table's expiry is wall-clock milliseconds, validity is monotonic),
so that expiry is a step of the test, not a sleep.
"""

from __future__ import annotations

import threading

import boto3
import pytest

from controller.aws.clients import build_clients
from controller.core.leases import ShardBy
from controller.errors import AwsError
from controller.localaws import LocalAws
from controller.service.leases import LeaseError, LeaseKeeper, LeaseTable
from controller.status.journal import JournalEntry
from controller.status.records import marker_path, status_path

LEASE = 30.0
ENVS = ["dev", "production", "qa", "staging"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(local_aws: LocalAws) -> Clock:
    return Clock()


def keeper(name: str, clock: Clock, *, table: str = "leases", **kwargs: object) -> LeaseKeeper:
    lease_table = LeaseTable(table, lease_seconds=LEASE)
    lease_table.ensure()
    return LeaseKeeper(
        table=lease_table,
        lease_seconds=LEASE,
        me=name,
        clock=clock,
        wall=lambda: 1_700_000_000 + clock.now,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_table_is_created_on_demand_and_a_wrong_key_schema_is_one_clear_error(
    local_aws: LocalAws,
) -> None:
    LeaseTable("fresh", lease_seconds=LEASE).ensure()
    dynamodb = boto3.client("dynamodb")
    table = dynamodb.describe_table(TableName="fresh")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "lease", "KeyType": "HASH"}]
    LeaseTable("fresh", lease_seconds=LEASE).ensure()  # used as it is the second time

    dynamodb.create_table(
        TableName="other",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(LeaseError, match=r"its key is id \(HASH\), not a partition key 'lease'"):
        LeaseTable("other", lease_seconds=LEASE).ensure()


def test_three_keepers_share_four_environments_each_held_once(clock: Clock) -> None:
    keepers = [keeper(n, clock) for n in ("a", "b", "c")]
    for k in keepers:
        k.offer([f"{env}/web" for env in ENVS])
    for _ in range(3):
        for k in keepers:
            k.round()
    held = [set(k.held()) for k in keepers]
    assert sorted(u for h in held for u in h) == ENVS
    assert all(len(h) <= 2 for h in held)


def test_a_stopped_holder_is_taken_over_after_expiry_and_is_fenced_everywhere(
    clock: Clock,
) -> None:
    old, new = keeper("old", clock), keeper("new", clock)
    old.offer(["staging/web"])
    old.round()
    assert old.holds("staging/web")
    token = old.held()["staging"]
    new.offer(["staging/web"])
    new.round()
    assert not new.holds("staging/web")  # held and not expired: left alone

    # old is frozen: it renews nothing; past the lease, new takes over
    stop = old.stop_for("staging/web", threading.Event())
    assert not stop.is_set()
    clock.now += LEASE + 1
    assert stop.is_set()  # validity ran out on old's own clock, before anyone took over
    assert not old.holds("staging/web")
    new.round()
    assert new.held() == {"staging": token + 1}

    # old wakes: its renewal is refused, and nothing it would publish goes out
    old.round()
    assert old.held() == {}
    changes = {status_path("staging/web"): "x", marker_path("staging/web"): "y"}
    assert old.admit(changes) == ({}, [])
    assert new.admit(changes) == (changes, [f"Ecs-Gitops-Lease: staging={token + 1}"])

    # and an AWS write made for it is refused before it is sent
    clients = build_clients(region="us-east-1", role_arn=None)
    with old.acting("staging/web", clients), pytest.raises(AwsError, match="not sent"):
        clients.ecs.create_cluster(clusterName="staging")
    with old.acting("staging/web", clients):
        clients.ecs.list_clusters()  # reads are not fenced
    with new.acting("staging/web", clients):
        clients.ecs.create_cluster(clusterName="staging")


def test_rollout_records_are_handed_over_with_the_lease(clock: Clock) -> None:
    old, new = keeper("old", clock), keeper("new", clock)
    old.offer(["staging/web", "staging/api"])
    old.round()
    entry = JournalEntry(
        key="staging/web",
        commit="c" * 40,
        desired_state="sha256:1",
        strategy="rolling",
        progress={"phase": "wait", "deployment_id": "ecs-svc/1"},
        cluster="staging",
        service_name="web",
    )
    old.journal.record(entry)
    assert old.journal.entries() == {"staging/web": entry}

    clock.now += LEASE + 1
    new.offer(["staging/web", "staging/api"])
    new.round()
    assert new.journal.entries() == {"staging/web": entry}
    # the old holder's checkpoint is refused by the table and leaves the record alone
    clock.now -= LEASE + 1  # even with a clock that says its lease is valid
    old.journal.record(JournalEntry(**{**entry.__dict__, "progress": {"phase": "rollback"}}))
    assert not old.holds("staging/web")
    assert new.journal.entries() == {"staging/web": entry}
    new.journal.forget("staging/web")
    assert new.journal.entries() == {}


def test_a_released_lease_is_taken_at_once_and_service_shards_are_separate(clock: Clock) -> None:
    a = keeper("a", clock, shard_by=ShardBy.SERVICE)
    a.offer(["staging/web", "staging/api"])
    a.round()
    assert set(a.held()) == {"staging/web", "staging/api"}
    a.close()
    b = keeper("b", clock, shard_by=ShardBy.SERVICE)
    b.offer(["staging/web", "staging/api"])
    b.round()
    assert set(b.held()) == {"staging/web", "staging/api"}


def test_a_controller_dead_long_ago_is_forgotten_from_the_members(clock: Clock) -> None:
    dead, alive = keeper("dead", clock), keeper("alive", clock)
    for k in (dead, alive):
        k.offer(["staging/web"])
        k.round()
    assert set(alive.table.scan()[1]) == {"dead", "alive"}
    clock.now += 12 * LEASE
    alive.round()
    assert set(alive.table.scan()[1]) == {"alive"}
