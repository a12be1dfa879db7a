"""The account check against local-aws: asked once per clients object, never trusted blind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.aws.accounts import environment_refusal
from controller.aws.clients import API_CALLS, clients_for, forget_clients
from controller.core.model import Environment
from controller.core.pinning import AllowList
from controller.localaws import LocalAws

HOME = "123456789012"
STAGING = Environment(name="staging", cluster="staging", region="us-east-1")


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    forget_clients()
    yield
    forget_clients()


def test_the_identity_is_asked_once_per_clients_object(local_aws: LocalAws) -> None:
    API_CALLS.reset()
    allow = AllowList(accounts=(HOME,))
    assert environment_refusal(STAGING, allow) is None
    assert environment_refusal(STAGING, allow) is None
    assert clients_for(STAGING).caller_identity().account == HOME
    assert API_CALLS.by_operation() == {"GetCallerIdentity": 1}


def test_no_allow_list_makes_no_call_at_all(local_aws: LocalAws) -> None:
    API_CALLS.reset()
    assert environment_refusal(STAGING, AllowList()) is None
    assert environment_refusal(STAGING, AllowList(clusters=("staging",))) is None
    assert API_CALLS.by_operation() == {}


def test_an_account_that_cannot_be_found_out_is_refused(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no credentials anywhere: STS cannot be asked, so the allow-list cannot be checked
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)

    reason = environment_refusal(STAGING, AllowList(accounts=(HOME,)))

    assert reason is not None
    assert reason.startswith(
        "refused: cannot tell which AWS account staging would deploy to "
        "(find the AWS account the credentials act in: "
    ), reason
