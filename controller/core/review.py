"""Pull-request review: which services a change touches, and what it changes without AWS.

``plan --changed-since REF`` loads the repository twice, at REF (the base of a pull request) and
in the checkout, and this module decides from the two loaded states:

- which services the change touches: those whose *rendered* desired state differs (every request
  they render to, their deploy.yaml, and where they deploy: cluster, region, roleArn,
  allowedAccounts), so an edit of an environment.yaml that renders the same requests for a
  service does not list it; an environment's ``sync`` policy is not desired state and does not
  list its services either. A service invalid in the checkout is listed unless it was invalid
  at REF with the very same problems. A service gone since REF is listed apart, with what
  prune would do to it;
- what the change does to each of them field by field, compared with the desired state at REF
  rendered as if it were live (``base_plan``): the same diff as against live ECS, so a field
  change reads the same offline as live;
- which changes of a live plan the pull request causes, and which are drift it does not cause.

Purely computational.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from controller.core.decision import Verdict
from controller.core.fingerprint import desired_state_fingerprint
from controller.core.model import DesiredService, Environment, JsonDict, RepoState
from controller.core.plan import (
    Action,
    FieldChange,
    LiveService,
    ServicePlan,
    plan_invalid,
    plan_service,
)


class Against(StrEnum):
    """What a change was compared with."""

    BASE = "base"  # the desired state rendered at REF (``--offline``)
    LIVE = "live"  # live ECS


@dataclass(frozen=True)
class Removed:
    """A service whose folder is gone since REF, and what a pass does about it."""

    key: str
    prune: bool  # the environment's ``sync.prune``: deleted when on, reported only when off

    @property
    def outcome(self) -> str:
        if self.prune:
            return "deleted by prune (scaled to 0, then deleted with its autoscaling)"
        return "left running: prune is off, reported as out of sync"


@dataclass(frozen=True)
class ChangeSet:
    """The services a change touches (valid or invalid in the checkout), and those it removes."""

    changed: tuple[str, ...]
    removed: tuple[Removed, ...] = ()


@dataclass(frozen=True)
class ReviewContext:
    """What a review adds to a plan's report: where its changes come from, and what is beside them.

    ``drift``: plans of live changes the pull request does not cause (live comparison only),
    beside what a pass would decide about those services (``drift_verdicts``).
    ``requests``: ENV/SERVICE -> the rendered requests of a service to be created, secrets masked.
    ``base``: the REF the change is reviewed against ("" for a whole-repository plan).
    """

    against: Against = Against.LIVE
    base: str = ""
    drift: tuple[ServicePlan, ...] = ()
    # the decisions shown beside drift: the whole pass's, not only the change's
    drift_verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    removed: tuple[Removed, ...] = ()
    requests: Mapping[str, JsonDict] = field(default_factory=dict)


def _placement(env: Environment) -> tuple[object, ...]:
    # where a service deploys: a change moves it, even when its requests render the same
    return (env.cluster, env.region, env.role_arn, env.allowed_accounts)


def _same(base: DesiredService, head: DesiredService) -> bool:
    return _placement(base.env) == _placement(head.env) and desired_state_fingerprint(
        base
    ) == desired_state_fingerprint(head)


def changed_services(base: RepoState, head: RepoState) -> ChangeSet:
    """The services whose rendered desired state differs between ``base`` and ``head``."""
    changed: list[str] = []
    for key in sorted({*head.services, *head.invalid}):
        if key in head.services:
            before = base.services.get(key)
            if before is None or not _same(before, head.services[key]):
                changed.append(key)
        elif base.invalid.get(key) != head.invalid[key]:
            changed.append(key)
    removed = [
        Removed(key, prune=_prune(key, base=base, head=head))
        for key in sorted({*base.services, *base.invalid} - {*head.services, *head.invalid})
    ]
    return ChangeSet(tuple(changed), tuple(removed))


def _prune(key: str, *, base: RepoState, head: RepoState) -> bool:
    env_name = key.split("/", 1)[0]
    # the checkout's policy decides; an environment removed whole keeps the one it had
    env = head.environments.get(env_name) or base.environments.get(env_name)
    return env is not None and env.sync.prune


def as_live(desired: DesiredService) -> LiveService:
    """The desired state rendered at REF, shaped as ``plan_service`` reads live state."""
    task_definition = dict(desired.task_definition)
    tags = task_definition.pop("tags", None) or []
    return LiveService(
        service=desired.service,
        task_definition=task_definition,
        task_definition_tags=tuple(tags),
        scalable_target=desired.scalable_target,
        scaling_policies=tuple(desired.scaling_policies),
    )


def base_plan(key: str, *, base: RepoState, head: RepoState) -> ServicePlan:
    """What the checkout changes in one service, compared with its desired state at REF.

    A service new since REF (or invalid there) is a create, as against a live ECS without it.
    """
    desired = head.services.get(key)
    if desired is None:
        return plan_invalid(key, head.invalid.get(key, ()))
    before = base.services.get(key)
    return plan_service(desired, as_live(before) if before is not None else LiveService())


def paths_of(plan: ServicePlan) -> frozenset[str]:
    return frozenset(change.path for change in plan.changes)


@dataclass(frozen=True)
class Split:
    """A live plan cut in two: what the pull request causes, and live drift it does not."""

    caused: ServicePlan
    drift: ServicePlan | None


def split_live(live: ServicePlan, *, caused_paths: frozenset[str] | None) -> Split:
    """Cut a live plan's changes by whether the pull request changed that field.

    ``caused_paths`` are the fields the change touches (``paths_of(base_plan(...))``); None means
    all of them (a service new since REF). A field is the pull request's when its path, or a
    path inside or around it, is one the change touches.
    """
    if caused_paths is None or not live.changes:
        return Split(live, None)

    def caused(change: FieldChange) -> bool:
        return any(
            change.path == path
            or change.path.startswith((f"{path}.", f"{path}["))
            or path.startswith((f"{change.path}.", f"{change.path}["))
            for path in caused_paths
        )

    def only(keep: bool) -> ServicePlan:
        part = replace(
            live,
            task_definition_changes=tuple(
                c for c in live.task_definition_changes if caused(c) is keep
            ),
            service_changes=tuple(c for c in live.service_changes if caused(c) is keep),
            autoscaling_changes=tuple(c for c in live.autoscaling_changes if caused(c) is keep),
        )
        if live.action not in (Action.UPDATE, Action.REPLACE):
            return part
        if not part.changes:
            return replace(part, action=Action.IN_SYNC)
        replaces = any(change.replace for change in part.changes)
        return replace(part, action=Action.REPLACE if replaces else Action.UPDATE)

    drift = only(False)
    return Split(only(True), drift if drift.changes else None)
