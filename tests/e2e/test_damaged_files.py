"""What the controller keeps next to its clone is never dropped without a word when damaged.

A truncated journal entry or pending-status file (a disk fault, a full disk, a hand edit) is
set aside for a person to look at and reported in the output and the status, instead of being
deleted silently (a pending rollback marker in it would otherwise be lost without a trace).
"""

from __future__ import annotations

from tests.e2e.support import Workspace


def test_an_unreadable_journal_entry_is_set_aside_and_reported_in_the_status(
    workspace: Workspace,
) -> None:
    assert workspace.sync().returncode == 0
    entry = workspace.workdir.parent / f"{workspace.workdir.name}.journal" / "staging" / "web.json"
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text('{"key": "staging/web", "commit": "ab')  # cut short by a crash

    result = workspace.sync()

    assert "Traceback" not in result.stderr
    assert "journal entry was unreadable" in result.stdout, result.stdout
    assert not entry.exists()
    assert entry.with_name("web.json.unreadable").read_text().startswith('{"key"')
    status = workspace.status("staging/web")
    assert "journal entry was unreadable" in status["message"], status


def test_an_unreadable_pending_status_is_set_aside_and_fails_the_pass_loudly(
    workspace: Workspace,
) -> None:
    assert workspace.sync().returncode == 0
    pending = workspace.workdir.parent / f"{workspace.workdir.name}.pending-status.json"
    pending.write_text('{".ecs-gitops/rollback/staging/web.yaml": "failedCommit: ')

    result = workspace.sync()

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "could not be read" in result.stdout + result.stderr
    assert not pending.exists()
    assert pending.with_name(pending.name + ".unreadable").read_text().startswith('{".ecs')
    # said once: the next pass is an ordinary one
    assert workspace.sync().returncode == 0
