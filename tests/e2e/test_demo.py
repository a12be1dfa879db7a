"""`ecs-gitops demo` (what `make demo` runs) end to end, as a new user runs it."""

from __future__ import annotations

from tests.e2e.support import run_cli


def test_the_demo_shows_push_to_deploy_rollback_and_revert() -> None:
    result = run_cli("demo", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "1. first sync",
        "2. git push to deploy",
        "3. a broken image",
        "4. the same state is not retried",
        "5. git revert",
    ):
        assert step in out
    assert "RolledBack (deploy" in out or "RolledBack (update" in out
    assert "the same revision, none registered anew" in out
    assert "demo finished" in out
