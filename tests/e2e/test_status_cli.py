"""``ecs-gitops status`` as a user runs it: a checkout or a remote, text, JSON, --live, exit codes."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import boto3

from controller.localaws import LocalAws, SimulationOptions
from tests.e2e.support import DATA, Workspace, git, network, publish, run_cli

SHA = "0123456789abcdef0123456789abcdef01234567"


def _status_file(key: str, result: str, *, message: str, phase: str | None = None) -> str:
    lines = [
        f"service: {key}",
        f"result: {result}",
        f"commit: {SHA}",
        f"message: {json.dumps(message)}",
        "updatedAt: '2026-01-01T00:00:00Z'",
        "strategy: rolling",
    ]
    if phase:
        lines.append(f"phase: {phase}")
    return "\n".join(lines) + "\n"


def _checkout(tmp_path: Path) -> Path:
    """sync-repo with every kind of service: Synced, RolledBack, Progressing, Invalid, no status."""
    root = tmp_path / "config"
    shutil.copytree(DATA / "sync-repo", root)
    shutil.copytree(root / "staging/api", root / "staging/fresh")
    fresh = root / "staging/fresh/task-definition.yaml"
    fresh.write_text(fresh.read_text().replace("family: staging-api", "family: staging-fresh"))
    (root / "staging/fresh/scalable-target.yaml").unlink()
    (root / "staging/fresh/scaling-policy.yaml").unlink()
    shutil.copytree(root / "staging/web", root / "staging/broken")
    (root / "staging/broken/deploy.yaml").write_text("strategy: rolling\nimage: x:1\ntimout: 5m\n")
    status = root / ".ecs-gitops/status/staging"
    status.mkdir(parents=True)
    (status / "api.yaml").write_text(_status_file("staging/api", "Synced", message="deployed"))
    (status / "web.yaml").write_text(
        _status_file(
            "staging/web",
            "RolledBack",
            message="rolled back: tasks stopped: Essential container in task exited",
        )
    )
    (status / "worker.yaml").write_text(
        _status_file("staging/worker", "Progressing", message="awaiting approval", phase="paused")
    )
    return root


def test_a_checkout_gives_the_table_in_order_of_attention(tmp_path: Path) -> None:
    root = _checkout(tmp_path)

    done = run_cli("status", str(root))

    assert done.returncode == 1, done.stderr  # a RolledBack and an Invalid service
    lines = done.stdout.splitlines()
    assert lines[0].split()[:8] == [
        "ENV", "SERVICE", "RESULT", "PHASE", "COMMIT", "IMAGE", "AGE", "MESSAGE",
    ]  # fmt: skip
    rows = [line.split() for line in lines[1:-1]]
    assert [(r[1], r[2]) for r in rows] == [
        ("web", "RolledBack"),
        ("broken", "Invalid"),
        ("worker", "Progressing"),
        ("fresh", "NoStatus"),
        ("api", "Synced"),
    ]
    web, _, worker, fresh, api = rows
    assert web[3:6] == ["-", "0123456", "1.26"]
    assert worker[3] == "paused"
    assert "staging/broken/deploy.yaml:3:" in lines[2] and "timout" in lines[2]
    assert fresh[4] == "-" and "no status file yet" in lines[4]
    assert api[5] == "2.4"
    assert lines[-1] == "5 services: 1 RolledBack, 1 Invalid, 1 Progressing, 1 NoStatus, 1 Synced"
    assert "\x1b[" not in done.stdout  # not a terminal: no colours


def test_json_and_markdown_and_only(tmp_path: Path) -> None:
    root = _checkout(tmp_path)

    done = run_cli("status", str(root), "--format", "json")

    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert [(s["service"], s["result"]) for s in document["services"]] == [
        ("web", "RolledBack"), ("broken", "Invalid"), ("worker", "Progressing"),
        ("fresh", "NoStatus"), ("api", "Synced"),
    ]  # fmt: skip
    assert document["services"][0]["commit"] == SHA
    assert document["services"][0]["image"] == "nginx:1.26"
    assert document["needsAttention"] is True

    only = run_cli("status", str(root), "--only", "staging/api", "--format", "json")
    assert only.returncode == 0
    assert [s["service"] for s in json.loads(only.stdout)["services"]] == ["api"]

    markdown = run_cli("status", str(root), "--format", "markdown")
    assert markdown.returncode == 1
    assert markdown.stdout.startswith("| Env | Service | Result |")
    assert "| staging | web | **RolledBack** |" in markdown.stdout


def test_message_cut_to_columns(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "controller", "status", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "70"},
        timeout=60,
    )
    assert all(len(line) <= 70 for line in done.stdout.splitlines()[:-1])


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "controller", *args],
            stdout=secondary,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    finally:
        os.close(primary)
    return b"".join(chunks).decode()


def test_colours_on_a_terminal_only_without_no_color(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}

    coloured = _on_a_terminal(["status", str(root)], env)
    plain = _on_a_terminal(["status", str(root)], {**env, "NO_COLOR": "1"})

    assert "\x1b[31mRolledBack\x1b[0m" in coloured
    assert "\x1b[32mSynced\x1b[0m" in coloured
    assert "RolledBack" in plain and "\x1b[" not in plain


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    for args in (
        ["status"],
        ["status", str(root), "--repo", str(root)],
        ["status", str(root), "--branch", "main"],
        ["status", str(tmp_path / "missing")],
        ["status", str(root), "--only", "production"],
        ["status", "--repo", str(tmp_path / "nowhere.git")],
    ):
        done = run_cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert done.stderr.startswith("ecs-gitops status: "), (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_remote_with_a_rolled_back_service_and_live_counts(
    workspace: Workspace, local_aws: LocalAws
) -> None:
    first = workspace.sync()
    assert first.returncode == 0, first.stderr
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")
    workspace.commit_and_push("web: a broken image")
    second = workspace.sync()
    assert second.returncode == 1, second.stderr
    assert workspace.status("staging/web")["result"] == "RolledBack"

    done = run_cli("status", "--repo", str(workspace.remote), "--live", "--format", "json")

    assert done.returncode == 1, done.stderr
    services = {s["service"]: s for s in json.loads(done.stdout)["services"]}
    assert list(services) == ["web", "api", "worker"]
    web = services["web"]
    assert web["result"] == "RolledBack"
    assert web["image"] == "nginx:broken"  # what git asks for
    assert web["commit"] == git(workspace.clone, "rev-parse", "HEAD")
    assert web["live"] == {"running": 2, "desired": 2, "deployment": "COMPLETED"}
    assert services["api"]["result"] == "Synced"
    assert services["api"]["live"]["running"] == services["api"]["live"]["desired"]

    text = run_cli("status", "--repo", str(workspace.remote), "--live")
    header = text.stdout.splitlines()[0].split()
    assert header[7:9] == ["RUNNING", "DEPLOYMENT"]
    assert text.stdout.splitlines()[1].split()[1:3] == ["web", "RolledBack"]
    assert text.stdout.splitlines()[1].split()[7:9] == ["2/2", "COMPLETED"]


def test_status_branch_of_a_remote(workspace: Workspace, local_aws: LocalAws) -> None:
    local_aws.options = SimulationOptions(task_start_seconds=0.2)
    done = workspace.sync("--status-branch", "status", "--only", "staging/api")
    assert done.returncode == 0, done.stderr

    on_main = run_cli("status", "--repo", str(workspace.remote), "--format", "json")
    on_status = run_cli(
        "status", "--repo", str(workspace.remote), "--status-branch", "status", "--format", "json"
    )

    assert {s["result"] for s in json.loads(on_main.stdout)["services"]} == {"NoStatus"}
    results = {s["service"]: s["result"] for s in json.loads(on_status.stdout)["services"]}
    assert results == {"api": "Synced", "web": "NoStatus", "worker": "NoStatus"}
    assert on_status.returncode == 0


def test_live_shows_the_service_deployment_of_strategy_ecs(
    tmp_path: Path, local_aws: LocalAws
) -> None:
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    ws = publish(DATA / "ecs-strategy-repo", tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})
    assert ws.sync().returncode == 0

    done = run_cli("status", "--repo", str(ws.remote), "--live", "--format", "json")

    assert done.returncode == 0, done.stderr
    [web] = json.loads(done.stdout)["services"]
    assert web["result"] == "Synced"
    # ECS's own service deployment, not the deployments' rolloutState
    assert web["live"]["deployment"].startswith("SUCCESSFUL")
    assert web["live"]["running"] == web["live"]["desired"] > 0
