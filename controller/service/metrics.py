"""The controller's Prometheus metrics: families, and how a pass report turns into them.

Reconcile returns what happened as data (``PassReport``); this module is the one place that
turns it into metrics, so the reconcile code knows nothing of Prometheus. AWS API calls are
read at scrape time from the call counter every boto3 client reports to. Purely in memory:
serving the text is ``controller.service.http``'s job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.aws.clients import API_CALLS, CallCounter
from controller.core.outcome import Result
from controller.reconcile import PassReport, ServiceResult
from controller.service.leases import LeaseObserver

PREFIX = "ecs_gitops"

# Health of a service as the pass left it, from its sync result (a pass observes nothing else).
_HEALTH = {
    Result.SYNCED: "Healthy",
    Result.PROGRESSING: "Progressing",
    Result.ROLLED_BACK: "Degraded",
    Result.FAILED: "Degraded",
    Result.OUT_OF_SYNC: "Unknown",
    Result.INVALID: "Unknown",
    Result.UNKNOWN: "Unknown",
}
HEALTH_STATES = ("Healthy", "Progressing", "Degraded", "Unknown")

# Passes take from under a second (nothing to do) to the longest rollout timeout.
_PASS_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _AwsCalls(Collector):
    """``ecs_gitops_aws_api_calls_total{operation, error}`` and
    ``ecs_gitops_aws_api_retries_total{operation}`` from the process's call counter."""

    def __init__(self, counter: CallCounter) -> None:
        self._counter = counter

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            f"{PREFIX}_aws_api_calls",
            "AWS API calls by operation and error code (empty for a success).",
            labels=("operation", "error"),
        )
        for (operation, error), count in sorted(self._counter.counts().items()):
            family.add_metric((operation, error), count)
        yield family
        retries = CounterMetricFamily(
            f"{PREFIX}_aws_api_retries",
            "AWS API calls sent again by botocore (throttling, 5xx, network), by operation.",
            labels=("operation",),
        )
        for operation, count in sorted(self._counter.retries().items()):
            retries.add_metric((operation,), count)
        yield retries


class ControllerMetrics:
    """The metric families of one controller process, in their own registry."""

    def __init__(self, *, calls: CallCounter = API_CALLS) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.passes = Counter(
            f"{PREFIX}_passes",
            "Reconcile passes by result: ok (no failure), failed (a service the pass settled "
            "failed; rollouts that end after the pass are counted in deploys), error (the pass "
            "itself could not run, e.g. the repository was unreachable).",
            ("result",),
            registry=r,
        )
        self.pass_seconds = Histogram(
            f"{PREFIX}_pass_duration_seconds",
            "Duration of reconcile passes.",
            buckets=_PASS_BUCKETS,
            registry=r,
        )
        self.last_pass = Gauge(
            f"{PREFIX}_last_pass_timestamp_seconds",
            "When the last pass that ran to the end finished (Unix time).",
            registry=r,
        )
        self.service_sync = Gauge(
            f"{PREFIX}_service_sync_result",
            "1 for each service's sync result after the last pass, 0 for the other results.",
            ("service", "result"),
            registry=r,
        )
        self.service_health = Gauge(
            f"{PREFIX}_service_health",
            "1 for each service's health after the last pass, 0 for the other states.",
            ("service", "health"),
            registry=r,
        )
        self.deploys = Counter(
            f"{PREFIX}_deploys",
            "Rollouts that ended (or paused), by strategy and result.",
            ("strategy", "result"),
            registry=r,
        )
        self.rollbacks = Counter(
            f"{PREFIX}_rollbacks",
            "Failed rollouts that were rolled back to the previous version, by service.",
            ("service",),
            registry=r,
        )
        self.git_fetch_seconds = Histogram(
            f"{PREFIX}_git_fetch_duration_seconds",
            "Duration of fetching the config repository (clone or fetch and checkout).",
            buckets=_FETCH_BUCKETS,
            registry=r,
        )
        self.git_fetch_errors = Counter(
            f"{PREFIX}_git_fetch_errors",
            "Failed fetches of the config repository.",
            registry=r,
        )
        self.notifications = Counter(
            f"{PREFIX}_notifications",
            "Notifications by target (webhook, github) and result: sent, failed (after every "
            "attempt, or refused), dropped (the delivery queue was full).",
            ("target", "result"),
            registry=r,
        )
        r.register(_AwsCalls(calls))
        self.leases = LeaseMetrics(r)
        self._lock = threading.Lock()
        self._services: set[str] = set()

    def observe_notification(self, target: str, result: str) -> None:
        self.notifications.labels(target, result).inc()

    def observe_fetch(self, seconds: float, *, failed: bool) -> None:
        self.git_fetch_seconds.observe(seconds)
        if failed:
            self.git_fetch_errors.inc()

    def observe_pass_error(self, seconds: float) -> None:
        """A pass that could not run to the end (nothing per service is known)."""
        self.passes.labels("error").inc()
        self.pass_seconds.observe(seconds)

    def observe_pass(self, report: PassReport, *, seconds: float, finished_at: float) -> None:
        """Turn a pass report into counters and per-service gauges."""
        self.passes.labels("failed" if report.exit_code else "ok").inc()
        self.pass_seconds.observe(seconds)
        self.last_pass.set(finished_at)
        for r in report.results:
            self.observe_service(r)

    def observe_service(self, r: ServiceResult) -> None:
        """One service's end in a pass, or of a rollout that ran on its own."""
        with self._lock:
            result = r.outcome.result
            if r.action == "prune" and result == Result.SYNCED:
                self._drop(r.key)  # deleted: it has no result any more
            else:
                self._set_state(r.key, result)
            if r.deployed and r.action != "prune":
                strategy = str(r.desired.deploy.strategy) if r.desired else "unknown"
                self.deploys.labels(strategy, str(result)).inc()
                if result == Result.ROLLED_BACK:
                    self.rollbacks.labels(r.key).inc()

    def _set_state(self, key: str, result: Result) -> None:
        self._services.add(key)
        for each in Result:
            self.service_sync.labels(key, str(each)).set(1 if each == result else 0)
        health = _HEALTH[result]
        for state in HEALTH_STATES:
            self.service_health.labels(key, state).set(1 if state == health else 0)

    def _drop(self, key: str) -> None:
        if key not in self._services:
            return
        self._services.discard(key)
        for each in Result:
            self.service_sync.remove(key, str(each))
        for state in HEALTH_STATES:
            self.service_health.remove(key, state)


# A renewal is one DynamoDB write: milliseconds, unless the table throttles or the network stalls.
_RENEW_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class LeaseMetrics(LeaseObserver):
    """``run --lease-table``: the leases held, handovers, leases lost, renewal latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.held_units = Gauge(
            f"{PREFIX}_lease_held",
            "1 for each unit (environment, or service with --shard-by service) whose lease "
            "this controller holds.",
            ("unit",),
            registry=registry,
        )
        self.handovers = Counter(
            f"{PREFIX}_lease_handovers",
            "Leases this controller took over from another controller (expired or released).",
            registry=registry,
        )
        self.lost_leases = Counter(
            f"{PREFIX}_lease_lost",
            "Leases this controller lost (another holder in the table, or not renewed in time).",
            registry=registry,
        )
        self.renew_seconds = Histogram(
            f"{PREFIX}_lease_renewal_duration_seconds",
            "Duration of lease renewals (conditional writes to the lease table), by result.",
            ("result",),
            buckets=_RENEW_BUCKETS,
            registry=registry,
        )
        self._units: set[str] = set()
        self._lock = threading.Lock()

    def held(self, units: Sequence[str]) -> None:
        with self._lock:
            for unit in self._units - set(units):
                self.held_units.remove(unit)
            for unit in units:
                self.held_units.labels(unit).set(1)
            self._units = set(units)

    def handover(self) -> None:
        self.handovers.inc()

    def lost(self) -> None:
        self.lost_leases.inc()

    def renewal(self, seconds: float, *, ok: bool) -> None:
        self.renew_seconds.labels("ok" if ok else "refused").observe(seconds)
