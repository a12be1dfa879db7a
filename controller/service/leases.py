"""Leases in DynamoDB: several ``run`` processes share one repository's environments.

Does I/O: DynamoDB through boto3 (the table of ``--lease-table``), a thread that renews the
leases, a botocore hook that refuses AWS writes made without a valid lease. The decisions
(what to renew, take, release; until when a lease may be acted on) are
``controller.core.leases``'s.

The table: partition key ``lease`` (S). One item per unit of work (an environment, or
``ENV/SERVICE`` with ``--shard-by service``): ``holder`` (the controller's identity),
``token`` (N, +1 on every change of holder), ``expiresAt`` (N, Unix milliseconds), and one
``rollout:ENV/SERVICE`` attribute (S, the rollout record as JSON) per rollout under way there.
One item per live controller, ``member#IDENTITY`` with its own ``expiresAt``, so that each
knows how many are alive and takes at most its fair share.

Why two controllers never both act for one unit
------------------------------------------------
1. The table grants a unit to one holder at a time: taking it is a conditional write
   (``attribute_not_exists(lease) OR expiresAt < :now``) that also adds 1 to ``token``;
   renewing is conditional on ``holder = :me AND token = :token``. DynamoDB applies
   conditional writes on one item one after the other, so of two controllers taking a unit
   one wins, and a renewal after someone else took over fails.
2. A holder acts only while its lease is *valid*: until (the moment, on its monotonic clock,
   it SENT its last successful renewal) + ``--lease-seconds`` - a safety margin (a fifth of
   the lease). The renewal wrote ``expiresAt`` = its wall clock at that moment (taken before
   the send) + ``--lease-seconds``, and another controller takes over only once its own wall
   clock has passed ``expiresAt``. So validity ends a margin before anyone else can start,
   provided (a) the controllers' wall clocks differ by less than the margin (on AWS, NTP
   through the Amazon Time Sync Service keeps them within milliseconds), and (b) the holder's
   monotonic clock does not run slower than real time by more than what is left of the
   margin. A process paused by SIGSTOP, a long GC or a stalled host sees, when it resumes,
   that its monotonic clock passed the validity: a renewal's late answer never extends it,
   since validity counts from the send.
3. Every acting step checks validity right before it: each AWS write a rollout sends (a
   botocore ``before-call`` hook on the environment's clients), each rollout checkpoint (a
   conditional write on the lease item, ``holder = :me AND token = :token``), each status
   publish (a consistent read of the lease item: holder and token still ours). A refused
   step sets the unit's stop event: rollouts pause at their next safe point and report
   Progressing, which is not published.
What remains is the time between a check and the request it guards (microseconds, unless
the process is paused in exactly that gap), which the margin covers except for a pause
longer than the margin between the check and the send: a window no client-side lease
closes, since ECS takes no fencing token. Status commits carry the lease token in an
``Ecs-Gitops-Lease: UNIT=TOKEN`` trailer (and a rollout's status file in
``details.lease``), so that what happened can be told apart afterwards.

Handover: every rollout checkpoint is also written to the lease item, so the next holder
reads the rollout record there and resumes it (``Journal`` with a ``SharedJournal``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import boto3
from botocore.config import Config

from controller.aws.clients import API_CALLS, aws_errors
from controller.core.leases import (
    LeaseRecord,
    ShardBy,
    plan_leases,
    renew_every,
    trailer,
    unit_of,
    valid_until,
)
from controller.core.outcome import Result
from controller.errors import AwsError, EcsGitopsError
from controller.status.journal import JournalEntry, entry_from_json, entry_to_json
from controller.status.records import ServiceStatus, key_of, status_path

log = logging.getLogger("ecs-gitops")

KEY = "lease"
MEMBER_PREFIX = "member#"
ROLLOUT_PREFIX = "rollout:"
# in the status file a rollout writes: UNIT=TOKEN of the lease it was written under (not
# "leaseToken": a name with "token" in it is masked as a secret)
LEASE_DETAIL = "lease"
# a reader that keeps no lease (``status --lease-table``) sizes its client timeouts as for
# the default lease
READ_LEASE_SECONDS = 30.0
# a member item expired this many leases ago is deleted by whichever controller sees it
FORGET_MEMBERS_AFTER = 10
_READS = ("Describe", "List", "Get", "BatchGet")
# every attribute by placeholder: no expression trips over DynamoDB's reserved words
_NAMES = {"#k": KEY, "#h": "holder", "#t": "token", "#e": "expiresAt"}


class LeaseError(EcsGitopsError):
    """The lease table cannot be used (a wrong key schema, no access)."""


def controller_id() -> str:
    """This process's identity in the table: the host, the process and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _count(*, event_name: str, parsed: Any = None, **_: Any) -> None:
    code = ""
    if isinstance(parsed, dict):
        code = str(parsed.get("Error", {}).get("Code", ""))
    API_CALLS.record(event_name.rsplit(".", 1)[-1], code)


class LeaseTable:
    """The DynamoDB table of leases: one thin method per request."""

    def __init__(self, name: str, *, lease_seconds: float, client: Any = None) -> None:
        self.name = name
        if client is None:
            # a renewal that takes longer than a third of the lease is as good as failed
            timeout = max(1.0, renew_every(lease_seconds))
            client = boto3.client(
                "dynamodb",
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": 2},
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    user_agent_extra="ecs-gitops",
                ),
            )
            client.meta.events.register("after-call.*.*", _count)
        self.dynamodb = client

    def ensure(self) -> None:
        """Use the table as it is, or create it (on-demand capacity) and wait until ACTIVE."""
        doing = f"use lease table {self.name}"
        try:
            with aws_errors(doing):
                table = self.dynamodb.describe_table(TableName=self.name)["Table"]
        except AwsError as e:
            if e.code != "ResourceNotFoundException":
                raise LeaseError(str(e)) from e
            table = self._create()
        schema = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
        if schema != [(KEY, "HASH")]:
            shown = ", ".join(f"{n} ({t})" for n, t in schema)
            raise LeaseError(
                f"{doing}: its key is {shown}, not a partition key {KEY!r} of type S alone; "
                "name another table (it is created on demand) or fix this one"
            )

    def _create(self) -> dict[str, Any]:
        doing = f"create lease table {self.name}"
        try:
            with aws_errors(doing):
                self.dynamodb.create_table(
                    TableName=self.name,
                    KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                )
        except AwsError as e:
            if e.code != "ResourceInUseException":  # another controller created it meanwhile
                raise LeaseError(str(e)) from e
        with aws_errors(f"wait for lease table {self.name} to be ACTIVE"):
            self.dynamodb.get_waiter("table_exists").wait(
                TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )
            return dict(self.dynamodb.describe_table(TableName=self.name)["Table"])

    def scan(self) -> tuple[dict[str, LeaseRecord], dict[str, int]]:
        """Every lease, and every member's expiry (ms), read consistently."""
        leases: dict[str, LeaseRecord] = {}
        members: dict[str, int] = {}
        with aws_errors(f"read lease table {self.name}"):
            pages = self.dynamodb.get_paginator("scan").paginate(
                TableName=self.name,
                ConsistentRead=True,
                ProjectionExpression="#k, #h, #t, #e",
                ExpressionAttributeNames=_NAMES,
            )
            for page in pages:
                for item in page.get("Items", []):
                    name = item[KEY]["S"]
                    expires = int(item.get("expiresAt", {}).get("N", "0"))
                    if name.startswith(MEMBER_PREFIX):
                        members[name[len(MEMBER_PREFIX) :]] = expires
                    else:
                        leases[name] = _record(name, item)
        return leases, members

    def heartbeat(self, me: str, *, expires_ms: int) -> None:
        with aws_errors(f"renew membership of {me} in {self.name}"):
            self.dynamodb.put_item(
                TableName=self.name,
                Item={KEY: {"S": MEMBER_PREFIX + me}, "expiresAt": {"N": str(expires_ms)}},
            )

    def forget_member(self, member: str, *, expires_ms: int) -> None:
        """Delete a dead controller's member item, unless it came back meanwhile."""
        try:
            with aws_errors(f"forget member {member} of {self.name}"):
                self.dynamodb.delete_item(
                    TableName=self.name,
                    Key={KEY: {"S": MEMBER_PREFIX + member}},
                    ConditionExpression="#e = :seen",
                    ExpressionAttributeNames={"#e": "expiresAt"},
                    ExpressionAttributeValues={":seen": {"N": str(expires_ms)}},
                )
        except AwsError as e:
            if e.code != "ConditionalCheckFailedException":
                raise

    def leave(self, me: str) -> None:
        with aws_errors(f"leave lease table {self.name}"):
            self.dynamodb.delete_item(TableName=self.name, Key={KEY: {"S": MEMBER_PREFIX + me}})

    def take(self, unit: str, me: str, *, now_ms: int, expires_ms: int) -> int | None:
        """Take a free or expired lease; its new token, or None when another has it."""
        try:
            with aws_errors(f"take lease {unit}"):
                answer = self.dynamodb.update_item(
                    TableName=self.name,
                    Key={KEY: {"S": unit}},
                    UpdateExpression="SET #h = :me, #e = :exp ADD #t :one",
                    ConditionExpression="attribute_not_exists(#k) OR #e < :now",
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={
                        ":me": {"S": me},
                        ":exp": {"N": str(expires_ms)},
                        ":now": {"N": str(now_ms)},
                        ":one": {"N": "1"},
                    },
                    ReturnValues="UPDATED_NEW",
                )
        except AwsError as e:
            if e.code == "ConditionalCheckFailedException":
                return None
            raise
        return int(answer["Attributes"]["token"]["N"])

    def _held_update(
        self,
        unit: str,
        me: str,
        token: int,
        *,
        doing: str,
        update: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """A write conditional on ``holder = me AND token = token``; False when refused."""
        condition = "#h = :me AND #t = :token"
        try:
            with aws_errors(doing):
                self.dynamodb.update_item(
                    TableName=self.name,
                    Key={KEY: {"S": unit}},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    # DynamoDB refuses a placeholder that no expression uses
                    ExpressionAttributeNames={
                        k: v
                        for k, v in {**_NAMES, **(names or {})}.items()
                        if k in condition or k in update
                    },
                    ExpressionAttributeValues={
                        ":me": {"S": me},
                        ":token": {"N": str(token)},
                        **(values or {}),
                    },
                )
        except AwsError as e:
            if e.code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def renew(self, unit: str, me: str, token: int, *, expires_ms: int) -> bool:
        return self._held_update(
            unit,
            me,
            token,
            doing=f"renew lease {unit}",
            update="SET #e = :exp",
            values={":exp": {"N": str(expires_ms)}},
        )

    def release(self, unit: str, me: str, token: int) -> bool:
        """Let another take it at once (expired; the holder stays named until then)."""
        return self._held_update(
            unit,
            me,
            token,
            doing=f"release lease {unit}",
            update="SET #e = :zero",
            values={":zero": {"N": "0"}},
        )

    def put_rollout(self, unit: str, me: str, token: int, *, key: str, record: str) -> bool:
        return self._held_update(
            unit,
            me,
            token,
            doing=f"record the rollout of {key} in lease {unit}",
            update="SET #r = :r",
            names={"#r": ROLLOUT_PREFIX + key},
            values={":r": {"S": record}},
        )

    def drop_rollout(self, unit: str, me: str, token: int, *, key: str) -> bool:
        return self._held_update(
            unit,
            me,
            token,
            doing=f"forget the rollout of {key} in lease {unit}",
            update="REMOVE #r",
            names={"#r": ROLLOUT_PREFIX + key},
        )

    def items(self, units: Collection[str]) -> dict[str, dict[str, Any]]:
        """The whole items of ``units``, read consistently (100 per request)."""
        found: dict[str, dict[str, Any]] = {}
        wanted = sorted(units)
        with aws_errors(f"read leases from {self.name}"):
            for start in range(0, len(wanted), 100):
                keys: list[dict[str, Any]] = [{KEY: {"S": u}} for u in wanted[start : start + 100]]
                while keys:
                    answer = self.dynamodb.batch_get_item(
                        RequestItems={self.name: {"Keys": keys, "ConsistentRead": True}}
                    )
                    for item in answer.get("Responses", {}).get(self.name, []):
                        found[item[KEY]["S"]] = item
                    keys = answer.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
        return found


def read_leases(name: str, *, client: Any = None) -> dict[str, LeaseRecord]:
    """Every lease in table ``name`` by unit, as the keepers last wrote them (one consistent
    Scan, read-only: the table is never created here). LeaseError when it does not exist."""
    table = LeaseTable(name, lease_seconds=READ_LEASE_SECONDS, client=client)
    try:
        leases, _members = table.scan()
    except AwsError as e:
        if e.code == "ResourceNotFoundException":
            raise LeaseError(
                f"read lease table {name}: it does not exist (run --lease-table {name} creates "
                "it); is AWS_REGION the controllers' region?"
            ) from e
        raise
    return leases


def _record(unit: str, item: Mapping[str, Any]) -> LeaseRecord:
    return LeaseRecord(
        unit=unit,
        holder=item.get("holder", {}).get("S"),
        token=int(item.get("token", {}).get("N", "0")),
        expires_at_ms=int(item.get("expiresAt", {}).get("N", "0")),
    )


@dataclass
class _Held:
    token: int
    # monotonic seconds: see ``valid_until``
    valid_until: float
    lost: bool = False


class LeaseStop(threading.Event):
    """Set when the controller stops or when the lease of one unit is not valid any more.

    Its state is computed when asked (``is_set``), from the clock: a thread that resumes
    after a pause sees the lease gone before it can act, without waiting for the keeper.
    ``reason`` says why a rollout paused when the lease is what stopped it (the strategies
    read it as any stop event's reason, knowing nothing of leases).
    """

    def __init__(self, *, stop: threading.Event, why_not: Callable[[], str | None]) -> None:
        super().__init__()
        self._stop = stop
        self._why_not = why_not

    def is_set(self) -> bool:
        return super().is_set() or self._stop.is_set() or self._why_not() is not None

    @property
    def reason(self) -> str | None:
        """Why the lease stopped the rollout; None while valid or when the controller stops."""
        if self._stop.is_set():
            return None
        return self._why_not()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            if left <= 0:
                break
            self._stop.wait(left)
        return self.is_set()


# the unit whose lease must be valid for an AWS write this thread sends (see ``acting``)
_ACTING = threading.local()


def _fence_call(*, event_name: str, **_: Any) -> None:
    """botocore ``before-call``: refuse a write made for a unit whose lease is not valid."""
    check: Callable[[], str | None] | None = getattr(_ACTING, "check", None)
    if check is None:
        return
    operation = event_name.rsplit(".", 1)[-1]
    if operation.startswith(_READS):
        return
    refusal = check()
    if refusal is not None:
        # retryable: the rollout's stop event is set too, so it pauses instead of failing
        raise AwsError(f"{operation} not sent: {refusal}", code="LeaseLost", retryable=True)


class LeaseKeeper:
    """This controller's leases: taken, renewed and released on a thread of their own.

    Implements what a pass needs (``controller.leasing.LeaseGuard``), the status publisher's
    fence (``StatusFence``) and, through ``journal``, the shared rollout journal.
    """

    def __init__(
        self,
        *,
        table: LeaseTable,
        lease_seconds: float,
        shard_by: ShardBy = ShardBy.ENVIRONMENT,
        me: str | None = None,
        observe: LeaseObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.lease_seconds = lease_seconds
        self.shard_by = shard_by
        self.me = me or controller_id()
        self.observe = observe or LeaseObserver()
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._units: tuple[str, ...] | None = None
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        # units with a rollout under way (set by ``run``): never released to share out
        self.busy: Callable[[], Collection[str]] = frozenset
        # called after this controller took a unit (a pass should look at it soon)
        self.on_take: Callable[[Sequence[str]], None] = lambda units: None
        self.journal = _TableJournal(self)

    # ------------------------------------------------------------- the keeper's thread

    def start(self) -> None:
        self.table.ensure()
        self._thread = threading.Thread(target=self._loop, name="leases", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Release every lease and leave the table, so that others take over at once."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease_seconds)
        with self._lock:
            held, self._held = dict(self._held), {}
        for unit, lease in held.items():
            try:
                self.table.release(unit, self.me, lease.token)
            except EcsGitopsError as e:
                log.warning("lease %s not released (it expires on its own): %s", unit, e)
        try:
            self.table.leave(self.me)
        except EcsGitopsError as e:
            log.warning("%s", e)
        self.observe.held([])

    def _loop(self) -> None:
        every = renew_every(self.lease_seconds)
        while not self._closed.is_set():
            try:
                self.round()
            except EcsGitopsError as e:
                log.warning("lease round failed (retried in %.1fs): %s", every, e)
            except Exception:  # a bug must not stop renewals silently; the leases run out
                log.exception("lease round: unexpected error")
            self._wake.wait(every)
            self._wake.clear()

    def round(self) -> None:
        """Renew, take and release, once (the keeper's thread calls it every third of a lease)."""
        with self._lock:
            units = self._units
        if units is None:
            return  # no pass has said what the repository holds yet
        lease_ms = int(self.lease_seconds * 1000)
        now_ms = int(self._wall() * 1000)
        self.table.heartbeat(self.me, expires_ms=now_ms + lease_ms)
        records, members = self.table.scan()
        now_ms = int(self._wall() * 1000)
        alive = {m for m, expires in members.items() if expires >= now_ms} | {self.me}
        for member, expires in members.items():
            # a controller killed long ago leaves its member item: the scan need not read it
            if member != self.me and expires < now_ms - FORGET_MEMBERS_AFTER * lease_ms:
                self.table.forget_member(member, expires_ms=expires)
        with self._lock:
            held = {u: h.token for u, h in self._held.items() if not h.lost}
            lost = [u for u, h in self._held.items() if h.lost]
            for unit in lost:
                del self._held[unit]
        busy = set(self.busy())
        plan = plan_leases(
            me=self.me,
            units=units,
            held=held,
            records=records,
            members=len(alive),
            busy=busy,
            now_ms=now_ms,
        )
        for unit in plan.renew:
            self._renew(unit, held[unit])
        taken = [u for u in plan.take if self._take(u, records.get(u))]
        for unit in plan.release:
            self._release(unit, held[unit])
        with self._lock:
            self.observe.held(sorted(self._held))
        if taken:
            log.info("took the lease of %s", ", ".join(taken))
            self.on_take(taken)

    def _renew(self, unit: str, token: int) -> None:
        sent = self._clock()
        expires_ms = int(self._wall() * 1000) + int(self.lease_seconds * 1000)
        try:
            ok = self.table.renew(unit, self.me, token, expires_ms=expires_ms)
        except EcsGitopsError as e:
            # kept until its validity runs out; the next round tries again
            self.observe.renewal(self._clock() - sent, ok=False)
            log.warning("lease %s not renewed: %s", unit, e)
            return
        self.observe.renewal(self._clock() - sent, ok=ok)
        with self._lock:
            lease = self._held.get(unit)
            if lease is None or lease.token != token:
                return
            if ok:
                lease.valid_until = valid_until(sent, lease_seconds=self.lease_seconds)
            else:
                lease.lost = True
        if not ok:
            self._lost(unit, "another controller took it over")

    def _take(self, unit: str, record: LeaseRecord | None) -> bool:
        sent = self._clock()
        now_ms = int(self._wall() * 1000)
        try:
            token = self.table.take(
                unit, self.me, now_ms=now_ms, expires_ms=now_ms + int(self.lease_seconds * 1000)
            )
        except EcsGitopsError as e:
            log.warning("lease %s not taken: %s", unit, e)
            return False
        if token is None:
            return False
        with self._lock:
            self._held[unit] = _Held(
                token=token, valid_until=valid_until(sent, lease_seconds=self.lease_seconds)
            )
        if record is not None and record.holder not in (None, self.me):
            self.observe.handover()
            log.info("lease %s taken over from %s (token %d)", unit, record.holder, token)
        return True

    def _release(self, unit: str, token: int) -> None:
        with self._lock:
            self._held.pop(unit, None)
        try:
            self.table.release(unit, self.me, token)
            log.info("released the lease of %s to share the work out", unit)
        except EcsGitopsError as e:
            log.warning("lease %s not released (it expires on its own): %s", unit, e)

    def _lost(self, unit: str, why: str) -> None:
        log.warning("lost the lease of %s: %s; nothing more is done there", unit, why)
        self.observe.lost()

    def lose(self, unit: str, why: str) -> None:
        """A conditional write found the lease someone else's: stop acting there at once."""
        with self._lock:
            lease = self._held.get(unit)
            if lease is None or lease.lost:
                return
            lease.lost = True
        self._lost(unit, why)

    # ------------------------------------------------------------- what a pass asks

    def unit_of(self, key: str) -> str:
        return unit_of(key, self.shard_by)

    def offer(self, keys: Sequence[str]) -> None:
        units = tuple(sorted({self.unit_of(k) for k in keys}))
        with self._lock:
            changed, self._units = units != self._units, units
        if changed:
            self._wake.set()

    def token(self, unit: str) -> int | None:
        """The token of a valid lease of ``unit``; None when this controller may not act."""
        with self._lock:
            lease = self._held.get(unit)
            if lease is None or lease.lost or self._clock() >= lease.valid_until:
                return None
            return lease.token

    def holds(self, key: str) -> bool:
        return self.token(self.unit_of(key)) is not None

    def held(self) -> dict[str, int]:
        """The units whose lease is valid now, with their tokens."""
        with self._lock:
            units = list(self._held)
        return {u: t for u in units if (t := self.token(u)) is not None}

    def stop_for(self, key: str, stop: threading.Event) -> LeaseStop:
        unit = self.unit_of(key)
        return LeaseStop(stop=stop, why_not=lambda: self.why_not(unit))

    def why_not(self, unit: str) -> str | None:
        """Why this controller may not act on ``unit`` now, as a rollout's pause says it; None
        while its lease is valid."""
        with self._lock:
            lease = self._held.get(unit)
            # a lost lease is forgotten at the next round: not held any more means lost too
            if lease is None or lease.lost:
                return f"the lease of {unit} was lost to another controller, which resumes it"
            if self._clock() >= lease.valid_until:
                return f"the lease of {unit} was not renewed in time; its next holder resumes it"
            return None

    @contextmanager
    def acting(self, key: str, clients: Any) -> Iterator[None]:
        for name in ("ecs", "elbv2", "autoscaling", "cloudwatch"):
            client = getattr(clients, name, None)
            if client is not None:
                client.meta.events.register(
                    "before-call.*.*", _fence_call, unique_id="ecs-gitops-lease-fence"
                )
        unit = self.unit_of(key)

        def check() -> str | None:
            if self.token(unit) is None:
                return f"this controller's lease of {unit} is lost or ran out"
            return None

        previous = getattr(_ACTING, "check", None)
        _ACTING.check = check
        try:
            yield
        finally:
            _ACTING.check = previous

    # ------------------------------------------------------------- the status fence

    def admit(self, changes: Mapping[str, str | None]) -> tuple[dict[str, str | None], list[str]]:
        """Keep the status changes of units whose lease is still ours (checked in the table)."""
        by_unit: dict[str, list[str]] = {}
        admitted: dict[str, str | None] = {}
        for path, text in changes.items():
            key = key_of(path)
            if key is None:
                admitted[path] = text
            else:
                by_unit.setdefault(self.unit_of(key), []).append(path)
        mine = {u: t for u in by_unit if (t := self.token(u)) is not None}
        try:
            items = self.table.items(mine) if mine else {}
        except EcsGitopsError as e:
            log.warning("status not published: the lease table could not be read: %s", e)
            items = {}
            mine = {}
        tokens: dict[str, int] = {}
        for unit, paths in sorted(by_unit.items()):
            token = mine.get(unit)
            record = _record(unit, items[unit]) if unit in items else None
            ours = record is not None and (record.holder, record.token) == (self.me, token)
            if token is None or not ours:
                if token is not None:
                    self.lose(unit, "the table names another holder")
                log.warning(
                    "status of %s not published: this controller no longer holds the lease of %s",
                    ", ".join(sorted({str(key_of(p)) for p in paths})),
                    unit,
                )
                continue
            tokens[unit] = token
            admitted.update({p: _with_token(p, changes[p], unit=unit, token=token) for p in paths})
        return admitted, trailer(tokens)


# The results a rollout writes: the status file names the lease it was written under. Other
# results are compared with the file every pass, where a token would only be a difference.
_TOKENED = frozenset({Result.PROGRESSING, Result.SYNCED, Result.ROLLED_BACK})


def _with_token(path: str, text: str | None, *, unit: str, token: int) -> str | None:
    """A rollout's status file with ``details.lease`` (UNIT=TOKEN); anything else as it is."""
    if text is None or path != status_path(str(key_of(path))):
        return text
    status = ServiceStatus.from_yaml(text)
    if status is None or status.result not in _TOKENED:
        return text
    lease = f"{unit}={token}"
    return replace(status, details={**(status.details or {}), LEASE_DETAIL: lease}).to_yaml()


class _TableJournal:
    """The rollout records of the units a keeper holds, on their lease items."""

    def __init__(self, keeper: LeaseKeeper) -> None:
        self._keeper = keeper

    def record(self, entry: JournalEntry) -> None:
        keeper = self._keeper
        unit = keeper.unit_of(entry.key)
        token = keeper.token(unit)
        if token is None:
            return  # the rollout's stop event is set: it pauses at once
        text = json.dumps({**json.loads(entry_to_json(entry)), "leaseToken": token})
        try:
            if not keeper.table.put_rollout(unit, keeper.me, token, key=entry.key, record=text):
                keeper.lose(unit, "a rollout checkpoint was refused: the table names another")
        except EcsGitopsError as e:
            # a later checkpoint may get through; else the next holder resumes from the last
            # one shared
            log.warning("%s: rollout checkpoint not shared: %s", entry.key, e)

    def forget(self, key: str) -> None:
        keeper = self._keeper
        unit = keeper.unit_of(key)
        token = keeper.token(unit)
        if token is None:
            return
        try:
            keeper.table.drop_rollout(unit, keeper.me, token, key=key)
        except EcsGitopsError as e:
            log.warning("%s: the ended rollout's record stays in the lease table: %s", key, e)

    def entries(self) -> dict[str, JournalEntry]:
        keeper = self._keeper
        units = keeper.held()
        found: dict[str, JournalEntry] = {}
        for unit, item in keeper.table.items(units).items():
            for name, value in item.items():
                if not name.startswith(ROLLOUT_PREFIX):
                    continue
                key = name[len(ROLLOUT_PREFIX) :]
                try:
                    record = json.loads(value["S"])
                    record.pop("leaseToken", None)
                    found[key] = entry_from_json(json.dumps(record), key=key)
                except (KeyError, ValueError, TypeError) as e:
                    log.warning("%s: unreadable rollout record in lease %s: %s", key, unit, e)
        return found


class LeaseObserver:
    """What the keeper tells metrics (``ControllerMetrics.leases`` implements it)."""

    def held(self, units: Sequence[str]) -> None: ...

    def handover(self) -> None: ...

    def lost(self) -> None: ...

    def renewal(self, seconds: float, *, ok: bool) -> None: ...
