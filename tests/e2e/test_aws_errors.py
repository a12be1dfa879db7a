"""`ecs-gitops sync` meeting throttling and server errors from ECS: retried, never a failed deploy."""

from __future__ import annotations

from dataclasses import replace

from controller.localaws import LocalAws
from tests.conftest import fast_options
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
