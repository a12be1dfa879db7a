"""Two controllers by mistake: never two deploys of one commit, never inconsistent status.

One working clone admits one controller (a lock next to it); two clones of one repository
are kept apart by the claims each pushes before a rollout starts. The CLI as subprocesses,
started together, against real git and local-aws.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from controller.localaws import LocalAws, SimulationOptions
from tests.e2e.support import Workspace


def start_sync(ws: Workspace, workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "controller", "sync", "--repo", str(ws.remote),
            "--workdir", str(workdir), "--poll-interval", "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )  # fmt: skip


def both(ws: Workspace, first: Path, second: Path) -> list[tuple[int, str, str]]:
    started = [start_sync(ws, first), start_sync(ws, second)]
    ended = []
    for process in started:
        out, err = process.communicate(timeout=120)
        ended.append((process.returncode, out, err))
    return ended


def test_two_syncs_on_one_working_clone_one_runs_the_other_names_it(
    workspace: Workspace, local_aws: LocalAws
) -> None:
    assert workspace.sync().returncode == 0
    local_aws.options = SimulationOptions(task_start_seconds=1.0)
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    bump = workspace.commit_and_push("web: nginx:1.27")

    ended = both(workspace, workspace.workdir, workspace.workdir)

    codes = sorted(code for code, _, _ in ended)
    outputs = "\n".join(out + err for _, out, err in ended)
    assert outputs.count("updating service web") == 1, outputs
    assert "Traceback" not in outputs
    if codes == [0, 1]:  # they overlapped: the second was refused with one line
        (refused,) = [err for code, _, err in ended if code == 1]
        assert "another ecs-gitops controller holds it" in refused
        assert "pid " in refused and len(refused.strip().splitlines()) == 1, refused
    else:
        assert codes == [0, 0], outputs
    status = workspace.status("staging/web")
    assert (status["result"], status["commit"]) == ("Synced", bump)


def test_two_controllers_on_two_clones_deploy_a_commit_once(
    workspace: Workspace, local_aws: LocalAws, tmp_path: Path
) -> None:
    assert workspace.sync().returncode == 0
    local_aws.options = SimulationOptions(fail_images=("*:broken",), task_start_seconds=1.0)
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")
    broken = workspace.commit_and_push("web: a broken image")

    ended = both(workspace, tmp_path / "clone-a", tmp_path / "clone-b")

    outputs = "\n".join(out + err for _, out, err in ended)
    assert outputs.count("updating service web") == 1, outputs
    assert "Traceback" not in outputs
    # the outcome of the one rollout, and its marker: never Synced beside a marker
    status = workspace.status("staging/web")
    assert (status["result"], status["commit"]) == ("RolledBack", broken), status
    marker = workspace.marker("staging/web")
    assert marker is not None and marker["failedCommit"] == broken
    # and the next pass of either does not try it again
    for workdir in (tmp_path / "clone-a", tmp_path / "clone-b"):
        again = start_sync(workspace, workdir)
        out, _ = again.communicate(timeout=120)
        assert "updating service web" not in out
        assert "not retried" in out or "claimed its rollout" in out, out
