"""Credential redaction and the retry decision for git failures (no git needed)."""

from __future__ import annotations

import pytest
from git import GitCommandError

from controller.source.git_errors import Failure, classify, git_error, redact_url
from controller.source.git_repo import default_workdir, parse_author


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pass@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("https://ghp_token123@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("ssh://git@host:22/o/r.git", "ssh://***@host:22/o/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("/srv/git/config.git", "/srv/git/config.git"),
        ("file:///srv/git/config.git", "file:///srv/git/config.git"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("stderr", "failure"),
    [
        ("fatal: couldn't find remote ref refs/heads/main", Failure.PERMANENT),
        ("fatal: '/x' does not appear to be a git repository", Failure.PERMANENT),
        (
            "remote: Repository not found.\nfatal: repository 'https://h/x/' not found",
            Failure.PERMANENT,
        ),
        ("fatal: Authentication failed for 'https://h/x/'", Failure.PERMANENT),
        ("fatal: unable to access 'https://h/x/': Could not resolve host: h", Failure.TRANSIENT),
        (
            "fatal: unable to access 'https://h/x/': Failed to connect to h port 1",
            Failure.TRANSIENT,
        ),
        (
            "fatal: unable to access 'https://h/': The requested URL returned error: 503",
            Failure.TRANSIENT,
        ),
        ("ssh: connect to host h port 22: Connection refused", Failure.TRANSIENT),
        ("fatal: Unable to create '/w/.git/index.lock': File exists.", Failure.TRANSIENT),
        ("error: inflate: data stream error (incorrect header check)", Failure.DAMAGED),
        ("fatal: loose object 1234 (stored in .git/objects/12/34) is corrupt", Failure.DAMAGED),
        ("fatal: bad config line 3 in file .git/config", Failure.DAMAGED),
        ("something nobody has seen before", Failure.DAMAGED),
    ],
)
def test_classify(stderr: str, failure: Failure) -> None:
    assert classify(stderr) is failure


def test_git_error_says_what_was_done_and_hides_credentials() -> None:
    url = "https://bot:hunter2@example.com/config.git"
    cause = GitCommandError(
        ["git", "fetch", "origin"],
        128,
        stderr="fatal: unable to access 'https://bot:hunter2@example.com/config.git/': "
        "Failed to connect to example.com port 443",
    )
    error = git_error("fetch main from https://***@example.com/config.git", cause, url=url)
    assert str(error).startswith("fetch main from https://***@example.com/config.git: fatal:")
    assert error.retryable
    assert "hunter2" not in str(error)
    assert "hunter2" not in str(cause)


def test_default_workdir_ignores_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/someone")
    a = default_workdir("https://a:one@example.com/config.git")
    b = default_workdir("https://a:two@example.com/config.git/")
    assert a == b
    assert a.parent.as_posix() == "/var/cache/someone/ecs-gitops"
    assert default_workdir("https://example.com/other.git") != a


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("ecs-gitops", ("ecs-gitops", "ecs-gitops@localhost")),
        ("Deploy Bot <bot@example.com>", ("Deploy Bot", "bot@example.com")),
        ("  Ops  ", ("Ops", "ecs-gitops@localhost")),
    ],
)
def test_parse_author(author: str, expected: tuple[str, str]) -> None:
    assert parse_author(author) == expected


@pytest.mark.parametrize("author", ["", "<bot@example.com>", "A <b> <c>", "A <b c>"])
def test_parse_author_rejects(author: str) -> None:
    with pytest.raises(ValueError):
        parse_author(author)
