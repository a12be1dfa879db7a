"""Why a deploy failed, in the status and the marker: the cause ECS recorded, not only that the
circuit breaker rolled it back. The CLI against local-aws and real git."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.localaws import LocalAws
from tests.conftest import fast_options
from tests.e2e.support import Workspace


@pytest.mark.parametrize(
    ("image", "says"),
    [
        ("nginx:broken", ["Essential container in task exited", "exit code 1"]),
        ("nginx:nopull", ["CannotPullContainerError", "TaskFailedToStart"]),
    ],
)
def test_a_failed_deploy_names_what_ecs_saw(
    workspace: Workspace, local_aws: LocalAws, image: str, says: list[str]
) -> None:
    local_aws.options = replace(fast_options(), pull_fail_images=("*:nopull",))
    assert workspace.sync().returncode == 0
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", image)
    bad = workspace.commit_and_push(f"web: {image}")

    failed = workspace.sync()

    assert failed.returncode == 1, failed.stdout + failed.stderr
    marker = workspace.marker("staging/web")
    status = workspace.status("staging/web")
    assert marker is not None and status["result"] == "RolledBack", status
    assert status["commit"] == bad
    for text in says:
        assert text in marker["reason"], marker
        assert text in status["message"], status
    events = status["details"]["events"]
    assert events and all({"at", "message"} <= set(e) for e in events), events
