"""Secrets never reach an output: plan (every format), status files, markers, run's JSON logs.

A config repository whose task definitions hold a database URL with a password, a numeric
``DB_PASSWORD`` (YAML ``123456``), a password given as a string, and a long random token under
an ordinary name; a verify probe whose url carries the token and a password fails, so the
rollback marker's reason would quote them. The CLI runs as a subprocess against local-aws.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.controllers import Controller
from tests.e2e.support import DATA, Workspace, git, network, publish, run_cli

TOKEN = "Zk9xN2tQd1J2c0xtM2FUeUhqQm5XcVo4dkVmR2hKa0w"
# what must never be printed or committed
LEAKS = ("pw@", "admin:pw", "hunter2pw", TOKEN)
# the numeric password, as a number of its own (local-aws's account id 123456789012 is not it)
NUMBER = re.compile(r"(?<![0-9])123456(?![0-9])")

WEB_ENVIRONMENT = f"""
      - name: DATABASE_URL
        value: postgres://admin:pw@db.internal/app
      - name: DB_PASSWORD
        value: "123456"
      - name: SESSION_BLOB
        value: {TOKEN}
"""
# validate rejects a number here and says so, quoting it
WORKER_TASK_DEFINITION = """\
family: staging-worker
networkMode: awsvpc
requiresCompatibilities: [FARGATE]
cpu: "256"
memory: "512"
containerDefinitions:
  - name: worker
    image: ${image}
    essential: true
    environment:
      - name: LOG_LEVEL
        value: info
      - name: DB_PASSWORD
        value: 123456
"""
VERIFY = f"""\
verify:
  http:
    - url: http://127.0.0.1:9/hooks/{TOKEN}/health?password=hunter2pw
  duration: 1s
"""


def assert_masked(text: str, what: str) -> None:
    for leaked in LEAKS:
        assert leaked not in text, f"{what} shows {leaked!r}:\n{text}"
    assert not NUMBER.search(text), f"{what} shows the numeric password:\n{text}"


@pytest.fixture
def ws(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    """staging/web (plain for now) and staging/worker (invalid: a numeric DB_PASSWORD)."""
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    source = tmp_path / "source"
    shutil.copytree(DATA / "sync-repo" / "staging", source / "staging")
    shutil.rmtree(source / "staging" / "api")
    (source / "staging" / "worker" / "task-definition.yaml").write_text(WORKER_TASK_DEFINITION)
    yield publish(source, tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})


def plan(ws: Workspace, fmt: str) -> subprocess.CompletedProcess[str]:
    ws.pull()
    return run_cli("plan", str(ws.clone), "--format", fmt)


def committed_status(ws: Workspace) -> str:
    """Every status file and marker on the remote, as one text."""
    files = git(ws.remote, "ls-tree", "-r", "--name-only", "main", ".ecs-gitops").splitlines()
    assert files, "nothing committed under .ecs-gitops/"
    return "\n".join(f"{path}:\n{ws.remote_file(path)}" for path in files)


def test_secrets_are_masked_in_plan_status_files_markers_and_json_logs(ws: Workspace) -> None:
    first = ws.sync()
    assert first.returncode == 1, first.stdout + first.stderr  # the worker is invalid
    assert_masked(first.stdout + first.stderr, "sync")
    worker = ws.status("staging/worker")
    assert worker["result"] == "Invalid"
    assert "environment[1].value: expected a string, got ***" in worker["message"]
    assert ws.status("staging/web")["result"] == "Synced"

    ws.replace("staging/web/task-definition.yaml", "value: info\n", "value: info" + WEB_ENVIRONMENT)
    configured = ws.commit_and_push("web: database settings")

    for fmt in ("text", "markdown", "json"):
        planned = plan(ws, fmt)
        assert planned.returncode in (1, 2), planned.stdout + planned.stderr
        assert_masked(planned.stdout + planned.stderr, f"plan --format {fmt}")
        assert "environment[DATABASE_URL]" in planned.stdout
        assert "postgres://***@db.internal/app" in planned.stdout
        assert "environment[SESSION_BLOB]" in planned.stdout
    document = json.loads(plan(ws, "json").stdout)
    (web,) = [s for s in document["services"] if s["key"] == "staging/web"]
    changes = {c["path"]: c["new"] for c in web["changes"]}
    assert changes["containerDefinitions[web].environment[DB_PASSWORD]"] == "***"
    assert changes["containerDefinitions[web].environment[SESSION_BLOB]"] == "***"

    second = ws.sync()
    assert second.returncode == 1, second.stdout + second.stderr  # the worker is still invalid
    assert_masked(second.stdout + second.stderr, "sync")
    web_status = ws.status("staging/web")
    assert web_status["result"] == "Synced"
    # the controller's own fields are intact
    assert web_status["commit"] == configured
    assert web_status["taskDefinitionArn"].startswith("arn:aws:ecs:")
    assert (
        web_status["desiredState"].startswith("sha256:") and len(web_status["desiredState"]) == 71
    )

    # a deploy whose verification fails, run by the service with JSON logs
    ws.replace("staging/web/deploy.yaml", "timeout: 60s\n", "timeout: 60s\n" + VERIFY)
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    failed_commit = ws.commit_and_push("web: nginx 1.27, verified")
    controller = Controller(ws, "--log-format", "json", "--no-watch")
    try:
        controller.wait_until("the rollback marker", lambda: ws.marker("staging/web") is not None)
        controller.wait_for_line("verification failed")
        assert controller.stop() == 0
    finally:
        controller.close()
    for line in controller.lines:
        json.loads(line)  # every line is still one JSON document
    assert_masked(controller.output, "the JSON log of run")
    marker = ws.marker("staging/web")
    assert marker is not None
    assert marker["failedCommit"] == failed_commit
    assert "http://127.0.0.1:9/hooks/***/health?password=***" in marker["reason"]
    assert marker["restoredTaskDefinitionArn"] == web_status["taskDefinitionArn"]
    assert ws.status("staging/web")["result"] == "RolledBack"

    assert_masked(committed_status(ws), "the committed .ecs-gitops/ files")
