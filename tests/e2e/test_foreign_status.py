"""Status files and rollback markers are the controller's: a hand-written one is reported, not honoured.

The CLI as a subprocess against real git and local-aws: a marker committed by a person makes
the service Invalid with a message that names the file and the commit (before, it silently
held the deploy while the status said Synced); deleting it, the documented way to retry,
lets the deploy through.
"""

from __future__ import annotations

from typing import Any

import boto3

from tests.e2e.support import Workspace

MARKER = ".ecs-gitops/rollback/staging/web.yaml"
STATUS = ".ecs-gitops/status/staging/web.yaml"


def live_image() -> str:
    ecs: Any = boto3.client("ecs", region_name="us-east-1")
    service = ecs.describe_services(cluster="staging", services=["web"])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def test_a_marker_written_by_hand_is_invalid_not_honoured_and_deleting_it_deploys(
    workspace: Workspace,
) -> None:
    assert workspace.sync().returncode == 0
    workspace.pull()
    desired_state = workspace.status("staging/web")["desiredState"]
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.write(
        MARKER,
        f"failedCommit: 0123456789abcdef0123456789abcdef01234567\nreason: hand-made\n"
        f"at: '2026-01-01T00:00:00Z'\ndesiredState: {desired_state}\n",
    )
    tampered = workspace.commit_and_push("web: nginx:1.27, and a marker of my own")

    held = workspace.sync()

    assert held.returncode == 1, held.stdout + held.stderr
    status = workspace.status("staging/web")
    assert status["result"] == "Invalid", status
    assert MARKER in status["message"] and "not by ecs-gitops" in status["message"]
    assert tampered[:12] in status["message"]
    assert live_image() == "nginx:1.26"  # nothing deployed
    assert workspace.remote_file(MARKER) is not None  # and the person's file is left alone

    workspace.pull()
    (workspace.clone / MARKER).unlink()
    workspace.commit_and_push("remove the hand-made marker")
    retried = workspace.sync()

    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert workspace.status("staging/web")["result"] == "Synced"
    assert live_image() == "nginx:1.27"


def test_a_status_file_edited_by_hand_is_reported_once_then_rewritten_by_the_controller(
    workspace: Workspace,
) -> None:
    assert workspace.sync().returncode == 0
    workspace.pull()
    workspace.replace(STATUS, "result: Synced", "result: Failed")
    workspace.commit_and_push("edit web's status by hand")

    reported = workspace.sync()

    assert reported.returncode == 1
    status = workspace.status("staging/web")
    assert status["result"] == "Invalid" and STATUS in status["message"], status
    # the controller's own Invalid status replaced it: the next pass is an ordinary one
    again = workspace.sync()
    assert again.returncode == 0, again.stdout + again.stderr
    assert workspace.status("staging/web")["result"] == "Synced"


def test_the_controllers_own_markers_are_honoured(workspace: Workspace) -> None:
    assert workspace.sync().returncode == 0
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")
    workspace.commit_and_push("web: broken")
    assert workspace.sync().returncode == 1
    assert workspace.marker("staging/web") is not None

    held = workspace.sync()

    assert "not retried" in held.stdout, held.stdout
    assert workspace.status("staging/web")["result"] == "RolledBack"
