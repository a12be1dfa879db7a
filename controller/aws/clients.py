"""boto3 clients per (region, role), an API call counter, and AWS error translation.

This module does I/O: it builds boto3 sessions, may call STS to assume a role, and asks STS
who the clients are only when an allow-list needs the account (``caller_identity``). Endpoint,
region and credentials come from the standard AWS configuration (boto3 honours
``AWS_ENDPOINT_URL`` itself), so the same code talks to AWS or to a local server.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import boto3
import botocore.credentials
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from controller.core.model import Environment
from controller.core.pinning import Identity
from controller.errors import AwsError

# botocore retries a throttled, 5xx or dropped call a few times with backoff and jitter, and in
# adaptive mode also slows its own request rate after throttling; a longer outage is left to
# the controller's retry of the whole step (``controller.strategies.base.drive``), whose pauses
# are bounded by the poll interval and the rollout's deadline.
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 3}, user_agent_extra="ecs-gitops"
)

# Error codes AWS uses for throttling: always worth retrying later.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "LimitExceededException",
    }
)
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)


class CallCounter:
    """Counts API calls by (operation, error code); the code is "" for a success.

    One logical call counts once, whatever botocore's own retries did; those retries are
    counted apart, by operation (``retries``). Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._retries: Counter[str] = Counter()

    def record(self, operation: str, code: str = "", *, retries: int = 0) -> None:
        with self._lock:
            self._counts[(operation, code)] += 1
            if retries:
                self._retries[operation] += retries

    def retries(self) -> dict[str, int]:
        """A snapshot: operation -> calls botocore sent again (throttled, 5xx, dropped)."""
        with self._lock:
            return dict(self._retries)

    def counts(self) -> dict[tuple[str, str], int]:
        """A snapshot: (operation, error code) -> calls."""
        with self._lock:
            return dict(self._counts)

    def by_operation(self) -> dict[str, int]:
        """A snapshot: operation -> calls, successful or not."""
        result: Counter[str] = Counter()
        for (operation, _), count in self.counts().items():
            result[operation] += count
        return dict(result)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._retries.clear()


API_CALLS = CallCounter()


def _operation(event_name: str) -> str:
    # Event names are "after-call.<service>.<Operation>".
    return event_name.rsplit(".", 1)[-1]


def _count_call(*, event_name: str, parsed: Any = None, **_: Any) -> None:
    code, retries = "", 0
    if isinstance(parsed, dict):
        code = str(parsed.get("Error", {}).get("Code", ""))
        # botocore's own count of the times it sent this call again
        retries = int(parsed.get("ResponseMetadata", {}).get("RetryAttempts") or 0)
    API_CALLS.record(_operation(event_name), code, retries=retries)


def _count_failed_call(*, event_name: str, exception: Any = None, **_: Any) -> None:
    # after-call-error fires when no response was parsed (connection refused, timeouts).
    name = type(exception).__name__ if exception is not None else "Error"
    API_CALLS.record(_operation(event_name), name)


def _counted(client: Any) -> Any:
    client.meta.events.register("after-call.*.*", _count_call)
    client.meta.events.register("after-call-error.*.*", _count_failed_call)
    return client


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the controller uses in one (region, role)."""

    ecs: Any
    elbv2: Any
    autoscaling: Any  # Application Auto Scaling
    cloudwatch: Any
    region: str
    # the session behind the clients: STS in the same credentials is made from it on first use
    session: Any = field(default=None, repr=False, compare=False)
    _identity: list[Identity] = field(default_factory=list, repr=False, compare=False)
    _identity_lock: threading.Lock = field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    @cached_property
    def sts(self) -> Any:
        return _counted(self.session.client("sts", config=CLIENT_CONFIG))

    def caller_identity(self) -> Identity:
        """The account these clients act in (STS GetCallerIdentity), asked once per clients object.

        The credentials of a (region, role) pair stay in one account for the life of the
        process, so one answer serves every pass; a failure is not kept, the next call asks again.
        """
        with self._identity_lock:
            if not self._identity:
                with aws_errors("find the AWS account the credentials act in"):
                    answer = self.sts.get_caller_identity()
                self._identity.append(
                    Identity(account=str(answer["Account"]), arn=str(answer["Arn"]))
                )
            return self._identity[0]


def _assumed_role_session(base: boto3.Session, role_arn: str, region: str | None) -> boto3.Session:
    """A session whose credentials come from STS AssumeRole and refresh before they expire."""
    sts = _counted(base.client("sts", config=CLIENT_CONFIG))

    def fetch() -> dict[str, str]:
        with aws_errors(f"assume role {role_arn}"):
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="ecs-gitops")
        credentials = answer["Credentials"]
        expiry: datetime = credentials["Expiration"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": expiry.astimezone(UTC).isoformat(),
        }

    refreshable = botocore.credentials.RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    core = botocore.session.get_session()
    # botocore has no public setter for a session's credential source; this is the documented idiom.
    core._credentials = refreshable  # type: ignore[attr-defined]
    return boto3.Session(botocore_session=core, region_name=region or base.region_name)


def build_clients(*, region: str | None, role_arn: str | None) -> AwsClients:
    """Clients for one region (None: the configured default) and role (None: the caller's)."""
    with aws_errors("set up AWS clients"):
        session = boto3.Session(region_name=region) if region else boto3.Session()
        if role_arn:
            session = _assumed_role_session(session, role_arn, region)
        if not session.region_name:
            raise AwsError(
                "set up AWS clients: no region (set AWS_REGION or the environment's region)"
            )
        return AwsClients(
            ecs=_counted(session.client("ecs", config=CLIENT_CONFIG)),
            elbv2=_counted(session.client("elbv2", config=CLIENT_CONFIG)),
            autoscaling=_counted(session.client("application-autoscaling", config=CLIENT_CONFIG)),
            cloudwatch=_counted(session.client("cloudwatch", config=CLIENT_CONFIG)),
            region=session.region_name,
            session=session,
        )


_CLIENTS: dict[tuple[str | None, str | None], AwsClients] = {}
_CLIENTS_LOCK = threading.Lock()


def clients_for(env: Environment) -> AwsClients:
    """The clients of an environment, built once per (region, role) per process."""
    key = (env.region, env.role_arn)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = build_clients(region=env.region, role_arn=env.role_arn)
        return _CLIENTS[key]


def forget_clients() -> None:
    """Drop every cached client (after the AWS configuration changed, e.g. in tests)."""
    with _CLIENTS_LOCK:
        _CLIENTS.clear()


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Translate botocore failures into ``AwsError("<doing>: <message>")``, chained with ``from``.

    Throttling, 5xx and connection errors are retryable; everything else is not.
    """
    try:
        yield
    except ClientError as e:
        error = e.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = error.get("Message") or str(e)
        retryable = code in THROTTLING_CODES or status >= 500
        raise AwsError(f"{doing}: {code}: {message}", code=code, retryable=retryable) from e
    except _NETWORK_ERRORS as e:
        raise AwsError(f"{doing}: {e}", code=type(e).__name__, retryable=True) from e
    except BotoCoreError as e:
        raise AwsError(f"{doing}: {e}", code=type(e).__name__, retryable=False) from e
