"""`ecs-gitops run` end to end: the real service as a subprocess, local-aws, a bare git remote.

Every wait is bounded by a generous deadline and asserts on what happened (a status commit,
a live service, an exit code), never on how long it took.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from controller.localaws import LocalAws, SimulationOptions
from controller.service.webhook import github_signature
from tests.conftest import fast_options
from tests.e2e.support import Workspace

SECRET = "s3cret-webhook-value"
DEADLINE = 90.0


class Controller:
    """``ecs-gitops run`` in a subprocess, its output collected line by line."""

    def __init__(self, ws: Workspace, *args: str) -> None:
        command = [
            sys.executable, "-m", "controller", "run",
            "--repo", str(ws.remote), "--workdir", str(ws.workdir),
            "--poll-interval", "0.2", "--listen", "127.0.0.1:0", "--interval", "600s",
            *args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for_line("listening on http://")
        found = re.search(r"listening on (http://[0-9a-f.:\[\]]+)", line)
        assert found, line
        self.url = found.group(1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert self.process.poll() is None, f"the controller exited: {self.output}"
            assert time.monotonic() < deadline, f"never happened: {what}\n{self.output}"
            time.sleep(0.05)

    def wait_for_line(self, text: str) -> str:
        found: list[str] = []

        def seen() -> bool:
            found.extend(line for line in list(self.lines) if text in line)
            return bool(found)

        self.wait_until(f"a log line with {text!r}", seen)
        return found[0]

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=DEADLINE)
        self._reader.join(timeout=10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def controllers() -> Iterator[list[Controller]]:
    """Started controllers, killed at the end of the test whatever happened."""
    started: list[Controller] = []
    yield started
    for c in started:
        c.close()


def start(started: list[Controller], ws: Workspace, *args: str) -> Controller:
    controller = Controller(ws, *args)
    started.append(controller)
    return controller


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def live(name: str) -> dict[str, Any]:
    return ecs().describe_services(cluster="staging", services=[name])["services"][0]


def image_of(task_definition_arn: str) -> str:
    definition = ecs().describe_task_definition(taskDefinition=task_definition_arn)
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def status(ws: Workspace, key: str) -> dict[str, Any] | None:
    text = ws.remote_file(f".ecs-gitops/status/{key}.yaml")
    return None if text is None else dict(yaml.safe_load(text))


def status_is(ws: Workspace, key: str, *, commit: str, results: tuple[str, ...]) -> bool:
    st = status(ws, key)
    return st is not None and st["commit"] == commit and st["result"] in results


def first_pass_done(controller: Controller, ws: Workspace) -> None:
    head = ws.remote_head()
    controller.wait_until(
        "the first pass synced web",
        lambda: status_is(ws, "staging/web", commit=head, results=("Synced",)),
    )
    controller.wait_for_line("finished in")


def bump_web(ws: Workspace, image: str = "nginx:1.27") -> str:
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", image)
    return ws.commit_and_push(f"web: {image}")


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        found = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?", sample)
        if not found or found.group(1) != name:
            continue
        have = ",".join(sorted(p for p in (found.group(2) or "").split(",") if p))
        if have == wanted:
            return float(value)
    return None


def test_a_push_to_a_watched_local_repository_is_deployed_without_waiting_for_the_interval(
    workspace: Workspace, controllers: list[Controller]
) -> None:
    controller = start(controllers, workspace)
    first_pass_done(controller, workspace)
    controller.wait_for_line("watching")

    bump = bump_web(workspace)

    # the interval is ten minutes: only the watch can have started this pass
    controller.wait_until(
        "the pushed commit is deployed",
        lambda: status_is(workspace, "staging/web", commit=bump, results=("Synced",)),
    )
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
    assert f"pass requested: new commit {bump[:12]}" in controller.output
    # the controller's own status commit moved the branch too, but asked for no pass
    status_commit = workspace.remote_head()
    assert f"new commit {status_commit[:12]}" not in controller.output
    assert controller.stop() == 0


def test_only_a_correctly_signed_webhook_triggers_a_pass(
    workspace: Workspace, controllers: list[Controller], tmp_path: Path
) -> None:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(SECRET + "\n")
    controller = start(
        controllers, workspace, "--no-watch", "--webhook-secret-file", str(secret_file)
    )
    first_pass_done(controller, workspace)
    bump = bump_web(workspace)
    body = json.dumps({"ref": "refs/heads/main", "after": bump}).encode()
    github = {"Content-Type": "application/json", "X-GitHub-Event": "push"}

    rejected = [
        controller.post("/webhook", body, github),
        controller.post(
            "/webhook",
            body,
            {**github, "X-Hub-Signature-256": github_signature(b"wrong secret", body)},
        ),
        controller.post(
            "/webhook",
            body,
            # signed for another body: the signature covers every byte
            {**github, "X-Hub-Signature-256": github_signature(SECRET.encode(), body + b" ")},
        ),
        controller.post("/webhook", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "no"}),
    ]
    assert [code for code, _ in rejected] == [401, 401, 401, 401]
    # a valid push to another branch is answered but asks for nothing; once it is logged,
    # anything the rejected requests had started would have been logged before it
    other = json.dumps({"ref": "refs/heads/feature", "after": "0" * 40}).encode()
    code, _ = controller.post(
        "/webhook",
        other,
        {**github, "X-Hub-Signature-256": github_signature(SECRET.encode(), other)},
    )
    assert code == 202
    controller.wait_for_line("not to main")
    assert "pass requested" not in controller.output
    st = status(workspace, "staging/web")
    assert st is not None and st["commit"] != bump
    assert SECRET not in controller.output

    code, answer = controller.post(
        "/webhook", body, {**github, "X-Hub-Signature-256": github_signature(SECRET.encode(), body)}
    )
    assert code == 202, answer
    assert json.loads(answer)["triggered"] is True
    controller.wait_until(
        "the pushed commit is deployed after a GitHub webhook",
        lambda: status_is(workspace, "staging/web", commit=bump, results=("Synced",)),
    )

    # GitLab sends the secret itself
    second = bump_web_again(workspace)
    code, _ = controller.post(
        "/webhook",
        json.dumps({"ref": "refs/heads/main", "after": second}).encode(),
        {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET},
    )
    assert code == 202
    controller.wait_until(
        "the pushed commit is deployed after a GitLab webhook",
        lambda: status_is(workspace, "staging/web", commit=second, results=("Synced",)),
    )
    assert controller.stop() == 0


def bump_web_again(ws: Workspace) -> str:
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.27", "nginx:1.28")
    return ws.commit_and_push("web: nginx:1.28")


def test_health_readiness_and_metrics_after_passes(
    workspace: Workspace, controllers: list[Controller]
) -> None:
    controller = start(controllers, workspace, "--log-format", "json")
    assert controller.get("/healthz")[0] == 200
    first_pass_done(controller, workspace)
    controller.wait_until("ready", lambda: controller.get("/readyz")[0] == 200)

    bad = bump_web(workspace, "nginx:broken")
    controller.wait_until(
        "the broken image is rolled back",
        lambda: status_is(workspace, "staging/web", commit=bad, results=("RolledBack",)),
    )
    controller.wait_for_line("rollout failed: staging/web")
    code, text = controller.get("/metrics")
    assert code == 200

    # the passes only started the rollouts: how those ended is counted in deploys below
    assert (metric(text, "ecs_gitops_passes_total", result="ok") or 0) >= 2
    assert (metric(text, "ecs_gitops_pass_duration_seconds_count") or 0) >= 2
    assert metric(text, "ecs_gitops_last_pass_timestamp_seconds")
    sync = {
        (svc, result): metric(text, "ecs_gitops_service_sync_result", service=svc, result=result)
        for svc in ("staging/web", "staging/api")
        for result in ("Synced", "RolledBack")
    }
    assert sync == {
        ("staging/web", "Synced"): 0,
        ("staging/web", "RolledBack"): 1,
        ("staging/api", "Synced"): 1,
        ("staging/api", "RolledBack"): 0,
    }
    assert metric(text, "ecs_gitops_service_health", service="staging/web", health="Degraded") == 1
    assert metric(text, "ecs_gitops_service_health", service="staging/api", health="Healthy") == 1
    # three services created, then web's failed deploy
    assert metric(text, "ecs_gitops_deploys_total", strategy="rolling", result="Synced") == 3
    assert metric(text, "ecs_gitops_deploys_total", strategy="rolling", result="RolledBack") == 1
    assert metric(text, "ecs_gitops_rollbacks_total", service="staging/web") == 1
    assert (
        metric(text, "ecs_gitops_aws_api_calls_total", operation="DescribeServices", error="") or 0
    ) > 0
    assert (
        metric(text, "ecs_gitops_aws_api_calls_total", operation="RegisterTaskDefinition", error="")
        or 0
    ) >= 4
    assert (metric(text, "ecs_gitops_git_fetch_duration_seconds_count") or 0) >= 2
    assert metric(text, "ecs_gitops_git_fetch_errors_total") == 0

    # every log line is one JSON document
    for line in controller.lines:
        assert isinstance(json.loads(line), dict), line
    assert controller.stop() == 0


def sigterm_mid_rollout(
    workspace: Workspace, controllers: list[Controller], local_aws: LocalAws
) -> tuple[Controller, str]:
    """A controller stopped with SIGTERM while web's rollout waits for ECS; and the bump."""
    controller = start(controllers, workspace)
    first_pass_done(controller, workspace)
    # slow tasks: the rollout is still waiting for ECS when the signal arrives
    local_aws.options = SimulationOptions(task_start_seconds=8.0)
    bump = bump_web(workspace)
    controller.wait_until("the rollout started", lambda: len(live("web")["deployments"]) > 1)
    assert controller.stop(signal.SIGTERM) == 0, controller.output
    return controller, bump


def test_sigterm_mid_rollout_commits_progressing_and_the_next_start_completes_it(
    workspace: Workspace, controllers: list[Controller], local_aws: LocalAws
) -> None:
    controller, bump = sigterm_mid_rollout(workspace, controllers, local_aws)
    st = status(workspace, "staging/web")
    assert st is not None
    assert (st["result"], st["commit"]) == ("Progressing", bump), st
    assert "stopped cleanly" in controller.output
    journal = workspace.workdir.parent / f"{workspace.workdir.name}.journal"
    assert (journal / "staging" / "web.json").is_file()

    local_aws.options = fast_options()
    again = start(controllers, workspace)
    again.wait_until(
        "the resumed rollout completes",
        lambda: status_is(workspace, "staging/web", commit=bump, results=("Synced",)),
    )
    assert "resuming the rollout" in again.output
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
    assert not (journal / "staging" / "web.json").exists()
    assert again.stop() == 0


def test_kill_9_mid_rollout_then_restart_ends_synced_never_forgotten(
    workspace: Workspace, controllers: list[Controller], local_aws: LocalAws
) -> None:
    controller = start(controllers, workspace)
    first_pass_done(controller, workspace)
    local_aws.options = SimulationOptions(task_start_seconds=8.0)
    bump = bump_web(workspace)
    journal = workspace.workdir.parent / f"{workspace.workdir.name}.journal"
    controller.wait_until(
        "the rollout started and is journaled",
        lambda: len(live("web")["deployments"]) > 1 and (journal / "staging/web.json").is_file(),
    )

    assert controller.stop(signal.SIGKILL) == -signal.SIGKILL
    # only the claim was committed for the interrupted deploy: Progressing, not an outcome
    st = status(workspace, "staging/web")
    assert st is not None and (st["result"], st["phase"]) == ("Progressing", "claimed"), st

    local_aws.options = fast_options()
    again = start(controllers, workspace)
    again.wait_until(
        "the interrupted rollout is finished",
        lambda: status_is(workspace, "staging/web", commit=bump, results=("Synced", "RolledBack")),
    )
    assert "resuming the rollout" in again.output
    st = status(workspace, "staging/web")
    assert st is not None
    if st["result"] == "Synced":
        assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
    assert not (journal / "staging" / "web.json").exists()
    assert again.stop() == 0


def test_a_new_controller_without_the_old_disk_resumes_from_the_progressing_status(
    workspace: Workspace, controllers: list[Controller], local_aws: LocalAws
) -> None:
    _, bump = sigterm_mid_rollout(workspace, controllers, local_aws)
    st = status(workspace, "staging/web")
    assert st is not None and st["result"] == "Progressing"
    assert st["rollout"]["deployment_id"]

    # a replacement task on another machine: no clone, no journal
    journal = workspace.workdir.parent / f"{workspace.workdir.name}.journal"
    shutil.rmtree(journal)
    shutil.rmtree(workspace.workdir)

    local_aws.options = fast_options()
    again = start(controllers, workspace)
    again.wait_until(
        "the rollout recorded in the status file completes",
        lambda: status_is(workspace, "staging/web", commit=bump, results=("Synced",)),
    )
    assert "resuming the rollout" in again.output
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
    assert again.stop() == 0
