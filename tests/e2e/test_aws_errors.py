"""`sync` and `run` meeting throttling and server errors from ECS: retried, never a failed deploy."""

from __future__ import annotations

from dataclasses import replace

from controller.localaws import LocalAws
from tests.conftest import fast_options
from tests.e2e.controllers import Controller, first_pass_done, metric, start, status_is
from tests.e2e.support import Workspace


def test_a_deploy_meeting_throttling_and_server_errors_still_ends_synced(
    workspace: Workspace, local_aws: LocalAws
) -> None:
    first = workspace.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    bump = workspace.commit_and_push("web: nginx 1.27")
    # more refusals than botocore's own attempts absorb, so the rollout retries its step itself
    local_aws.options = replace(
        fast_options(),
        throttle={"UpdateService": 4},
        server_errors={"RegisterTaskDefinition": 4},
    )

    result = workspace.sync("--poll-interval", "1s")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert "retrying in" in result.stdout
    assert "ThrottlingException" in result.stdout
    status = workspace.status("staging/web")
    assert (status["result"], status["commit"]) == ("Synced", bump), status
    assert workspace.marker("staging/web") is None


def test_run_meeting_throttling_ends_synced_with_the_retries_in_its_metrics(
    workspace: Workspace, local_aws: LocalAws, controllers: list[Controller]
) -> None:
    controller = start(controllers, workspace)
    first_pass_done(controller, workspace)
    local_aws.options = replace(
        fast_options(), throttle={"UpdateService": 4, "DescribeServices": 3}
    )
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    bump = workspace.commit_and_push("web: nginx 1.27")

    controller.wait_until(
        "web synced despite the throttling",
        lambda: status_is(workspace, "staging/web", commit=bump, results=("Synced",)),
    )
    _, text = controller.get("/metrics")
    retried = metric(text, "ecs_gitops_aws_api_retries_total", operation="UpdateService") or 0
    throttled = (
        metric(
            text,
            "ecs_gitops_aws_api_calls_total",
            operation="UpdateService",
            error="ThrottlingException",
        )
        or 0
    )
    assert retried + throttled >= 4, text
    assert metric(text, "ecs_gitops_deploys_total", strategy="rolling", result="Synced")
    assert workspace.marker("staging/web") is None
    assert "Traceback" not in controller.output
    assert controller.stop() == 0
