"""Service members ECS never reports back (``monitoring``, ``gatewayConnectors``) are deployed.

DescribeServices does not return them, so live state cannot show a change of them: the
controller compares them with the desired state its status file says it last applied. A commit
that changes only such a member is an update (UpdateService carries it) and then Synced, and the
pass after it does nothing. local-aws, like ECS, takes them and never returns them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.aws.clients import clients_for, forget_clients
from controller.core.model import Environment
from controller.localaws import LocalAws
from controller.reconcile import PassOptions, run_pass
from controller.source.git_repo import ConfigRepository
from tests.e2e.support import DATA, Workspace, network, publish, run_cli

MONITORING = """monitoring:
  metricConfigurations:
    - metricNames: [CPUUtilization, MemoryUtilization]
      resolutionSeconds: 60
"""
GATEWAY = """gatewayConnectors:
  - portName: http
    healthCheck:
      healthCheckPath: /health
"""


@pytest.fixture
def web(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    """staging/web of tests/data/sync-repo with monitoring and a gateway connector, synced once."""
    source = tmp_path / "source"
    shutil.copytree(DATA / "sync-repo" / "staging" / "web", source / "staging" / "web")
    shutil.copy(DATA / "sync-repo" / "staging" / "environment.yaml", source / "staging")
    with (source / "staging" / "web" / "service.yaml").open("a") as service:
        service.write(MONITORING + GATEWAY)
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    ws = publish(source, tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})
    first = ws.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    assert ws.status("staging/web")["result"] == "Synced"
    ws.pull()
    yield ws


def test_a_commit_changing_only_monitoring_updates_the_service_once(web: Workspace) -> None:
    applied = web.status("staging/web")["desiredState"]
    web.replace("staging/web/service.yaml", "resolutionSeconds: 60", "resolutionSeconds: 20")
    change = web.commit_and_push("web: CPU and memory metrics every 20 seconds")

    # plan, with the checkout's status files, sees what live state cannot show
    planned = run_cli("plan", str(web.clone))
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "monitoring: (not reported by ECS) -> " in planned.stdout
    assert '"resolutionSeconds":20' in planned.stdout
    # without them (a pull request's checkout on a status branch) it has nothing to compare with
    bare = web.clone.parent / "without-status"
    shutil.copytree(web.clone, bare, ignore=shutil.ignore_patterns(".git", ".ecs-gitops"))
    unknown = run_cli("plan", str(bare))
    assert unknown.returncode == 0, unknown.stdout + unknown.stderr

    done = web.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    # which unreported member changed is not known either: every one git sets is sent
    assert "staging/web: update: " in done.stdout
    assert "monitoring: (not reported by ECS) -> " in done.stdout
    assert "updating service web" in done.stdout
    status = web.status("staging/web")
    assert status["result"] == "Synced"
    assert status["commit"] == change
    assert status["desiredState"] != applied

    # applied and recorded: the next pass has nothing to do and commits nothing
    head = web.remote_head()
    quiet = web.sync()
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "updating service" not in quiet.stdout
    assert "Synced (in-sync" in quiet.stdout
    assert web.remote_head() == head
    web.pull()
    again = run_cli("plan", str(web.clone))
    assert again.returncode == 0, again.stdout + again.stderr


def test_update_service_carries_the_changed_gateway_connector(web: Workspace) -> None:
    web.replace("staging/web/service.yaml", "healthCheckPath: /health", "healthCheckPath: /ready")
    web.commit_and_push("web: gateway health check on /ready")
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    forget_clients()
    staging = Environment(name="staging", cluster="staging", region="us-east-1")
    clients_for(staging).ecs.meta.events.register("provide-client-params.ecs.UpdateService", record)
    try:
        report = run_pass(
            ConfigRepository(url=str(web.remote), workdir=web.workdir),
            PassOptions(poll_seconds=0.2, report=lambda _: None),
        )
    finally:
        forget_clients()

    assert report.exit_code == 0, report.summary()
    (update,) = sent
    assert update["gatewayConnectors"] == [
        {"portName": "http", "healthCheck": {"healthCheckPath": "/ready"}}
    ]
    assert update["monitoring"]["metricConfigurations"][0]["resolutionSeconds"] == 60
