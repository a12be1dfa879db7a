"""The plan: what the controller intends to do to each service, as data.

``plan`` prints it and ``sync`` executes it, so the preview can never disagree with the
deploy. Purely computational.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from controller.core.fingerprint import desired_state_fingerprint
from controller.core.model import DesiredService, JsonDict, Problem
from controller.core.outcome import Result
from controller.strategies.descriptions import describe


class Action(StrEnum):
    """What a service needs."""

    IN_SYNC = "in-sync"  # live matches git: nothing to do
    CREATE = "create"  # the ECS service does not exist yet
    UPDATE = "update"  # UpdateService (and maybe a new task definition revision) will do
    REPLACE = "replace"  # a field UpdateService cannot change (launchType, schedulingStrategy, ...)
    RUN = "run"  # run-task job whose rendered content changed: run it
    INVALID = "invalid"  # the service's files are invalid: nothing of it is applied


@dataclass(frozen=True)
class FieldChange:
    """One changed field: ``containerDefinitions[web].image: nginx:1.26 -> nginx:1.27``.

    ``old`` is None for a field git adds, ``new`` is None for one git removes.
    ``replace`` marks a change that UpdateService cannot make.
    """

    path: str
    old: Any
    new: Any
    replace: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.old)} -> {_show(self.new)}"


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class LiveService:
    """What AWS says about one service right now (DescribeServices / DescribeTaskDefinition shapes).

    ``service`` is None when the service does not exist (or is INACTIVE).
    ``task_definition`` is the revision the service runs (for run-task: the newest ACTIVE
    revision of the family), with its ``tags`` as returned by DescribeTaskDefinition(include=TAGS).
    ``task_definition_digest`` is the content digest of the revision the service runs when it
    is already known without describing it (the controller recorded it when it registered or
    verified that revision; revisions are immutable): with ``task_definition`` left None, a
    digest equal to the desired one proves the task definition unchanged.
    """

    service: JsonDict | None = None
    task_definition: JsonDict | None = None
    task_definition_tags: tuple[JsonDict, ...] = ()
    scalable_target: JsonDict | None = None
    scaling_policies: tuple[JsonDict, ...] = ()
    task_definition_digest: str | None = None


@dataclass(frozen=True)
class ServicePlan:
    """The decision for one service (ENV/SERVICE)."""

    key: str
    action: Action
    task_definition_changes: tuple[FieldChange, ...] = ()
    service_changes: tuple[FieldChange, ...] = ()
    autoscaling_changes: tuple[FieldChange, ...] = ()
    # digest of the desired task definition's normalised content (tagged on registered revisions)
    digest: str = ""
    problems: tuple[str, ...] = field(default=())
    # an ECS deployment of the live service still under way (whoever started it), or None
    in_flight: str | None = None

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        return self.task_definition_changes + self.service_changes + self.autoscaling_changes

    @property
    def needs_new_task_definition(self) -> bool:
        return bool(self.task_definition_changes) or self.action in (Action.CREATE, Action.RUN)


class StatusRecord(Protocol):
    """What planning reads of a service's status file (``controller.status.records``)."""

    @property
    def result(self) -> Result: ...

    @property
    def desiredState(self) -> str | None: ...  # the status file's own key (camelCase)

    @property
    def appliedState(self) -> str | None: ...


# The applied state of a status that does not say which desired state is live (OutOfSync,
# RolledBack, Failed...): no fingerprint equals it, so what ECS never reports is sent again.
UNKNOWN_APPLIED_STATE = "unknown"


def last_applied_state(status: StatusRecord | None) -> str | None:
    """The fingerprint of the desired state a status file says was applied, for ``plan_service``.

    A Synced status names it (``desiredState``); an OutOfSync or claimed one carries it over
    (``appliedState``). Without a status file there is nothing to compare with (None). Any
    other status does not prove a desired state live (a rollback restores the task definition
    and desired count only), so it is ``UNKNOWN_APPLIED_STATE``.
    """
    if status is None:
        return None
    if status.result is Result.SYNCED and status.desiredState:
        return status.desiredState
    return status.appliedState or UNKNOWN_APPLIED_STATE


def plan_service(
    desired: DesiredService, live: LiveService, *, applied_state: str | None = None
) -> ServicePlan:
    """Decide what one valid service needs, from what git wants and what AWS has.

    run-task services are jobs: they RUN when the newest live revision of their family is
    missing or differs. Other services are CREATEd when absent, REPLACEd when a field
    UpdateService cannot change differs, UPDATEd when anything else differs.

    Service members DescribeServices never returns (``monitoring``, ``gatewayConnectors``) are
    judged by ``applied_state``, the fingerprint of the desired state last applied (see
    ``last_applied_state``): when it differs from the current desired state, each such member git
    sets is a change; None (no status file: a new service, a checkout without status) is none.
    """
    # diff builds the FieldChange values defined above: importing it at the top would be a cycle.
    from controller.core.diff import (
        diff_autoscaling,
        diff_service,
        diff_task_definition,
        diff_unreported,
    )

    digest = desired.digest
    live_task_definition = None
    if live.task_definition is not None:
        # DescribeTaskDefinition returns tags beside the document; the request carries them in it.
        live_task_definition = {**live.task_definition, "tags": list(live.task_definition_tags)}
    if describe(desired.deploy.strategy).runs_once:
        changes = diff_task_definition(desired.task_definition, live_task_definition)
        action = Action.RUN if changes else Action.IN_SYNC
        return ServicePlan(desired.key, action, task_definition_changes=changes, digest=digest)
    if live.service is None or desired.service is None:
        return ServicePlan(desired.key, Action.CREATE, digest=digest)
    if live_task_definition is None and live.task_definition_digest == digest:
        task_definition_changes: tuple[FieldChange, ...] = ()
    else:
        task_definition_changes = diff_task_definition(
            desired.task_definition, live_task_definition
        )
    service_changes = diff_service(
        desired.service, live.service, autoscaled=desired.scalable_target is not None
    )
    if applied_state is not None:
        service_changes += diff_unreported(
            desired.service,
            applied_state=applied_state,
            desired_state=desired_state_fingerprint(desired),
        )
    autoscaling_changes = diff_autoscaling(
        desired.scalable_target,
        desired.scaling_policies,
        live.scalable_target,
        live.scaling_policies,
    )
    every = task_definition_changes + service_changes + autoscaling_changes
    if any(change.replace for change in every):
        action = Action.REPLACE
    elif every:
        action = Action.UPDATE
    else:
        action = Action.IN_SYNC
    return ServicePlan(
        desired.key,
        action,
        task_definition_changes=task_definition_changes,
        service_changes=service_changes,
        autoscaling_changes=autoscaling_changes,
        digest=digest,
        in_flight=deployment_in_flight(live.service),
    )


def deployment_in_flight(service: JsonDict | None) -> str | None:
    """The ECS deployment of ``service`` still under way, in words; None when all ended.

    DescribeServices lists every deployment with its ``rolloutState`` (ROLLING and the native
    BLUE_GREEN, LINEAR and CANARY alike); one IN_PROGRESS is ECS still moving the service.
    """
    for deployment in (service or {}).get("deployments") or ():
        if deployment.get("rolloutState") == "IN_PROGRESS":
            return f"ECS deployment {deployment.get('id', '?')} is in progress"
    return None


def plan_invalid(key: str, problems: Sequence[Problem]) -> ServicePlan:
    """The plan of a service whose files are invalid: nothing of it is applied."""
    return ServicePlan(key, Action.INVALID, problems=tuple(str(p) for p in sorted(problems)))
