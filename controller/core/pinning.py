"""Where a change may deploy: the accounts and clusters an environment is pinned to.

Two allow-lists apply. The controller's own ``--allowed-accounts`` / ``--allowed-clusters``
(an ``AllowList``) come from its command line, which no commit can change; environment.yaml
``allowedAccounts`` comes from git and pins one environment. An environment outside either is
refused as a whole: none of its services is deployed. The account checked is the one the
environment's credentials act in (after its roleArn is assumed, as STS GetCallerIdentity
reports it), and the account of its cluster when the cluster is given as an ARN.

Purely computational: the caller asks STS, and only when ``needs_identity`` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from controller.core.model import Environment

ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME
_CLUSTER_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):ecs:(?P<region>[^:]*):(?P<account>[^:]*):cluster/(?P<name>.+)$"
)


@dataclass(frozen=True)
class AllowList:
    """The controller's ``--allowed-accounts`` and ``--allowed-clusters`` (empty: no limit).

    ``clusters`` holds names or ARNs, each possibly a shell-style glob (``staging-*``,
    ``arn:aws:ecs:*:123456789012:cluster/*``): a name pattern is matched against the cluster's
    name, an ARN pattern against its full ARN.
    """

    accounts: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.accounts or self.clusters)


@dataclass(frozen=True)
class Identity:
    """Who an environment's credentials are (STS GetCallerIdentity's ``Account`` and ``Arn``)."""

    account: str
    arn: str = ""

    @property
    def partition(self) -> str:
        parts = self.arn.split(":")
        return parts[1] if len(parts) > 2 and parts[1] else "aws"


def needs_identity(env: Environment, allow: AllowList) -> bool:
    """Whether deciding about ``env`` needs the account its credentials act in (an STS call).

    Only when an account list is in force, or a cluster pattern is an ARN (which names an
    account and a region): with no allow-list at all, the controller never calls STS.
    """
    return bool(
        allow.accounts
        or env.allowed_accounts is not None
        or any(pattern.startswith("arn:") for pattern in allow.clusters)
    )


def refusal(
    env: Environment, allow: AllowList, *, identity: Identity | None, region: str | None
) -> str | None:
    """Why nothing of ``env`` may be deployed (one line starting "refused: "), or None.

    ``identity`` is who the environment's credentials are (None when ``needs_identity`` is
    false: it is then not needed), ``region`` the region its clients use.
    """
    if identity is None and needs_identity(env, allow):
        return f"refused: the AWS account of {env.name} is unknown, so the allow-lists cannot be checked"
    arn = _CLUSTER_ARN.match(env.cluster)
    name = arn.group("name") if arn else env.cluster
    full_arn = env.cluster if arn else None
    if full_arn is None and identity is not None and region:
        full_arn = f"arn:{identity.partition}:ecs:{region}:{identity.account}:cluster/{name}"

    if allow.clusters and not any(
        fnmatchcase(full_arn or "", pattern)
        if pattern.startswith("arn:")
        else fnmatchcase(name, pattern)
        for pattern in allow.clusters
    ):
        return (
            f"refused: cluster {env.cluster} is not in --allowed-clusters "
            f"({', '.join(allow.clusters)})"
        )

    # the account the clients act in, then the one a cluster ARN names (ECS would refuse a
    # cluster of another account anyway, but a change pointing there is refused by name)
    accounts: list[tuple[str, str]] = []
    if identity is not None:
        acting = f"roleArn {env.role_arn}" if env.role_arn else "the controller's credentials"
        accounts.append((identity.account, f"{env.name} acts in it through {acting}"))
    if arn and arn.group("account"):
        accounts.append((arn.group("account"), f"cluster {env.cluster} is in it"))
    for account, why in accounts:
        if allow.accounts and account not in allow.accounts:
            return (
                f"refused: account {account} is not in --allowed-accounts "
                f"({', '.join(allow.accounts)}); {why}"
            )
        if env.allowed_accounts is not None and account not in env.allowed_accounts:
            return (
                f"refused: account {account} is not in {env.name}/environment.yaml allowedAccounts "
                f"({', '.join(env.allowed_accounts)}); {why}"
            )
    return None
