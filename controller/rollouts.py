"""The rollouts ``run`` has under way: each on its own, never two for one service.

A pass of ``run`` decides, starts the rollouts it decided on here and returns at once: it
never waits for them. Each rollout runs on a thread of its environment's pool (at most
``parallel`` at a time per environment, so a busy environment never holds back another),
publishes its status as soon as it ends, and only then lets its service go: a pass that
starts while a service is busy leaves it alone (``busy`` is read before the pass reads the
status branch, so a service is either still busy or its outcome, a rollback marker above
all, is on the branch that pass reads).

A newer commit for a busy service is remembered (``defer``); when the rollout ends, the
service is handed to ``revisit`` so that a pass deploys the newest desired state right after
it, and ``overtaken`` tells that pass which rollout's commit the newer ones came after (the
commits in between were never deployed on their own).
Does no I/O itself; the work it runs does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Rollouts(Generic[T]):
    """Rollouts under way across passes, bounded per environment, one per service."""

    def __init__(
        self,
        *,
        parallel: int,
        revisit: Callable[[set[str]], None],
        ended: Callable[[T], None] = lambda result: None,
    ) -> None:
        self._parallel = max(1, parallel)
        self._revisit = revisit
        self._ended = ended
        self._lock = threading.Condition()
        self._pools: dict[str, ThreadPoolExecutor] = {}
        # service -> the config commit its rollout under way deploys
        self._running: dict[str, str] = {}
        # service -> the commit of its rollout under way when a pass saw a newer commit of it
        self._deferred: dict[str, str] = {}
        self._closed = False

    def busy(self) -> frozenset[str]:
        """The services with a rollout under way (or queued for a slot of their environment)."""
        with self._lock:
            return frozenset(self._running)

    def defer(self, key: str, commit: str) -> bool:
        """A pass left ``key`` alone at ``commit`` because it is busy; True when that commit is
        not the one being rolled out (it is then deployed right after the rollout ends)."""
        with self._lock:
            running = self._running.get(key)
            if running is None or running == commit:
                return False
            self._deferred.setdefault(key, running)
            return True

    def overtaken(self, key: str) -> str | None:
        """The commit of ``key``'s last rollout if newer commits of it waited for that rollout
        to end (they are being deployed now), else None; forgotten once asked."""
        with self._lock:
            return self._deferred.pop(key, None)

    def start(
        self,
        key: str,
        *,
        commit: str,
        work: Callable[[], T],
        finish: Callable[[T], None],
    ) -> Future[T]:
        """Run ``work`` for ``key`` on its environment's pool, then ``finish`` with its result
        (publishing the status), then let the service go. The future gives the result once
        finished. Raises RuntimeError when the service is busy or the runner is closed."""
        env = key.split("/", 1)[0]
        with self._lock:
            if self._closed:
                raise RuntimeError("the rollouts are stopping: no new rollout starts")
            if key in self._running:
                raise RuntimeError(f"{key} already has a rollout under way")
            self._running[key] = commit
            pool = self._pools.get(env)
            if pool is None:
                pool = self._pools[env] = ThreadPoolExecutor(
                    max_workers=self._parallel, thread_name_prefix=f"rollout-{env}"
                )

        def run() -> T:
            try:
                result = work()
                finish(result)
                self._ended(result)
                return result
            except Exception:
                # nobody may ever ask this future for its result: say it here
                log.exception("%s: the rollout's thread failed", key)
                raise
            finally:
                self._release(key)

        try:
            return pool.submit(run)
        except RuntimeError:
            self._release(key)
            raise

    def _release(self, key: str) -> None:
        with self._lock:
            self._running.pop(key, None)
            again = key in self._deferred and not self._closed
            self._lock.notify_all()
        if again:
            try:
                self._revisit({key})
            except Exception:  # a revisit is a wish; the next periodic pass sees the key too
                log.exception("asking for a pass over %s after its rollout", key)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every rollout to end; True when none is left."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._running, timeout=timeout)

    def close(self) -> None:
        """Start nothing more; threads still running end on their own."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            pool.shutdown(wait=False)
