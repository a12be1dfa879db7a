"""The pass scheduler in process, against local-aws and a real git remote.

Passes never overlap and never pile up; a pass that cannot fetch leaves the controller
unready and is counted; the controller's own status commits ask for no pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from controller.localaws import LocalAws
from controller.reconcile import PassOptions
from controller.service.metrics import ControllerMetrics
from controller.service.scheduler import MeasuredRepository, PassScheduler
from tests.e2e.support import Workspace

DEADLINE = 90.0


def wait_until(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def scheduler_for(url: str, workdir: str, metrics: ControllerMetrics) -> PassScheduler:
    repo = MeasuredRepository(metrics=metrics, url=url, workdir=workdir)
    options = PassOptions(poll_seconds=0.1, report=lambda line: None)
    return PassScheduler(repo=repo, options=options, metrics=metrics, interval=600)


@pytest.fixture
def schedulers() -> Iterator[list[PassScheduler]]:
    started: list[PassScheduler] = []
    yield started
    for s in started:
        s.stop(timeout=60)


def sample(metrics: ControllerMetrics, line_start: str) -> float:
    for line in generate_latest(metrics.registry).decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {line_start}")


def test_requests_during_a_pass_become_exactly_one_more_pass(
    workspace: Workspace, local_aws: LocalAws, schedulers: list[PassScheduler]
) -> None:
    metrics = ControllerMetrics()
    asked: list[bool] = []
    holder: list[PassScheduler] = []

    class Repository(MeasuredRepository):
        def pull(self) -> str:
            # five pushes arrive while the first pass is under way
            if not asked:
                assert holder[0].busy
                asked.extend(holder[0].request(f"push {n}") for n in range(5))
            return super().pull()

    repo = Repository(metrics=metrics, url=str(workspace.remote), workdir=str(workspace.workdir))
    passes = PassScheduler(
        repo=repo,
        options=PassOptions(poll_seconds=0.1, report=lambda line: None),
        metrics=metrics,
        interval=600,
    )
    holder.append(passes)
    schedulers.append(passes)
    passes.start()

    wait_until("both passes ended", lambda: passes.passes >= 2 and passes.settled)
    assert asked == [True] * 5
    assert passes.passes == 2
    assert sample(metrics, 'ecs_gitops_passes_total{result="ok"}') == 2
    assert passes.readiness()[0] is True


def test_the_controllers_own_status_commit_asks_for_no_pass(
    workspace: Workspace, local_aws: LocalAws, schedulers: list[PassScheduler]
) -> None:
    passes = scheduler_for(str(workspace.remote), str(workspace.workdir), ControllerMetrics())
    schedulers.append(passes)
    config = workspace.remote_head()
    passes.start()
    wait_until("the first pass", lambda: passes.passes == 1 and passes.settled)
    status_commit = workspace.remote_head()
    assert status_commit != config
    assert passes.request("our status push", commit=status_commit) is False
    assert passes.request("the commit just deployed", commit=config) is False
    assert not passes.busy


def test_an_unreachable_repository_leaves_the_controller_unready_and_is_counted(
    tmp_path: Path, schedulers: list[PassScheduler]
) -> None:
    metrics = ControllerMetrics()
    missing = f"{tmp_path}/no-such-repository.git"
    passes = scheduler_for(missing, f"{tmp_path}/workdir", metrics)
    schedulers.append(passes)
    passes.start()
    wait_until(
        "the failed pass", lambda: 'result="error"' in generate_latest(metrics.registry).decode()
    )
    wait_until("the pass ended", lambda: not passes.busy)

    ready, why = passes.readiness()
    assert ready is False
    assert "no-such-repository" in why
    assert sample(metrics, 'ecs_gitops_passes_total{result="error"}') == 1
    assert sample(metrics, "ecs_gitops_git_fetch_errors_total") == 1
    assert sample(metrics, "ecs_gitops_git_fetch_duration_seconds_count") == 1
    assert passes.passes == 0

    assert passes.stop(timeout=60) is True
    assert passes.readiness() == (False, "stopping")
    assert passes.request("after stop") is False


def test_a_push_between_full_passes_looks_only_at_the_services_it_touched(
    workspace: Workspace, local_aws: LocalAws, schedulers: list[PassScheduler]
) -> None:
    lines: list[str] = []
    metrics = ControllerMetrics()
    repo = MeasuredRepository(
        metrics=metrics, url=str(workspace.remote), workdir=str(workspace.workdir)
    )
    options = PassOptions(poll_seconds=0.1, report=lines.append)
    passes = PassScheduler(repo=repo, options=options, metrics=metrics, interval=600)
    schedulers.append(passes)
    passes.start()
    wait_until("the first (full) pass", lambda: passes.passes == 1 and passes.settled)

    def services_reported() -> list[str]:
        return sorted(line.split(":", 1)[0] for line in lines if not line.startswith(" "))

    assert services_reported() == ["staging/api", "staging/web", "staging/worker"]

    lines.clear()
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    pushed = workspace.commit_and_push("web: nginx 1.27")
    assert passes.request("push", commit=pushed)
    wait_until("the pass after the push", lambda: passes.passes == 2 and passes.settled)
    assert services_reported() == ["staging/web"]
