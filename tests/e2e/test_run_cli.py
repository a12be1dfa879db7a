"""`ecs-gitops run` end to end: the real service as a subprocess, local-aws, a bare git remote.

Every wait is bounded by a generous deadline and asserts on what happened (a status commit,
a live service, an exit code), never on how long it took.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

from controller.localaws import LocalAws, SimulationOptions
from controller.service.webhook import github_signature
from tests.conftest import fast_options
from tests.e2e.controllers import (
    Controller,
    bump_web,
    first_pass_done,
    image_of,
    live,
    metric,
    start,
    status,
    status_is,
)
from tests.e2e.support import Workspace

SECRET = "s3cret-webhook-value"


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
