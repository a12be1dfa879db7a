"""When passes run: every interval (with jitter), and soon after a push; never two at once.

APScheduler fires one job on an interval. A push (seen by the watch or the webhook) moves
that job's next run to now. Whatever asks for a pass while one is running gets exactly one
more pass right after it: an overrunning pass delays the next, requests never pile up.
Stopping sets the rollouts' stop event, so the pass under way pauses its rollouts at a safe
point, commits their status as Progressing, and ends. Does I/O through ``run_pass``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from controller.errors import EcsGitopsError
from controller.reconcile import PassOptions, PassReport, run_pass
from controller.service.metrics import ControllerMetrics
from controller.source.git_repo import ConfigRepository

log = logging.getLogger("ecs-gitops")

# Passes start up to this share of the interval late, so that controllers (or one
# controller's passes and a busy remote's cron) do not fall into step.
JITTER_SHARE = 0.1
# How many of our own status commits to remember (to ignore the pushes they cause).
_OWN_COMMITS = 32


class MeasuredRepository(ConfigRepository):
    """The config repository, with every pull's duration and failure recorded in metrics."""

    def __init__(self, *, metrics: ControllerMetrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

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
    ) -> None:
        self.repo = repo
        self.options = options
        self.metrics = metrics
        self.interval = interval
        self._lock = threading.Lock()
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

    def stop(self, *, timeout: float) -> bool:
        """Take no new work, pause rollouts at a safe point, wait up to ``timeout`` for the
        pass under way to commit its status. True when nothing is left running."""
        self._stopping.set()
        self.options.stop.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        return self._idle.wait(timeout)

    def readiness(self) -> tuple[bool, str]:
        """Ready when the last pass ran to the end (so the repository was reachable)."""
        if self._stopping.is_set():
            return False, "stopping"
        with self._lock:
            return self._ready

    @property
    def busy(self) -> bool:
        """Whether a pass is running (or about to run another right after)."""
        with self._lock:
            return self._running

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
        full = self._last_head is None or started >= self._next_full
        options = replace(self.options, since=self._last_head, touched_only=not full)
        if full:
            self._next_full = started + self.interval
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
            if report.status_commit:
                self._own = [*self._own, report.status_commit][-_OWN_COMMITS:]
            self._ready = (True, f"last pass over {report.commit[:12]} finished")
            self._passes += 1
        line = f"{report.summary()} (finished in {seconds:.1f}s)"
        log.log(logging.WARNING if report.failed else logging.INFO, line)
