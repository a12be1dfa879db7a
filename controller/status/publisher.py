"""Publishing status: every change to ``.ecs-gitops/`` goes out through one publisher.

In ``run``, rollouts end on their own threads, each as soon as it is done, while passes go on
committing the status of the services they settled. All of them publish through the one
publisher of the working clone, which does three things:

- **Nothing lost**: changes a push could not land are kept next to the working clone
  (``PendingStatus``) and go out with the next publish; the kept file is read, merged and
  rewritten only here, under one lock, so that two publishers never overwrite each other's
  kept changes.
- **Group commits**: a publish that arrives while a push is under way waits and goes out with
  the next push, together with every other that arrived meanwhile: several rollouts ending
  within a second or two make one commit, not one each.
- **Never a force-push**: the repository's ``commit_status`` rebases onto a moved branch.
- **Fenced** (``run --lease-table``): each change goes through the ``StatusFence`` first,
  which drops the files of units whose lease this controller no longer holds and names the
  lease tokens of the rest in a trailer: a holder that lost a unit never publishes for it.

Does I/O (git, a local file) through the repository it is given.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from controller.errors import EcsGitopsError, GitError
from controller.status.pending import PendingStatus


class StatusRepository(Protocol):
    def commit_status(self, changes: Mapping[str, str | None], *, message: str) -> str | None: ...


class StatusFence(Protocol):
    def admit(self, changes: Mapping[str, str | None]) -> tuple[dict[str, str | None], list[str]]:
        """The changes this controller may still publish (with its lease token written in
        them), and the commit's trailer lines naming those tokens."""
        ...


@dataclass
class _Batch:
    changes: dict[str, str | None] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    trailers: set[str] = field(default_factory=set)
    done: bool = False
    commit: str | None = None
    error: EcsGitopsError | None = None


class StatusPublisher:
    """Commits and pushes status changes, grouped, keeping what could not be pushed."""

    def __init__(
        self, repo: StatusRepository, pending: PendingStatus, *, fence: StatusFence | None = None
    ) -> None:
        self._repo = repo
        self._pending = pending
        self.fence = fence
        self._lock = threading.Condition()
        self._next = _Batch()
        self._pushing = False

    def publish(self, changes: Mapping[str, str | None], *, message: str) -> str | None:
        """Commit ``changes`` (with whatever is kept from earlier failed pushes) and push.

        Returns the status commit that carried them (None when nothing changed). Raises
        ``GitError`` when the push failed; the changes are then kept and go out with the next
        publish, so the caller only has to say so.
        """
        trailers: list[str] = []
        if self.fence is not None and changes:
            changes, trailers = self.fence.admit(changes)
            if not changes:
                return None
        with self._lock:
            batch = self._next
            batch.changes.update(changes)
            batch.messages.append(message)
            batch.trailers.update(trailers)
            while not batch.done:
                if self._pushing:
                    self._lock.wait()
                    continue
                self._next = _Batch()
                self._pushing = True
                self._lock.release()
                try:
                    self._push(batch)
                finally:
                    self._lock.acquire()
                    self._pushing = False
                    batch.done = True
                    self._lock.notify_all()
        if batch.error is not None:
            raise GitError(
                f"{batch.error} (the status is kept next to the working clone; the next pass "
                "pushes it)",
                retryable=batch.error.retryable,
            ) from batch.error
        return batch.commit

    def _push(self, batch: _Batch) -> None:
        kept = self._pending.load()
        if self.fence is not None and kept:
            # kept from a failed push, maybe while this controller still held their units
            kept, trailers = self.fence.admit(kept)
            batch.trailers.update(trailers)
        changes = {**kept, **batch.changes}
        if not changes:
            return
        try:
            message = _message(batch.messages)
            if batch.trailers:
                message += "\n" + "".join(f"{t}\n" for t in sorted(batch.trailers))
            batch.commit = self._repo.commit_status(changes, message=message)
        except EcsGitopsError as e:
            self._pending.keep(changes)
            batch.error = e
            return
        except BaseException:
            self._pending.keep(changes)
            raise
        self._pending.clear()


def _message(messages: list[str]) -> str:
    """One commit message for several publishes: the first's subject, every body after it."""
    texts = [m.strip() for m in messages if m.strip()]
    if not texts:
        return "status\n"
    if len(texts) == 1:
        return texts[0] + "\n"
    subjects = [t.splitlines()[0] for t in texts]
    bodies = ["\n".join(t.splitlines()[1:]).strip() for t in texts]
    lines = [f"status: {len(texts)} updates", ""]
    for subject, body in zip(subjects, bodies, strict=True):
        lines.append(f"- {subject}")
        lines += [f"  {line}" for line in body.splitlines() if line.strip()]
    return "\n".join(lines) + "\n"
