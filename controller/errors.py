"""Error types shared by every layer. Each says what was being done and whether a retry helps.

Purely computational.
"""

from __future__ import annotations


class EcsGitopsError(Exception):
    """An expected failure: reported to the user as one line, never as a traceback."""

    retryable: bool = False


class ConfigError(EcsGitopsError):
    """The config repository is invalid: terminal until git changes."""


class AwsError(EcsGitopsError):
    """An AWS call failed. ``retryable`` is true for throttling, network and 5xx errors."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class GitError(EcsGitopsError):
    """A git operation failed (clone, fetch, commit, push)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
