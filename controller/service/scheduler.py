"""When passes run: every interval (with jitter), and soon after a push; never two at once.

APScheduler fires one job on an interval. A push (seen by the watch or the webhook) moves
that job's next run to now. Whatever asks for a pass while one is running gets exactly one
more pass right after it: an overrunning pass delays the next, requests never pile up.

A pass only decides and starts rollouts: they run on their own (``Rollouts``), each
publishing its status when it ends, so a pass takes about as long as reading git and live
state, and a push is deployed while earlier rollouts are still under way. When a rollout
ends whose service got a newer commit meanwhile, a pass over that service follows at once.
Stopping sets the rollouts' stop event, so every rollout under way pauses at a safe point
and publishes its status as Progressing. Does I/O through ``run_pass``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from controller.errors import EcsGitopsError
from controller.reconcile import PassOptions, PassReport, ServiceResult, run_pass
from controller.rollouts import Rollouts
from controller.service.events import LogEvent, of_service
from controller.service.logs import event
from controller.service.metrics import ControllerMetrics
from controller.source.git_repo import ConfigRepository
from controller.status.pending import PendingStatus
from controller.status.publisher import StatusPublisher

log = logging.getLogger("ecs-gitops")

# Passes start up to this share of the interval late, so that controllers (or one
# controller's passes and a busy remote's cron) do not fall into step.
JITTER_SHARE = 0.1
# How many of our own status commits to remember (to ignore the pushes they cause).
_OWN_COMMITS = 32


class MeasuredRepository(ConfigRepository):
    """The config repository, with every pull's duration and failure recorded in metrics, and
    every status commit it pushes told to ``on_commit`` (so that it asks for no pass)."""

    def __init__(self, *, metrics: ControllerMetrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics
        self.on_commit: Callable[[str], None] = lambda sha: None

    def commit_status(
        self,
        changes: Mapping[str, str | None],
        *,
        message: str,
        recheck: Callable[[Mapping[str, str]], Mapping[str, str | None]] | None = None,
    ) -> str | None:
        sha = super().commit_status(changes, message=message, recheck=recheck)
        if sha is not None:
            self.on_commit(sha)
            log.info(
                "status committed as %s (%d file(s))",
                sha[:12],
                len(changes),
                extra=event(LogEvent("status-committed", commit=sha)),
            )
        return sha

    def pull(self) -> str:
        started = time.monotonic()
        try:
            head = super().pull()
        except Exception:
            self._metrics.observe_fetch(time.monotonic() - started, failed=True)
            raise
        self._metrics.observe_fetch(time.monotonic() - started, failed=False)
        return head


class PassScheduler:
    """Runs reconcile passes over one repository, one at a time, until stopped."""

    def __init__(
        self,
        *,
        repo: ConfigRepository,
        options: PassOptions,
        metrics: ControllerMetrics,
        interval: float,
        on_rollout_ended: Callable[[ServiceResult], None] | None = None,
    ) -> None:
        self.repo = repo
        self._on_rollout_ended = on_rollout_ended
        self.metrics = metrics
        self.interval = interval
        self._lock = threading.Lock()
        # services a pass must look at although no commit touched them: their rollout ended
        # after a pass had left them alone for a newer commit
        self._also: set[str] = set()
        self.rollouts: Rollouts[ServiceResult] = Rollouts(
            parallel=options.parallel, revisit=self._revisit, ended=self._rollout_ended
        )
        self.options = replace(
            options,
            rollouts=self.rollouts,
            # with leases, status is published only for the units this controller holds
            publisher=StatusPublisher(repo, PendingStatus.beside(repo.path), fence=options.lease),
        )
        if isinstance(repo, MeasuredRepository):
            repo.on_commit = self._own_commit
        # told after each pass and each status commit (the status page reads status again)
        self.status_changed: Callable[[], None] = lambda: None
        self._running = False
        self._wanted = False
        # commits pushed while a pass ran; our own status commits among them need no pass
        self._pushed: set[str] = set()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._last_head: str | None = None
        # when the next full drift check is due; passes before it (pushes) look only at what
        # the new commits touched, so a push costs what it changed, not the whole repository
        self._next_full = 0.0
        self._own: list[str] = []
        self._ready = (False, "no pass has finished yet")
        self._passes = 0
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            # two workers: the pass, and a second instance that only records "one more"
            executors={"default": ThreadPoolExecutor(max_workers=2)},
        )
        self._job: Job | None = None

    # ------------------------------------------------------------- control

    def start(self) -> None:
        """Start the interval; the first pass (which resumes journaled rollouts) runs at once."""
        self._job = self._scheduler.add_job(
            self._run,
            IntervalTrigger(seconds=self.interval, jitter=self.interval * JITTER_SHARE),
            id="pass",
            name="reconcile pass",
            next_run_time=datetime.now(UTC),
            # our own flag serialises passes; the second instance only asks for one more
            max_instances=2,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()

    def request(self, reason: str, *, commit: str | None = None) -> bool:
        """Ask for a pass soon; False when ignored (stopping, or a push of our own status)."""
        if self._stopping.is_set():
            return False
        with self._lock:
            if commit is not None and (commit in self._own or commit == self._last_head):
                return False
            if commit is None:
                self._wanted = True
            else:
                # judged when the pass under way ends: its own status push lands here too
                self._pushed.add(commit)
            running = self._running
        log.info("pass requested: %s", reason)
        if not running and self._job is not None:
            try:
                self._job.modify(next_run_time=datetime.now(UTC))
            except LookupError:  # the scheduler was shut down in between
                return False
        return True

    def request_all(self, reason: str) -> bool:
        """Ask for a pass over every service soon (this controller took new leases)."""
        with self._lock:
            self._next_full = 0.0
        return self.request(reason)

    def stop(self, *, timeout: float) -> bool:
        """Take no new work, pause rollouts at a safe point, wait up to ``timeout`` for the
        pass and every rollout under way to publish their status. True when nothing is left
        running."""
        self._stopping.set()
        self.options.stop.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        until = time.monotonic() + timeout
        clean = self._idle.wait(timeout) and self.rollouts.wait(max(0.0, until - time.monotonic()))
        self.rollouts.close()
        return clean

    def readiness(self) -> tuple[bool, str]:
        """Ready when the last pass ran to the end (so the repository was reachable)."""
        if self._stopping.is_set():
            return False, "stopping"
        with self._lock:
            return self._ready

    def _own_commit(self, sha: str) -> None:
        with self._lock:
            self._own = [*self._own, sha][-_OWN_COMMITS:]
        self.status_changed()

    def _revisit(self, keys: set[str]) -> None:
        with self._lock:
            self._also |= keys
        self.request(f"the rollout of {', '.join(sorted(keys))} ended; a newer commit waits")

    def _rollout_ended(self, result: ServiceResult) -> None:
        self.metrics.observe_service(result)
        if result.failed_now:
            log.warning(
                "rollout failed: %s: %s",
                result.key,
                result.outcome.result,
                extra=event(
                    of_service(
                        "rollout-failed",
                        result.key,
                        commit=result.commit,
                        result=str(result.outcome.result),
                        duration_seconds=round(result.seconds, 3),
                    )
                ),
            )
        if self._on_rollout_ended is not None:
            try:
                self._on_rollout_ended(result)
            except Exception:  # whoever listens never fails a rollout
                log.exception("%s: telling that its rollout ended", result.key)

    @property
    def busy(self) -> bool:
        """Whether a pass is running (or about to run another right after)."""
        with self._lock:
            return self._running

    @property
    def settled(self) -> bool:
        """Whether nothing runs: no pass, no rollout."""
        return not self.busy and not self.rollouts.busy()

    @property
    def passes(self) -> int:
        """How many passes ran to the end."""
        with self._lock:
            return self._passes

    # ------------------------------------------------------------- passes

    def _run(self) -> None:
        with self._lock:
            if self._running:
                self._wanted = True  # a tick or a push during a pass: one more pass after it
                return
            self._running = True
            self._idle.clear()
        try:
            while not self._stopping.is_set():
                with self._lock:
                    self._wanted = False
                    self._pushed.clear()
                self._one_pass()
                with self._lock:
                    if not self._more():
                        break
        finally:
            with self._lock:
                self._running = False
                self._idle.set()

    def _more(self) -> bool:
        """Whether something asked for another pass during this one (called under the lock)."""
        return self._wanted or any(
            c not in self._own and c != self._last_head for c in self._pushed
        )

    def _one_pass(self) -> None:
        started = time.monotonic()
        with self._lock:
            full = self._last_head is None or started >= self._next_full
            if full:
                self._next_full = started + self.interval
            also, self._also = frozenset(self._also), set()
        options = replace(self.options, since=self._last_head, touched_only=not full, also=also)
        what = "every service" if full else "what changed since the last pass"
        log.info("pass started over %s", what, extra=event(LogEvent("pass-started")))
        try:
            report = run_pass(self.repo, options)
        except EcsGitopsError as e:
            seconds = time.monotonic() - started
            self.metrics.observe_pass_error(seconds)
            retry = "retried next pass" if e.retryable else "fix it; retried next pass"
            log.error("pass failed after %.1fs: %s (%s)", seconds, e, retry)
            with self._lock:
                self._ready = (False, f"last pass failed: {e}")
            return
        except Exception as e:  # a bug must not end the service; it is logged in full
            seconds = time.monotonic() - started
            self.metrics.observe_pass_error(seconds)
            log.exception("pass failed after %.1fs: unexpected %s", seconds, type(e).__name__)
            with self._lock:
                self._ready = (False, f"last pass failed: unexpected {type(e).__name__}")
            return
        seconds = time.monotonic() - started
        self.metrics.observe_pass(report, seconds=seconds, finished_at=time.time())
        self._finished(report, seconds)

    def _finished(self, report: PassReport, seconds: float) -> None:
        with self._lock:
            self._last_head = report.commit
            self._ready = (True, f"last pass over {report.commit[:12]} finished")
            self._passes += 1
        line = f"{report.summary()} (finished in {seconds:.1f}s)"
        finished = LogEvent(
            "pass-finished",
            commit=report.commit,
            result="failed" if report.exit_code else "ok",
            duration_seconds=round(seconds, 3),
        )
        log.log(logging.WARNING if report.failed else logging.INFO, line, extra=event(finished))
        self.status_changed()
