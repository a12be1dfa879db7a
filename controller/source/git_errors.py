"""Turn failed git commands into ``GitError``: say what was being done, hide credentials,
and decide whether a retry can help.

Purely computational: reads exception text, never runs git.
"""

from __future__ import annotations

import re
from enum import Enum
from urllib.parse import urlsplit

from git import GitCommandError

from controller.errors import GitError

# userinfo in any scheme://user:pass@host URL, wherever it appears in a message
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]+@")


class Failure(Enum):
    """Why a git command failed, as far as its message tells."""

    TRANSIENT = "transient"  # network, server 5xx, a lock held by another git: retry later
    PERMANENT = "permanent"  # branch or repository missing, access denied: retrying won't help
    DAMAGED = "damaged"  # the local clone is broken (corrupt objects, bad config): re-clone


# Checked in this order: local damage first, because a broken clone can also make a local
# transport report "the remote end hung up"; then what the remote refused; then the network.
_DAMAGED = (
    "corrupt",
    "bad object",
    "inflate",
    "object file",
    "not a git repository",
    "bad config",
    "did not send all necessary objects",
    "unable to read",
    "missing blob",
    "missing tree",
    "invalid object",
)
_PERMANENT = (
    "couldn't find remote ref",
    "does not appear to be a git repository",
    "repository not found",
    "not found",
    "authentication failed",
    "permission denied",
    "returned error: 401",
    "returned error: 403",
    "returned error: 404",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "host key verification failed",
    "remote rejected",
)
_TRANSIENT = (
    "could not resolve",
    "failed to connect",
    "couldn't connect",
    "connection refused",
    "connection reset",
    "connection timed out",
    "timed out",
    "did not complete in",  # GitPython's kill_after_timeout
    "network is unreachable",
    "no route to host",
    "temporary failure",
    "early eof",
    "the remote end hung up",
    "rpc failed",
    "returned error: 5",
    "gnutls",
    "ssl",
    "tls",
    "index.lock",
    ".lock': file exists",
    "cannot lock ref",
    "unable to create",
    "could not read from remote repository",
)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (tokens often sit in the user part).

    scp-like addresses (``git@host:org/repo``) carry no password and are returned as they are.
    """
    return _USERINFO.sub(r"\g<scheme>***@", url)


def same_repository(a: str, b: str) -> bool:
    """Whether two URLs name the same repository once credentials are ignored."""
    return redact_url(a).rstrip("/") == redact_url(b).rstrip("/")


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's credentials removed, in whatever form git echoed them."""
    text = redact_url(text)
    try:
        parts = urlsplit(url)
        secrets = [s for s in (parts.password, parts.username) if s]
    except ValueError:
        secrets = []
    for secret in secrets:
        if len(secret) >= 3:  # a one-letter user name would blank out half the message
            text = text.replace(secret, "***")
    return text


def stderr_of(error: GitCommandError) -> str:
    """The raw stderr of a failed command (GitPython stores it wrapped in a label)."""
    text = str(error.stderr or "")
    match = re.fullmatch(r"\s*stderr: '(.*)'\s*", text, flags=re.DOTALL)
    return match.group(1) if match else text


def classify(message: str) -> Failure:
    """Sort a git error message into transient, permanent or local damage."""
    lowered = message.lower()
    for needles, failure in (
        (_DAMAGED, Failure.DAMAGED),
        (_PERMANENT, Failure.PERMANENT),
        (_TRANSIENT, Failure.TRANSIENT),
    ):
        if any(needle in lowered for needle in needles):
            return failure
    # Unknown failures are blamed on the clone: re-cloning costs one fetch, and a failure
    # that survives a fresh clone is reported as it is.
    return Failure.DAMAGED


def summary(message: str) -> str:
    """The lines of a git message that say what went wrong, on one line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    important = [line for line in lines if line.lower().startswith(("fatal:", "error:", "!"))]
    chosen = important or lines[-1:] or ["git failed without a message"]
    return "; ".join(chosen)


def git_error(action: str, error: GitCommandError, *, url: str) -> GitError:
    """A ``GitError`` for ``error`` raised while doing ``action``, free of credentials.

    Also scrubs the original exception in place, because the caller chains it with
    ``raise ... from`` and a logged traceback must not leak the URL's password either.
    """
    raw = stderr_of(error) or str(error.stdout or "")
    error.stderr = scrub(str(error.stderr or ""), url)
    error.stdout = scrub(str(error.stdout or ""), url)
    failure = classify(raw)
    return GitError(f"{action}: {scrub(summary(raw), url)}", retryable=failure is Failure.TRANSIENT)
