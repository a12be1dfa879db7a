"""`ecs-gitops demo` (what `make demo` runs) end to end, as a new user runs it."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.support import run_cli


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """One run of the demo (a dozen seconds) for every test here."""
    return run_cli("demo", timeout=300)


def test_the_demo_shows_push_to_deploy_rollback_and_revert(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    for step in (
        "1. first sync",
        "2. git push to deploy",
        "3. a broken image",
        "4. the same state is not retried",
        "5. git revert",
        "6. ECS's own blue/green with an approval gate",
    ):
        assert step in out
    assert "RolledBack (deploy" in out or "RolledBack (update" in out
    assert "the same revision, none registered anew" in out
    assert "demo finished" in out


def test_the_demo_shows_a_pause_hook_approved_then_synced(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    step = demo.stdout.split("=== 6. ")[1].split("\n=== ")[0]
    lines = step.splitlines()
    status = ".ecs-gitops/status/staging/catalog.yaml, as pushed to the remote (excerpt)"
    paused = lines.index(f"--- {status}")
    approve = lines.index("$ ecs-gitops approve staging/catalog --path clone")
    synced = lines.index(f"--- {status}", paused + 1)
    assert paused < approve < synced, step
    # while ECS waits: the remote's status file, test traffic on green, production still blue
    assert lines[paused + 1 : paused + 3] == ["result: Progressing", "phase: paused"], step
    assert "    stage: POST_TEST_TRAFFIC_SHIFT" in lines[paused:approve], step
    assert "production listener rule: catalog-blue 100%, catalog-green 0%" in lines[paused:approve]
    assert "test listener rule: catalog-blue 0%, catalog-green 100%" in lines[paused:approve]
    assert lines[approve + 1].startswith("staging/catalog: approved at POST_TEST_TRAFFIC_SHIFT;")
    # the next pass follows ECS to the end: production moved to the green group
    assert any(line.startswith("staging/catalog: Synced (") for line in lines[approve:synced])
    assert lines[synced + 1] == "result: Synced", step
    assert "production listener rule: catalog-blue 0%, catalog-green 100%" in lines[synced:]
    assert "approval all shown" in demo.stdout
