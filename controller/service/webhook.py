"""Push webhooks from GitHub and GitLab: authenticate them, and decide whether they ask for a pass.

GitHub signs the body with HMAC-SHA256 (``X-Hub-Signature-256: sha256=<hex>``); GitLab
sends the shared secret itself (``X-Gitlab-Token``). Both are compared in constant time.
A body nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed, and a delivery
seen in the last hour (the same ``X-GitHub-Delivery``, ``Idempotency-Key`` or
``X-Gitlab-Event-UUID``) is acknowledged without asking for another pass.
Purely computational: the clock that ages remembered deliveries is passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Push events are a few kilobytes; GitHub caps payloads at 25 MB, but a push to a config
# repository that needs more than this is not one the controller has to read to act on.
MAX_BODY_BYTES = 1024 * 1024
# Push events nest about five levels deep. json.loads recurses once per level, so a signed
# body of 100,000 brackets would exhaust the stack: deeper bodies are refused unparsed.
MAX_JSON_DEPTH = 64
# GitHub and GitLab retry for minutes and let people redeliver by hand; an hour covers the
# automatic retries. Each remembered id costs a digest, so 10,000 of them are under 1 MB.
DELIVERY_MEMORY_SECONDS = 3600.0
DELIVERY_MEMORY_SIZE = 10_000
# the header naming a delivery, by sender, in order of preference: GitLab's Idempotency-Key
# stays the same across retries; X-Gitlab-Event-UUID names the event (older GitLab)
DELIVERY_HEADERS = {
    "github": ("X-GitHub-Delivery",),
    "gitlab": ("Idempotency-Key", "X-Gitlab-Event-UUID"),
}


@dataclass(frozen=True)
class Verdict:
    """What to answer (HTTP status and a short reason) and whether to run a pass."""

    status: int
    reason: str
    trigger: bool = False
    # the commit the push moved the branch to, when the event says
    after: str | None = None


class RecentDeliveries:
    """The deliveries seen in the last ``seconds``, at most ``size`` of them (oldest dropped).

    Shared by the server's worker threads: checking and recording an id is one locked step,
    so two copies of a delivery arriving together still ask for one pass.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        seconds: float = DELIVERY_MEMORY_SECONDS,
        size: int = DELIVERY_MEMORY_SIZE,
    ) -> None:
        self._clock = clock
        self._seconds = seconds
        self._size = size
        self._lock = threading.Lock()
        # digest of "sender:id" -> when it was first seen, oldest first
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def first_time(self, sender: str, delivery: str) -> bool:
        """Record ``delivery`` from ``sender``; False when it was already seen recently."""
        # a digest, so that a long id costs no more memory than a short one
        key = hashlib.sha256(f"{sender}:{delivery}".encode()).digest()
        with self._lock:
            now = self._clock()
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if seen_at > now - self._seconds:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


# a JSON string (escapes included) or a bracket: brackets inside strings do not nest
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether ``body`` nests arrays and objects more than ``limit`` deep.

    One pass over the brackets outside strings, with no recursion; for invalid JSON it errs
    on the deep side, which only refuses a body that json.loads would refuse too.
    """
    depth = 0
    for token in _JSON_TOKEN.finditer(body):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif bracket in (b"]", b"}"):
            depth = max(depth - 1, 0)
    return False


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def github_signature(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def authenticate(headers: Mapping[str, str], body: bytes, *, secret: bytes) -> str | None:
    """The sender (``github`` or ``gitlab``) when the request carries a valid proof, else None."""
    signature = _header(headers, "X-Hub-Signature-256")
    if signature is not None:
        expected = github_signature(secret, body)
        return "github" if hmac.compare_digest(signature.encode(), expected.encode()) else None
    token = _header(headers, "X-Gitlab-Token")
    if token is not None:
        return "gitlab" if hmac.compare_digest(token.encode(), secret) else None
    return None


def delivery_id(headers: Mapping[str, str], sender: str) -> str | None:
    """The id the sender gives this delivery, when it gives one."""
    for name in DELIVERY_HEADERS.get(sender, ()):
        value = _header(headers, name)
        if value and value.strip():
            return value.strip()
    return None


def judge(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: bytes | None,
    branch: str,
    deliveries: RecentDeliveries | None = None,
) -> Verdict:
    """Decide on one ``POST /webhook``: 401 unless authenticated, 400 for a body nested too
    deep, 200 without a pass for a delivery already in ``deliveries``, then a pass for a push
    to ``branch`` (or to an unknown ref), 202 without a pass for anything else."""
    if not secret:
        return Verdict(404, "no webhook secret configured (--webhook-secret-file)")
    sender = authenticate(headers, body, secret=secret)
    if sender is None:
        return Verdict(401, "missing or wrong signature")
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        return Verdict(400, f"body nested deeper than {MAX_JSON_DEPTH} levels")
    delivery = delivery_id(headers, sender)
    if (
        deliveries is not None
        and delivery is not None
        and not deliveries.first_time(sender, delivery)
    ):
        return Verdict(200, "duplicate delivery, ignored")
    event = (
        _header(headers, "X-GitHub-Event")
        if sender == "github"
        else _header(headers, "X-Gitlab-Event")
    )
    if sender == "github" and event == "ping":
        return Verdict(200, "pong")
    if event not in (None, "push", "Push Hook"):
        return Verdict(202, f"ignored: {event} events do not change the repository")
    try:
        event_body = json.loads(body or b"{}")
    except ValueError:
        event_body = None
    if not isinstance(event_body, dict):
        event_body = {}
    ref, after = event_body.get("ref"), event_body.get("after")
    if isinstance(ref, str) and ref not in (branch, f"refs/heads/{branch}"):
        return Verdict(202, f"ignored: a push to {ref}, not to {branch}")
    return Verdict(
        202,
        f"pass requested by a {sender} push",
        trigger=True,
        after=after if isinstance(after, str) else None,
    )
