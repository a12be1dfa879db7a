"""What ``ecs-gitops status --live`` reads of ECS: running and desired counts, and the deployment
in flight, of each service.

The services are read as ``plan`` reads them (``fetch_live_by_environment``: where each
strategy's description says its live state is, a failure confined to its environment); for a
strategy whose deployments ECS runs itself, the service deployment in flight is described too
(DescribeServiceDeployments) for its status and lifecycle stage. A job has no service to count.
Does I/O (AWS reads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.live import ClientsFor, fetch_live_by_environment
from controller.core.model import DesiredService
from controller.core.status_table import LiveCounts
from controller.errors import EcsGitopsError
from controller.strategies.descriptions import describe


def live_counts(
    services: Sequence[DesiredService],
    *,
    known_digests: Mapping[str, str] | None = None,
    clients: ClientsFor = clients_for,
) -> dict[str, LiveCounts]:
    """Running/desired counts and the deployment in flight, by service key (read-only calls)."""
    counted = [s for s in services if not describe(s.deploy.strategy).runs_once]
    read = fetch_live_by_environment(counted, clients=clients, known_digests=known_digests)
    found: dict[str, LiveCounts] = {
        key: LiveCounts(error=error) for key, error in read.unreadable.items()
    }
    in_flight: dict[str, str] = {}  # key -> service deployment ARN
    for desired in counted:
        live = read.services.get(desired.key)
        if live is None:
            continue
        answer = live.service
        if answer is None:
            found[desired.key] = LiveCounts(deployment="absent")
            continue
        deployments = answer.get("deployments") or []
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
        found[desired.key] = LiveCounts(
            running=int(answer.get("runningCount") or 0),
            desired=int(answer.get("desiredCount") or 0),
            deployment=str((primary or {}).get("rolloutState") or ""),
        )
        arn = answer.get("currentServiceDeployment")
        if describe(desired.deploy.strategy).service_deployments and arn:
            in_flight[desired.key] = str(arn)
    by_key = {s.key: s for s in counted}
    for key, arn in in_flight.items():
        try:
            described = EcsApi(clients(by_key[key].env)).describe_service_deployments([arn])
        except EcsGitopsError:
            continue  # the counts are known; the stage is a detail
        for deployment in described:
            stage = deployment.get("lifecycleStage")
            shown = " ".join(str(part) for part in (deployment.get("status"), stage) if part)
            found[key] = LiveCounts(
                running=found[key].running, desired=found[key].desired, deployment=shown
            )
    return found
