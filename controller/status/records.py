"""Status files and rollback markers as values, and their YAML form.

``.ecs-gitops/status/<env>/<service>.yaml`` says what the controller last did to a service;
``.ecs-gitops/rollback/<env>/<service>.yaml`` says a deploy failed and was rolled back, so the
controller must not try that desired state again. Both are committed to git where everyone
can read them, so the free text in them (``message``, ``details``, ``reason``) is masked where
it is serialised; the controller's own fields (commit, ARNs, digests) are written as they are.
Purely computational: the caller reads and writes the files through the git adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import yaml

from controller.core.outcome import Result
from controller.core.secrets import mask_document, mask_text

STATUS_ROOT = ".ecs-gitops/status"
ROLLBACK_ROOT = ".ecs-gitops/rollback"
# libyaml's loader when PyYAML was built with it: a pass parses every status file, and the
# pure-Python loader is ten times slower (seconds for a thousand services)
_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# how many (digest -> task definition ARN) pairs a status file remembers, so that a revert
# can find the revision that ran before without listing the family
REVISION_HISTORY = 10


def status_path(key: str) -> str:
    return f"{STATUS_ROOT}/{key}.yaml"


def marker_path(key: str) -> str:
    return f"{ROLLBACK_ROOT}/{key}.yaml"


def key_of(path: str) -> str | None:
    """ENV/SERVICE of a status or marker path, or None for any other path."""
    for root in (STATUS_ROOT, ROLLBACK_ROOT):
        prefix = root + "/"
        if path.startswith(prefix) and path.endswith(".yaml"):
            key = path[len(prefix) : -len(".yaml")]
            if key.count("/") == 1:
                return key
    return None


@dataclass(frozen=True)
class Revision:
    digest: str
    taskDefinitionArn: str


@dataclass(frozen=True)
class ServiceStatus:
    """The content of one status file. Field names are the file's keys (camelCase on purpose)."""

    service: str
    result: Result
    commit: str
    message: str
    updatedAt: str
    taskDefinitionArn: str | None = None
    strategy: str | None = None
    cluster: str | None = (
        None  # where the service lives, so that a pruned folder can still be found
    )
    serviceName: str | None = None
    desiredState: str | None = None  # fingerprint of the desired state this result is about
    phase: str | None = None  # while Progressing: the rollout's phase
    rollout: dict[str, Any] | None = None  # while Progressing: what is needed to resume or undo it
    details: dict[str, Any] | None = None  # strategy-specific facts (exit codes, colours...)
    # the identity of the controller that wrote it (see ConfigRepository.identity)
    controller: str | None = None
    # while the result is not Synced (drift left alone, auto off, a rollout claimed): the
    # desiredState last applied, so that drift is never mistaken for a change in git
    appliedState: str | None = None
    revisions: tuple[Revision, ...] = ()

    def same_as(self, other: ServiceStatus | None) -> bool:
        """Equal but for ``updatedAt``: an unchanged status is not rewritten (no empty commits).

        Compared as written: a status read back from its file has its secrets masked already.
        """
        if other is None:
            return False
        # which controller last wrote an unchanged status is no reason for a commit either
        if replace(self, updatedAt="", controller=None) == replace(
            other, updatedAt="", controller=None
        ):
            return True
        return replace(self.masked(), updatedAt="", controller=None) == replace(
            other.masked(), updatedAt="", controller=None
        )

    def masked(self) -> ServiceStatus:
        """This status as its file shows it, secrets masked.

        Masked: ``message``, ``details`` and the failure a paused rollout records; the
        controller's own fields (commit, ARNs, digests) are left as they are.
        """
        rollout = self.rollout
        if rollout and rollout.get("failure"):
            # why a paused rollout is failing: it becomes the marker's reason
            rollout = {**rollout, "failure": mask_text(str(rollout["failure"]))}
        return replace(
            self,
            message=mask_text(self.message),
            details=mask_document(self.details) if self.details else self.details,
            rollout=rollout,
        )

    def to_yaml(self) -> str:
        shown = self.masked()
        document = {k: v for k, v in asdict(shown).items() if v not in (None, (), [], {})}
        document["result"] = str(self.result)
        if self.revisions:
            document["revisions"] = [asdict(r) for r in self.revisions]
        return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)

    @staticmethod
    def from_yaml(text: str) -> ServiceStatus | None:
        """Parse a status file; None when it is not one (hand-edited beyond recognition)."""
        try:
            doc = yaml.load(text, Loader=_LOADER)
            revisions = tuple(
                Revision(digest=str(r["digest"]), taskDefinitionArn=str(r["taskDefinitionArn"]))
                for r in doc.get("revisions") or ()
            )
            return ServiceStatus(
                service=str(doc["service"]),
                result=Result(doc["result"]),
                commit=str(doc.get("commit", "")),
                message=str(doc.get("message", "")),
                updatedAt=str(doc.get("updatedAt", "")),
                taskDefinitionArn=doc.get("taskDefinitionArn"),
                strategy=doc.get("strategy"),
                cluster=doc.get("cluster"),
                serviceName=doc.get("serviceName"),
                desiredState=doc.get("desiredState"),
                phase=doc.get("phase"),
                rollout=doc.get("rollout"),
                details=doc.get("details"),
                controller=doc.get("controller"),
                appliedState=doc.get("appliedState"),
                revisions=revisions,
            )
        except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError):
            return None

    def with_revision(self, digest: str, arn: str) -> ServiceStatus:
        """Remember that ``arn`` holds the task definition whose content digest is ``digest``."""
        kept = [r for r in self.revisions if r.digest != digest and r.taskDefinitionArn != arn]
        revisions = (Revision(digest=digest, taskDefinitionArn=arn), *kept)[:REVISION_HISTORY]
        return replace(self, revisions=revisions)


@dataclass(frozen=True)
class RollbackMarker:
    """The content of one rollback marker."""

    failedCommit: str
    reason: str
    at: str
    restoredTaskDefinitionArn: str | None = None
    desiredState: str | None = None  # fingerprint of the desired state that failed
    extra: dict[str, Any] = field(default_factory=dict)

    def to_yaml(self) -> str:
        document: dict[str, Any] = {
            "failedCommit": self.failedCommit,
            "restoredTaskDefinitionArn": self.restoredTaskDefinitionArn,
            "reason": mask_text(self.reason),
            "at": self.at,
            "desiredState": self.desiredState,
        }
        document.update(mask_document(self.extra))
        return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)

    @staticmethod
    def from_yaml(text: str) -> RollbackMarker | None:
        try:
            doc = yaml.load(text, Loader=_LOADER)
            return RollbackMarker(
                failedCommit=str(doc.get("failedCommit", "")),
                reason=str(doc.get("reason", "")),
                at=str(doc.get("at", "")),
                restoredTaskDefinitionArn=doc.get("restoredTaskDefinitionArn"),
                desiredState=doc.get("desiredState"),
            )
        except (yaml.YAMLError, AttributeError, TypeError):
            return None


@dataclass(frozen=True)
class StatusTree:
    """Every status file and marker found under ``.ecs-gitops/``, by service key."""

    statuses: Mapping[str, ServiceStatus]
    markers: Mapping[str, RollbackMarker]

    @staticmethod
    def parse(files: Mapping[str, str]) -> StatusTree:
        statuses: dict[str, ServiceStatus] = {}
        markers: dict[str, RollbackMarker] = {}
        for path, text in files.items():
            key = key_of(path)
            if key is None:
                continue
            if path.startswith(STATUS_ROOT + "/"):
                status = ServiceStatus.from_yaml(text)
                if status is not None:
                    statuses[key] = status
            else:
                # an unreadable marker still means "do not retry": keep it with an empty state
                markers[key] = RollbackMarker.from_yaml(text) or RollbackMarker(
                    failedCommit="", reason="unreadable marker", at=""
                )
        return StatusTree(statuses=statuses, markers=markers)
