"""Claims: a service's status pushed as Progressing before its rollout starts.

Two controllers pointed at one repository from two working clones would both deploy every
commit. Before a rollout starts, the controller pushes the service's status as ``Progressing``
with its identity and the claim's expiry; git is the arbiter (a push over a moved branch is
refused; the retry re-reads the status files at the new tip and drops every service another
controller claimed meanwhile). A second controller that finds another's live claim does not
start its own rollout of that service. A claim lapses at its expiry (the rollout's timeout
from its start), so one left by a controller that died does not hold the service for ever; a
rollout paused by a clean stop (``Progressing`` with its rollout record) is a handover that
any controller resumes. This is a guard for a mistake, not a way to run several controllers:
that needs leases. Does I/O (git) through the repository it is given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from controller.core.outcome import Result
from controller.errors import EcsGitopsError
from controller.status.records import ServiceStatus, status_path

log = logging.getLogger(__name__)

CLAIMED = "claimed"  # the phase of a claim: a rollout about to start
EXPIRES = "claimExpiresAt"  # in a claim's details


class ClaimingRepository(Protocol):
    @property
    def identity(self) -> str: ...

    def commit_status(
        self,
        changes: Mapping[str, str | None],
        *,
        message: str,
        recheck: Callable[[Mapping[str, str]], Mapping[str, str | None]] | None = None,
    ) -> str | None: ...


def held_elsewhere(status: ServiceStatus | None, *, me: str, now: datetime) -> str | None:
    """Why this service is another controller's to roll out now; None when it is not."""
    if status is None or status.result != Result.PROGRESSING or status.phase != CLAIMED:
        return None
    if status.controller in (None, me):
        return None
    expires = (status.details or {}).get(EXPIRES)
    try:
        if expires is None or datetime.fromisoformat(str(expires).replace("Z", "+00:00")) <= now:
            return None
    except ValueError:
        return None
    return (
        f"another controller ({status.controller}) claimed its rollout at {status.updatedAt} "
        f"(until {expires}): not deployed by this one"
    )


def claim_status(
    status: ServiceStatus, *, me: str, now: datetime, timeout_seconds: float
) -> ServiceStatus:
    """``status`` turned into this controller's claim, lapsing after the rollout's timeout."""
    expires = now + timedelta(seconds=timeout_seconds + 60)
    return ServiceStatus(
        service=status.service,
        result=Result.PROGRESSING,
        commit=status.commit,
        message=f"rollout starting ({status.message})",
        updatedAt=_rfc3339(now),
        taskDefinitionArn=status.taskDefinitionArn,
        strategy=status.strategy,
        cluster=status.cluster,
        serviceName=status.serviceName,
        desiredState=status.desiredState,
        phase=CLAIMED,
        details={EXPIRES: _rfc3339(expires)},
        controller=me,
        revisions=status.revisions,
    )


class Claims:
    """Claims made by the rollouts of one pass, pushed together.

    Rollouts that ask while a push is under way wait and go out in the next push (a group
    commit): a pass starting ten rollouts makes one or two pushes, not ten.
    """

    def __init__(self, repo: ClaimingRepository, *, now: Callable[[], datetime]) -> None:
        self._repo = repo
        self._now = now
        self._lock = threading.Condition()
        self._waiting: dict[str, ServiceStatus] = {}
        self._answers: dict[str, str | None] = {}
        self._pushing = False

    def claim(self, status: ServiceStatus, *, timeout_seconds: float) -> str | None:
        """Push a claim for ``status.service``; None when it is ours, else why not."""
        key = status.service
        claim = claim_status(
            status, me=self._repo.identity, now=self._now(), timeout_seconds=timeout_seconds
        )
        with self._lock:
            self._waiting[key] = claim
            while key not in self._answers:
                if self._pushing:
                    self._lock.wait()
                    continue
                batch, self._waiting = self._waiting, {}
                self._pushing = True
                self._lock.release()
                try:
                    answers = self._push(batch)
                except Exception:
                    # every rollout of the batch waits for an answer: a bug here must not hang
                    # them; the claim only guards against a second controller
                    log.exception("claiming %s: unexpected error", ", ".join(sorted(batch)))
                    answers = dict.fromkeys(batch)
                finally:
                    self._lock.acquire()
                    self._pushing = False
                self._answers.update(answers)
                self._lock.notify_all()
            return self._answers.pop(key)

    def _push(self, batch: Mapping[str, ServiceStatus]) -> dict[str, str | None]:
        me = self._repo.identity
        refused: dict[str, str] = {}

        def recheck(files: Mapping[str, str]) -> dict[str, str | None]:
            refused.clear()
            for key in batch:
                # only the batch's own files are parsed: a pass may claim 1 of 1,000 services
                text = files.get(status_path(key))
                found = ServiceStatus.from_yaml(text) if text is not None else None
                reason = held_elsewhere(found, me=me, now=self._now())
                if reason is not None:
                    refused[key] = reason
            return {
                status_path(key): claim.to_yaml()
                for key, claim in batch.items()
                if key not in refused
            }

        try:
            self._repo.commit_status(
                {status_path(key): claim.to_yaml() for key, claim in batch.items()},
                message=f"status: {len(batch)} rollout(s) starting\n\n"
                + "".join(f"{key}: {CLAIMED}\n" for key in sorted(batch)),
                recheck=recheck,
            )
        except EcsGitopsError as e:
            # an unreachable remote must not stop deploys: the claim guards against a second
            # controller, whose own pushes would fail just the same
            log.warning("could not push the claims of %s: %s", ", ".join(sorted(batch)), e)
            return dict.fromkeys(batch)
        return {key: refused.get(key) for key in batch}


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
