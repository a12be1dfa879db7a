"""Where a change may deploy: allowedAccounts in environment.yaml, and the allow-list decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.core.layout import load_repo
from controller.core.model import Environment
from controller.core.pinning import AllowList, Identity, needs_identity, refusal
from controller.source.tree import read_tree

REPOS = Path(__file__).resolve().parent.parent / "data" / "repos"
MINIMAL = read_tree(REPOS / "minimal")
ENV = "staging/environment.yaml"

HOME = "123456789012"
OTHER = "210987654321"
ME = Identity(account=HOME, arn=f"arn:aws:sts::{HOME}:assumed-role/deployer/ecs-gitops")
FOREIGN = Identity(account=OTHER, arn=f"arn:aws:sts::{OTHER}:assumed-role/x/ecs-gitops")


def load(environment_tail: str) -> tuple[Environment | None, list[str]]:
    files = {**MINIMAL, ENV: MINIMAL[ENV] + environment_tail}
    state = load_repo(files)
    return state.environments.get("staging"), [str(p) for p in state.problems]


def test_allowed_accounts_are_read_from_environment_yaml() -> None:
    env, problems = load(f"allowedAccounts: ['{HOME}', '{OTHER}']\n")
    assert problems == []
    assert env is not None and env.allowed_accounts == (HOME, OTHER)


def test_without_allowed_accounts_the_environment_is_not_pinned() -> None:
    env, problems = load("")
    assert problems == []
    assert env is not None and env.allowed_accounts is None


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (
            "allowedAccounts: ['12345']\n",
            f"{ENV}:7: allowedAccounts[0]: expected a 12-digit AWS account id such as '123456789012'",
        ),
        (
            "allowedAccounts: [123456789012]\n",
            f"{ENV}:7: allowedAccounts[0]: expected a string, got 123456789012 (quote it: '123456789012')",
        ),
        (
            f"allowedAccounts: '{HOME}'\n",
            f"{ENV}:7: allowedAccounts: expected a list, got '{HOME}'",
        ),
        ("allowedAccounts: []\n", f"{ENV}:7: allowedAccounts: must have at least 1 items"),
        (
            f"allowedAcounts: ['{HOME}']\n",
            f"{ENV}:7: unknown key 'allowedAcounts'; did you mean 'allowedAccounts'?",
        ),
    ],
)
def test_a_wrong_allowed_accounts_is_a_located_problem_and_blocks_the_environment(
    tail: str, expected: str
) -> None:
    env, problems = load(tail)
    assert problems == [expected]
    assert env is None  # its services are invalid: nothing of them is deployed


def staging(**fields: object) -> Environment:
    return Environment(name="staging", cluster=str(fields.pop("cluster", "staging")), **fields)  # type: ignore[arg-type]


def test_no_allow_list_needs_no_account_and_refuses_nothing() -> None:
    env = staging(role_arn=f"arn:aws:iam::{OTHER}:role/x")
    assert not needs_identity(env, AllowList())
    assert refusal(env, AllowList(), identity=None, region="us-east-1") is None


@pytest.mark.parametrize(
    ("allow", "env", "needed"),
    [
        (AllowList(accounts=(HOME,)), staging(), True),
        (AllowList(), staging(allowed_accounts=(HOME,)), True),
        (AllowList(clusters=("staging",)), staging(), False),
        (AllowList(clusters=("arn:aws:ecs:*:*:cluster/staging",)), staging(), True),
    ],
)
def test_only_an_account_check_needs_the_account(
    allow: AllowList, env: Environment, needed: bool
) -> None:
    assert needs_identity(env, allow) is needed


@pytest.mark.parametrize(
    ("env", "allow", "identity", "expected"),
    [
        # the credentials act in an allowed account
        (staging(), AllowList(accounts=(HOME,)), ME, None),
        (staging(allowed_accounts=(HOME,)), AllowList(), ME, None),
        # a roleArn into another account
        (
            staging(role_arn=f"arn:aws:iam::{OTHER}:role/x"),
            AllowList(accounts=(HOME,)),
            FOREIGN,
            f"refused: account {OTHER} is not in --allowed-accounts ({HOME}); "
            f"staging acts in it through roleArn arn:aws:iam::{OTHER}:role/x",
        ),
        (
            staging(role_arn=f"arn:aws:iam::{OTHER}:role/x", allowed_accounts=(HOME,)),
            AllowList(),
            FOREIGN,
            f"refused: account {OTHER} is not in staging/environment.yaml allowedAccounts "
            f"({HOME}); staging acts in it through roleArn arn:aws:iam::{OTHER}:role/x",
        ),
        # the controller's own credentials are in another account
        (
            staging(),
            AllowList(accounts=("111111111111", "222222222222")),
            ME,
            f"refused: account {HOME} is not in --allowed-accounts (111111111111, 222222222222); "
            "staging acts in it through the controller's credentials",
        ),
        # both lists apply: allowed by the flags, not by environment.yaml
        (
            staging(allowed_accounts=(OTHER,)),
            AllowList(accounts=(HOME, OTHER)),
            ME,
            f"refused: account {HOME} is not in staging/environment.yaml allowedAccounts "
            f"({OTHER}); staging acts in it through the controller's credentials",
        ),
        # a cluster ARN naming another account
        (
            staging(cluster=f"arn:aws:ecs:us-east-1:{OTHER}:cluster/staging"),
            AllowList(accounts=(HOME,)),
            ME,
            f"refused: account {OTHER} is not in --allowed-accounts ({HOME}); "
            f"cluster arn:aws:ecs:us-east-1:{OTHER}:cluster/staging is in it",
        ),
        (
            staging(cluster=f"arn:aws:ecs:us-east-1:{HOME}:cluster/staging"),
            AllowList(accounts=(HOME,)),
            ME,
            None,
        ),
        # the account could not be found out: refused, never trusted
        (
            staging(allowed_accounts=(HOME,)),
            AllowList(),
            None,
            "refused: the AWS account of staging is unknown, so the allow-lists cannot be checked",
        ),
    ],
)
def test_accounts(
    env: Environment, allow: AllowList, identity: Identity | None, expected: str | None
) -> None:
    assert refusal(env, allow, identity=identity, region="us-east-1") == expected


@pytest.mark.parametrize(
    ("cluster", "patterns", "allowed"),
    [
        ("staging", ("staging",), True),
        ("prod", ("staging",), False),
        ("staging-eu", ("staging-*",), True),
        ("Staging", ("staging",), False),  # cluster names are case-sensitive
        ("prod", ("staging", "prod"), True),
        # a name pattern matches the name of a cluster given as an ARN
        ("arn:aws:ecs:us-east-1:123456789012:cluster/staging", ("staging",), True),
        # an ARN pattern matches the ARN of a cluster given by name, in the account and region
        ("staging", ("arn:aws:ecs:us-east-1:123456789012:cluster/staging",), True),
        ("staging", ("arn:aws:ecs:eu-west-1:123456789012:cluster/staging",), False),
        ("staging", ("arn:aws:ecs:*:123456789012:cluster/*",), True),
        ("staging", ("arn:aws:ecs:*:210987654321:cluster/*",), False),
    ],
)
def test_clusters(cluster: str, patterns: tuple[str, ...], allowed: bool) -> None:
    allow = AllowList(clusters=patterns)
    env = staging(cluster=cluster)
    identity = ME if needs_identity(env, allow) else None
    reason = refusal(env, allow, identity=identity, region="us-east-1")
    if allowed:
        assert reason is None
    else:
        assert reason == (
            f"refused: cluster {cluster} is not in --allowed-clusters ({', '.join(patterns)})"
        )


def test_partition_comes_from_the_caller_arn() -> None:
    china = Identity(account=HOME, arn=f"arn:aws-cn:sts::{HOME}:assumed-role/x/y")
    allow = AllowList(clusters=(f"arn:aws-cn:ecs:cn-north-1:{HOME}:cluster/staging",))
    assert refusal(staging(), allow, identity=china, region="cn-north-1") is None
    assert refusal(staging(), allow, identity=ME, region="cn-north-1") is not None
