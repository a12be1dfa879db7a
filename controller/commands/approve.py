"""``ecs-gitops approve ENV/SERVICE [--path CHECKOUT] [--reject]``: answer ECS's approval gate.

A service on ``strategy: ecs`` whose deploymentConfiguration has a PAUSE lifecycle hook stops
at that hook's stage until someone answers it. This command finds the service's cluster and
name (and the environment's region and role) from the checkout, the service deployment ECS
runs for it and the hook awaiting action, and answers it with ContinueServiceDeployment:
CONTINUE, or ROLLBACK with ``--reject``. Does I/O: reads the checkout, calls ECS, prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.errors import ConfigError, EcsGitopsError
from controller.source.tree import load_path
from controller.strategies.ecs.rollout import ENDED, awaiting_hook

JsonDict = dict[str, object]


class NothingAwaiting(EcsGitopsError):
    """No deployment of the service waits for approval."""


def run(args: argparse.Namespace) -> int:
    """Answer the awaiting hook and print what was done; 1 with one line when none awaits."""
    state = load_path(Path(args.path))
    key = str(args.service).strip("/")
    desired = state.services.get(key)
    if desired is None:
        if key in state.invalid:
            raise ConfigError(f"{key} is invalid: {state.invalid[key][0]}")
        known = ", ".join(sorted({*state.services, *state.invalid})) or "none"
        raise ConfigError(f"no service {key} in {args.path} (services: {known})")
    api = EcsApi(clients_for(desired.env))
    cluster, name = desired.cluster, desired.service_name
    briefs = api.list_service_deployments(cluster=cluster, name=name)
    running = [
        str(b["serviceDeploymentArn"])
        for b in briefs
        if b.get("serviceDeploymentArn") and b.get("status") not in ENDED
    ]
    for deployment in api.describe_service_deployments(running) if running else []:
        hook = awaiting_hook(deployment)
        if hook is None:
            continue
        arn = str(deployment["serviceDeploymentArn"])
        stage = deployment.get("lifecycleStage") or "its lifecycle hook"
        api.continue_service_deployment(arn, hook_id=str(hook["hookId"]), approve=not args.reject)
        if args.reject:
            print(f"{key}: rejected at {stage}; ECS rolls back service deployment {arn}")
        else:
            print(f"{key}: approved at {stage}; ECS continues service deployment {arn}")
        return 0
    raise NothingAwaiting(
        f"{key}: nothing awaits approval (no deployment of service {name} in cluster {cluster} "
        "waits on a PAUSE hook)"
    )
