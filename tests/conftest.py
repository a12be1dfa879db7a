"""Fixtures shared by the whole suite: the embedded local AWS, and git identity for real git."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from controller.localaws import LocalAws, SimulationOptions


def fast_options() -> SimulationOptions:
    """Fast rollouts: a task starts in 0.2 s, so a rolling update completes in about a second."""
    from controller.localaws import SimulationOptions

    return SimulationOptions(
        fail_images=("*:broken",), stuck_images=("*:stuck",), task_start_seconds=0.2
    )


@pytest.fixture(scope="session")
def _local_aws_server() -> Iterator[LocalAws]:
    from controller.localaws import LocalAws

    with LocalAws(host="127.0.0.1", port=0, options=fast_options()) as server:
        yield server


@pytest.fixture
def local_aws(_local_aws_server: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    """A clean local AWS for one test, with the standard AWS environment pointing at it."""
    _local_aws_server.reset()
    _local_aws_server.options = fast_options()
    monkeypatch.setenv("AWS_ENDPOINT_URL", _local_aws_server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield _local_aws_server


@pytest.fixture(autouse=True)
def _git_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Real git with a known identity and no user or system configuration leaking in."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var, value in {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }.items():
        monkeypatch.setenv(var, value)
