"""Push webhooks from GitHub and GitLab: authenticate them, and decide whether they ask for a pass.

GitHub signs the body with HMAC-SHA256 (``X-Hub-Signature-256: sha256=<hex>``); GitLab
sends the shared secret itself (``X-Gitlab-Token``). Both are compared in constant time.
Purely computational.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

# Push events are a few kilobytes; GitHub caps payloads at 25 MB, but a push to a config
# repository that needs more than this is not one the controller has to read to act on.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    """What to answer (HTTP status and a short reason) and whether to run a pass."""

    status: int
    reason: str
    trigger: bool = False
    # the commit the push moved the branch to, when the event says
    after: str | None = None


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


def judge(headers: Mapping[str, str], body: bytes, *, secret: bytes | None, branch: str) -> Verdict:
    """Decide on one ``POST /webhook``: 401 unless authenticated, then a pass for a push
    to ``branch`` (or to an unknown ref), 202 without a pass for anything else."""
    if not secret:
        return Verdict(404, "no webhook secret configured (--webhook-secret-file)")
    sender = authenticate(headers, body, secret=secret)
    if sender is None:
        return Verdict(401, "missing or wrong signature")
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
