"""Lease decisions for several controllers sharing one repository: purely computational.

Which units of work (environments, or services with ``--shard-by service``) a controller
renews, takes and releases so that each is held by one controller and every live controller
holds a fair share; until when a lease it holds may be acted on; which status files carry
which lease token. The DynamoDB table and the clock are ``controller.service.leases``'s.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class ShardBy(StrEnum):
    """What one lease covers."""

    ENVIRONMENT = "environment"
    SERVICE = "service"


def unit_of(key: str, shard_by: ShardBy) -> str:
    """The lease unit of a service key ``ENV/SERVICE``: its environment, or the key itself."""
    return key if shard_by is ShardBy.SERVICE else key.split("/", 1)[0]


@dataclass(frozen=True)
class LeaseRecord:
    """One lease as the table holds it."""

    unit: str
    holder: str | None
    token: int
    # wall-clock milliseconds, written by the holder: its own clock at renewal + lease
    expires_at_ms: int

    def expired(self, now_ms: int) -> bool:
        """Whether another controller may take it over at ``now_ms`` (its own clock)."""
        return self.holder is None or self.expires_at_ms < now_ms


@dataclass(frozen=True)
class LeasePlan:
    """What one round of the lease keeper does."""

    renew: tuple[str, ...] = ()
    take: tuple[str, ...] = ()
    release: tuple[str, ...] = ()


def fair_share(units: int, members: int) -> int:
    """The most units one controller holds while ``members`` controllers are alive."""
    return math.ceil(units / max(1, members))


def rank(me: str, unit: str) -> int:
    """Rendezvous rank of ``unit`` for controller ``me`` (lower is preferred).

    Each controller prefers a different order of the free units, so that several starting at
    once mostly reach for different ones instead of racing for the same first unit.
    """
    return int.from_bytes(hashlib.sha256(f"{me}\0{unit}".encode()).digest()[:8], "big")


def plan_leases(
    *,
    me: str,
    units: Sequence[str],
    held: Collection[str],
    records: Mapping[str, LeaseRecord],
    members: int,
    busy: Collection[str] = (),
    now_ms: int,
) -> LeasePlan:
    """One round: renew what it keeps, take free or expired units up to its share, release
    the rest.

    ``held`` are the units this controller holds (by its own memory, not the table's: a
    renewal proves the rest); ``members`` counts the live controllers, itself included. A
    unit over its share is released only when no rollout is under way in it (``busy``), so
    that sharing out never cuts a rollout short; a unit no longer in the repository is
    released at once (nothing runs there any more).
    """
    share = fair_share(len(units), members)
    wanted = set(units)
    gone = sorted(u for u in held if u not in wanted)
    kept = sorted((u for u in held if u in wanted), key=lambda u: rank(me, u))
    release: list[str] = list(gone)
    while len(kept) > share:
        idle = [u for u in kept if u not in busy]
        if not idle:
            break
        # the least preferred idle unit goes first
        release.append(idle[-1])
        kept.remove(idle[-1])
    room = max(0, share - len(kept))
    free = [u for u in units if u not in held and (u not in records or records[u].expired(now_ms))]
    take = sorted(free, key=lambda u: rank(me, u))[:room]
    return LeasePlan(renew=tuple(kept), take=tuple(take), release=tuple(release))


def valid_until(sent_at: float, *, lease_seconds: float) -> float:
    """Until when (on the holder's monotonic clock) a lease renewed by a request SENT at
    ``sent_at`` may be acted on: the lease, less a safety margin.

    Counting from the send, not the answer, means a reply delayed by the network or a paused
    process never extends what the table granted.
    """
    return sent_at + lease_seconds - safety_margin(lease_seconds)


def safety_margin(lease_seconds: float) -> float:
    """How long before the table's expiry a holder stops acting: a fifth of the lease.

    It covers the difference between controllers' wall clocks and the time between a
    holder's last check and the request it then sends.
    """
    return lease_seconds / 5


def renew_every(lease_seconds: float) -> float:
    """Renewals go out every third of the lease: two can fail before the lease runs out."""
    return lease_seconds / 3


def trailer(tokens: Mapping[str, int]) -> list[str]:
    """The status commit's trailer lines, one per unit: ``Ecs-Gitops-Lease: UNIT=TOKEN``."""
    return [f"{LEASE_TRAILER}: {unit}={token}" for unit, token in sorted(tokens.items())]


LEASE_TRAILER = "Ecs-Gitops-Lease"
