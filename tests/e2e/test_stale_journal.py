"""A journaled rollout never deploys a desired state that git no longer asks for.

The CLI as a subprocess, real git, local-aws: a refused apply ends with a marker instead of
being resumed on every pass, and a rollout interrupted by kill -9 while git moved on is
finished safely before the current desired state is deployed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from tests.e2e.support import Workspace

DEADLINE = 90.0


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def live_image() -> str:
    service = ecs().describe_services(cluster="staging", services=["web"])["services"][0]
    definition = ecs().describe_task_definition(taskDefinition=service["taskDefinition"])
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def images_ever_run() -> set[str]:
    """The image of every task web ever started (running or stopped)."""
    client = ecs()
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        arns += client.list_tasks(cluster="staging", serviceName="web", desiredStatus=status)[
            "taskArns"
        ]
    if not arns:
        return set()
    tasks = client.describe_tasks(cluster="staging", tasks=arns)["tasks"]
    images = set()
    for task in tasks:
        definition = client.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
        images.add(definition["taskDefinition"]["containerDefinitions"][0]["image"])
    return images


def journal_of(ws: Workspace) -> Path:
    return ws.workdir.parent / f"{ws.workdir.name}.journal" / "staging" / "web.json"


def test_a_refused_apply_ends_with_a_marker_and_is_never_resumed(workspace: Workspace) -> None:
    assert workspace.sync().returncode == 0
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.replace("staging/web/service.yaml", '["${subnet}"]', '["subnet-0000dead"]')
    refused = workspace.commit_and_push("web: nginx:1.27 on a subnet that does not exist")

    first = workspace.sync()

    assert first.returncode == 1, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    status = workspace.status("staging/web")
    assert (status["result"], status["commit"]) == ("Failed", refused), status
    marker = workspace.marker("staging/web")
    assert marker is not None and "subnet-0000dead" in marker["reason"], marker
    assert not journal_of(workspace).exists()

    # the same desired state: held by its marker, nothing resumed, nothing sent again
    second = workspace.sync()
    assert "resuming" not in second.stdout, second.stdout
    assert "not retried" in second.stdout, second.stdout
    assert live_image() == "nginx:1.26"


def test_after_a_refused_apply_a_fix_deploys_the_fix_never_the_superseded_image(
    workspace: Workspace,
) -> None:
    assert workspace.sync().returncode == 0
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.replace("staging/web/service.yaml", '["${subnet}"]', '["subnet-0000dead"]')
    workspace.commit_and_push("web: nginx:1.27 on a subnet that does not exist")
    assert workspace.sync().returncode == 1

    workspace.replace("staging/web/deploy.yaml", "nginx:1.27", "nginx:1.28")
    workspace.replace("staging/web/service.yaml", '["subnet-0000dead"]', '["${subnet}"]')
    fix = workspace.commit_and_push("web: nginx:1.28 on the right subnet")
    fixed = workspace.sync()

    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "resuming" not in fixed.stdout, fixed.stdout
    status = workspace.status("staging/web")
    assert (status["result"], status["commit"]) == ("Synced", fix), status
    assert live_image() == "nginx:1.28"
    assert "nginx:1.27" not in images_ever_run()
    assert workspace.marker("staging/web") is None  # the fix is live: the marker has done its job


def test_kill_9_in_the_verify_window_then_a_new_commit_deploys_the_new_commit(
    workspace: Workspace,
) -> None:
    assert workspace.sync().returncode == 0
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
        AlarmName="web-5xx", MetricName="5xx", Namespace="web", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    with (workspace.clone / "staging/web/deploy.yaml").open("a") as deploy:
        deploy.write("verify:\n  alarms: [web-5xx]\n  duration: 10m\n")
    superseded = workspace.commit_and_push("web: nginx:1.27 with a long verify window")
    journal = journal_of(workspace)
    controller = subprocess.Popen(
        [
            sys.executable, "-m", "controller", "sync", "--repo", str(workspace.remote),
            "--workdir", str(workspace.workdir), "--poll-interval", "0.2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE
        while not (journal.is_file() and _phase(journal) == "verify"):
            assert controller.poll() is None, "sync ended before its verify window"
            assert time.monotonic() < deadline, "the rollout never reached its verify window"
            time.sleep(0.1)
    finally:
        controller.send_signal(signal.SIGKILL)
        controller.wait()

    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.27", "nginx:1.28")
    workspace.replace("staging/web/deploy.yaml", "duration: 10m", "duration: 1s")
    newer = workspace.commit_and_push("web: nginx:1.28, verified for a second")
    again = workspace.sync()

    assert again.returncode == 0, again.stdout + again.stderr
    assert "git moved on from" in again.stdout, again.stdout
    status = workspace.status("staging/web")
    assert (status["result"], status["commit"]) == ("Synced", newer), status
    assert status["commit"] != superseded
    assert live_image() == "nginx:1.28"
    assert not journal.exists()
    # and it stays so: the next pass has nothing to do
    quiet = workspace.sync()
    assert quiet.returncode == 0 and live_image() == "nginx:1.28"
    assert workspace.status("staging/web")["commit"] == newer


def _phase(journal: Path) -> str | None:
    try:
        return str(json.loads(journal.read_text())["progress"].get("phase"))
    except (OSError, ValueError, KeyError):
        return None
