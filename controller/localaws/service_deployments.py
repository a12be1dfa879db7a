"""The service deployments API's records: service deployments and service revisions, as ECS keeps them.

Pure bookkeeping, no I/O and no clock: every change takes the time it happens at (``t``, seconds
since the epoch) and answers are plain dicts in the shapes of botocore's ECS model
(``ServiceDeployment``, ``ServiceDeploymentBrief``, ``ServiceRevision``). The ECS simulation
(``controller.localaws.simulation``) says when a deployment starts, succeeds, rolls back or
stops, and how many tasks each revision has; this module only remembers and answers.

ECS's rules followed here: a service deployment moves its service from its source revisions (the
ones running tasks when it started) to one target revision; a circuit-breaker rollback or a
StopServiceDeployment(ROLLBACK) is the same service deployment going ROLLBACK_IN_PROGRESS, then
ROLLBACK_SUCCESSFUL (or ROLLBACK_FAILED), with ``rollback.serviceRevisionArn`` the revision it goes
back to; a newer deployment supersedes an unfinished one, which is STOPPED.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Statuses after which nothing changes any more.
FINISHED = frozenset({"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
_ID_ALPHABET = string.ascii_letters + string.digits


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


def _arn(service_arn: str, kind: str, resource_id: str) -> str:
    # service/CLUSTER/NAME -> service-deployment/CLUSTER/NAME/ID (or service-revision/...)
    return f"{service_arn.replace(':service/', f':{kind}/', 1)}/{resource_id}"


@dataclass(frozen=True)
class RevisionCounts:
    """Tasks of one revision: what the scheduler wants, and what runs or is starting."""

    requested: int = 0
    running: int = 0
    pending: int = 0

    def answer(self, arn: str) -> dict[str, Any]:
        return {
            "arn": arn,
            "requestedTaskCount": self.requested,
            "runningTaskCount": self.running,
            "pendingTaskCount": self.pending,
        }


@dataclass
class HookRun:
    """One lifecycle hook run at the current stage (``lifecycleHookDetails``)."""

    hook_id: str
    target_type: str  # AWS_LAMBDA | PAUSE
    target_arn: str | None
    status: str  # AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT
    timeout_action: str  # ROLLBACK | CONTINUE
    expires_at: float | None = None

    def answer(self) -> dict[str, Any]:
        answer = {
            "hookId": self.hook_id,
            "targetType": self.target_type,
            "targetArn": self.target_arn,
            "status": self.status,
            "expiresAt": _dt(self.expires_at),
            "timeoutAction": self.timeout_action,
        }
        return {k: v for k, v in answer.items() if v is not None}


def image_digest(image: object) -> str:
    """The digest ECS resolves an image reference to; local-aws has no registry, so it is
    derived from the reference (stable for the same reference, distinct for another)."""
    text = str(image)
    if "@sha256:" in text:
        return text.split("@", 1)[1]
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def revision_members(
    service: Any, *, task_definition: Any, settings: dict[str, Any]
) -> dict[str, Any]:
    """What DescribeServiceRevisions reports of a revision of moto's ``service``.

    ``settings``: the deployment-only members (Service Connect, volumes, VPC Lattice) it runs with.
    """
    return {
        "taskDefinition": task_definition.arn,
        "capacityProviderStrategy": list(service.capacity_provider_strategy or []),
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "platformFamily": service.platform_family,
        "loadBalancers": list(service.load_balancers or []),
        "serviceRegistries": list(service.service_registries or []),
        "networkConfiguration": service.network_configuration or None,
        # ECS resolves each image to a digest when the revision is created
        "containerImages": [
            {
                "containerName": c.get("name"),
                "image": c.get("image"),
                "imageDigest": image_digest(c.get("image")),
            }
            for c in task_definition.container_definitions
        ],
        "guardDutyEnabled": False,
        **settings,
    }


def new_hook_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


@dataclass
class ServiceRevision:
    """What one deployment runs: ``members`` are DescribeServiceRevisions' members (taskDefinition...)."""

    arn: str
    service_arn: str
    cluster_arn: str
    created_at: float
    members: dict[str, Any]

    def answer(self) -> dict[str, Any]:
        return {
            "serviceRevisionArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            **self.members,
            "createdAt": _dt(self.created_at),
        }


@dataclass
class ServiceDeployment:
    """One service deployment, from PENDING to one of the FINISHED statuses."""

    arn: str
    service_arn: str
    cluster_arn: str
    created_at: float
    target: str  # the target revision's ARN
    sources: list[str]  # the source revisions' ARNs
    deployment_configuration: dict[str, Any]
    breaker_threshold: int | None  # None: the circuit breaker is off
    status: str = "PENDING"
    status_reason: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    stopped_at: float | None = None
    updated_at: float = 0.0
    failure_count: int = 0
    breaker_triggered: bool = False
    rollback: dict[str, Any] | None = None
    counts: dict[str, RevisionCounts] = field(default_factory=dict)
    lifecycle_stage: str | None = None  # native strategies only
    triggered_alarms: list[str] = field(default_factory=list)
    hooks: list[HookRun] = field(default_factory=list)  # the hooks of the current stage
    # the target revision's share of test and production traffic (native blue/green only)
    traffic: tuple[float, float] | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def start(self, t: float) -> None:
        """PENDING -> IN_PROGRESS: the scheduler acts on it."""
        if self.status == "PENDING":
            self.status = "IN_PROGRESS"
            self.started_at = self.updated_at = t

    def succeed(self, t: float) -> None:
        """The target (or, rolling back, the source) revision runs everything requested."""
        if self.status == "ROLLBACK_IN_PROGRESS":
            self.status = "ROLLBACK_SUCCESSFUL"
        elif self.status in ("PENDING", "IN_PROGRESS"):
            self.status = "SUCCESSFUL"
        else:
            return
        self.finished_at = self.updated_at = t

    def roll_back(self, t: float, *, reason: str, to_revision: str) -> None:
        """ECS rolls back to ``to_revision`` (circuit breaker, StopServiceDeployment)."""
        self.status = "ROLLBACK_IN_PROGRESS"
        self.rollback = {"reason": reason, "startedAt": _dt(t), "serviceRevisionArn": to_revision}
        self.updated_at = t

    def stop(self, t: float, *, reason: str, failed_rollback: bool = False) -> None:
        """STOPPED (or ROLLBACK_FAILED, when the rollback itself failed), with ``reason``."""
        if self.finished:
            return
        self.status = "ROLLBACK_FAILED" if failed_rollback else "STOPPED"
        self.status_reason = reason
        self.stopped_at = self.finished_at = self.updated_at = t

    def shifted(self, *, test: float, production: float) -> None:
        """The target revision's percent of test and production traffic (the sources have the rest)."""
        self.traffic = (test, production)

    def _revision(self, arn: str) -> dict[str, Any]:
        answer = self.counts.get(arn, RevisionCounts()).answer(arn)
        if self.traffic is not None:
            test, production = self.traffic
            if arn != self.target:
                test, production = 100.0 - test, 100.0 - production
            answer["requestedTestTrafficWeight"] = test
            answer["requestedProductionTrafficWeight"] = production
        return answer

    def _breaker(self) -> dict[str, Any]:
        if self.breaker_threshold is None:
            return {"status": "DISABLED", "failureCount": 0, "threshold": 0}
        if self.breaker_triggered:
            status = "TRIGGERED"
        elif self.finished:
            status = "MONITORING_COMPLETE"
        else:
            status = "MONITORING"
        return {
            "status": status,
            "failureCount": self.failure_count,
            "threshold": self.breaker_threshold,
        }

    def answer(self) -> dict[str, Any]:
        """DescribeServiceDeployments' ``ServiceDeployment``."""
        answer: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": _dt(self.created_at),
            "startedAt": _dt(self.started_at),
            "finishedAt": _dt(self.finished_at),
            "stoppedAt": _dt(self.stopped_at),
            "updatedAt": _dt(self.updated_at),
            "sourceServiceRevisions": [self._revision(arn) for arn in self.sources],
            "targetServiceRevision": self._revision(self.target),
            "status": self.status,
            "lifecycleStage": self.lifecycle_stage,
            "lifecycleHookDetails": [h.answer() for h in self.hooks] or None,
            "statusReason": self.status_reason or None,
            "deploymentConfiguration": self.deployment_configuration,
            "rollback": self.rollback,
            "deploymentCircuitBreaker": self._breaker(),
        }
        alarms = self.deployment_configuration.get("alarms") or {}
        answer["alarms"] = (
            {
                "status": "TRIGGERED"
                if self.triggered_alarms
                else ("MONITORING_COMPLETE" if self.finished else "MONITORING"),
                "alarmNames": list(alarms.get("alarmNames") or []),
                "triggeredAlarmNames": list(self.triggered_alarms),
            }
            if alarms.get("enable")
            else {"status": "DISABLED"}
        )
        return {k: v for k, v in answer.items() if v is not None}

    def brief(self) -> dict[str, Any]:
        """ListServiceDeployments' ``ServiceDeploymentBrief``."""
        brief = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "startedAt": _dt(self.started_at),
            "createdAt": _dt(self.created_at),
            "finishedAt": _dt(self.finished_at),
            "targetServiceRevisionArn": self.target,
            "status": self.status,
            "statusReason": self.status_reason or None,
        }
        return {k: v for k, v in brief.items() if v is not None}


class ServiceDeployments:
    """Every service deployment and revision local-aws has recorded, by ARN and by service."""

    def __init__(self) -> None:
        self._deployments: dict[str, ServiceDeployment] = {}
        self._revisions: dict[str, ServiceRevision] = {}
        self._by_service: dict[str, list[ServiceDeployment]] = {}  # oldest first

    def reset(self) -> None:
        self._deployments.clear()
        self._revisions.clear()
        self._by_service.clear()

    def new_revision(
        self, t: float, *, service_arn: str, cluster_arn: str, members: dict[str, Any]
    ) -> ServiceRevision:
        """Record the revision a new deployment targets (ECS numbers them; so does this)."""
        revision_id = str(secrets.randbelow(10**19)).zfill(19)
        revision = ServiceRevision(
            arn=_arn(service_arn, "service-revision", revision_id),
            service_arn=service_arn,
            cluster_arn=cluster_arn,
            created_at=t,
            members={k: v for k, v in members.items() if v not in (None, [], {})},
        )
        self._revisions[revision.arn] = revision
        return revision

    def new_deployment(
        self,
        t: float,
        *,
        target: ServiceRevision,
        sources: list[str],
        deployment_configuration: dict[str, Any],
        breaker_threshold: int | None,
    ) -> ServiceDeployment:
        """Record a PENDING deployment to ``target``; an unfinished older one is STOPPED."""
        deployment_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))
        deployment = ServiceDeployment(
            arn=_arn(target.service_arn, "service-deployment", deployment_id),
            service_arn=target.service_arn,
            cluster_arn=target.cluster_arn,
            created_at=t,
            updated_at=t,
            target=target.arn,
            sources=[arn for arn in dict.fromkeys(sources) if arn != target.arn],
            deployment_configuration=deployment_configuration,
            breaker_threshold=breaker_threshold,
        )
        history = self._by_service.setdefault(target.service_arn, [])
        for older in history:
            older.stop(t, reason=f"Superseded by service deployment {deployment.arn}.")
        history.append(deployment)
        self._deployments[deployment.arn] = deployment
        return deployment

    def deployment(self, arn: str) -> ServiceDeployment | None:
        return self._deployments.get(arn)

    def revision(self, arn: str) -> ServiceRevision | None:
        return self._revisions.get(arn)

    def of_service(
        self,
        service_arn: str,
        *,
        statuses: frozenset[str] = frozenset(),
        created_after: float | None = None,
        created_before: float | None = None,
    ) -> list[ServiceDeployment]:
        """The service's deployments, newest first, filtered as ListServiceDeployments filters."""
        return [
            d
            for d in reversed(self._by_service.get(service_arn, []))
            if (not statuses or d.status in statuses)
            and (created_after is None or d.created_at >= created_after)
            and (created_before is None or d.created_at <= created_before)
        ]
