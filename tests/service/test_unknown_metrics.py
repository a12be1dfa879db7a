"""A service whose environment could not be read is exported with health Unknown."""

from __future__ import annotations

from prometheus_client import generate_latest

from controller.core.outcome import Outcome, Result
from controller.reconcile import PassReport, ServiceResult
from controller.service.metrics import ControllerMetrics


def test_an_unknown_service_has_unknown_health_and_fails_the_pass() -> None:
    metrics = ControllerMetrics()
    unknown = ServiceResult(
        "prod/web",
        Outcome(Result.UNKNOWN, "live state could not be read: ThrottlingException"),
        action="unknown",
        failed_now=True,
    )

    metrics.observe_pass(PassReport(commit="c" * 40, results=[unknown]), seconds=1.0, finished_at=0)

    text = generate_latest(metrics.registry).decode()
    assert 'ecs_gitops_service_health{health="Unknown",service="prod/web"} 1.0' in text
    assert 'ecs_gitops_service_sync_result{result="Unknown",service="prod/web"} 1.0' in text
    assert 'ecs_gitops_passes_total{result="failed"} 1.0' in text
