"""Which environments the allow-lists keep the controller out of, asking STS only when needed.

Does I/O: for an environment whose check needs its account, builds its clients (assuming its
roleArn) and calls STS GetCallerIdentity, once per clients object. With no allow-list in force
it makes no AWS call at all. The decision itself is ``controller.core.pinning.refusal``.
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.aws.clients import clients_for
from controller.core.model import DesiredService, Environment
from controller.core.pinning import AllowList, Identity, needs_identity, refusal
from controller.errors import EcsGitopsError


def environment_refusal(env: Environment, allow: AllowList) -> str | None:
    """Why nothing of ``env`` may be deployed ("refused: ..."), or None when it may."""
    identity: Identity | None = None
    region = env.region
    if needs_identity(env, allow):
        try:
            clients = clients_for(env)
            identity = clients.caller_identity()
        except EcsGitopsError as e:
            # an account that cannot be checked is not trusted: refused this pass, asked again next
            return f"refused: cannot tell which AWS account {env.name} would deploy to ({e})"
        region = clients.region
    return refusal(env, allow, identity=identity, region=region)


def refused_environments(services: Iterable[DesiredService], allow: AllowList) -> dict[str, str]:
    """Environment name -> why it is refused, for the refused environments of ``services``."""
    environments = {service.env.name: service.env for service in services}
    found: dict[str, str] = {}
    for name, env in sorted(environments.items()):
        reason = environment_refusal(env, allow)
        if reason is not None:
            found[name] = reason
    return found
