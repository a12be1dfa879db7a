"""Status files and rollback markers: their YAML form and parsing."""

from __future__ import annotations

from dataclasses import replace

from controller.core.outcome import Result
from controller.status.records import (
    REVISION_HISTORY,
    RollbackMarker,
    ServiceStatus,
    StatusTree,
    key_of,
    marker_path,
    status_path,
)


def status(**kw: object) -> ServiceStatus:
    fields: dict[str, object] = {
        "service": "staging/web",
        "result": Result.SYNCED,
        "commit": "a" * 40,
        "message": "deployed",
        "updatedAt": "2026-01-01T00:00:00Z",
    }
    fields.update(kw)
    return ServiceStatus(**fields)  # type: ignore[arg-type]


def test_paths_and_keys() -> None:
    assert status_path("staging/web") == ".ecs-gitops/status/staging/web.yaml"
    assert marker_path("staging/web") == ".ecs-gitops/rollback/staging/web.yaml"
    assert key_of(".ecs-gitops/status/staging/web.yaml") == "staging/web"
    assert key_of(".ecs-gitops/rollback/production/api.yaml") == "production/api"
    assert key_of(".ecs-gitops/status/README.md") is None
    assert key_of("staging/web/deploy.yaml") is None


def test_status_round_trip_keeps_every_field() -> None:
    original = status(
        taskDefinitionArn="arn:td:1", strategy="rolling", desiredState="sha256:x"
    ).with_revision("d1", "arn:td:1")
    text = original.to_yaml()
    assert "result: Synced" in text
    assert ServiceStatus.from_yaml(text) == original


def test_same_as_ignores_only_the_timestamp() -> None:
    assert status().same_as(status(updatedAt="2027-01-01T00:00:00Z"))
    assert not status().same_as(status(message="other"))
    assert not status().same_as(None)


def test_revision_history_is_newest_first_and_bounded() -> None:
    s = status()
    for n in range(REVISION_HISTORY + 5):
        s = s.with_revision(f"d{n}", f"arn:{n}")
    assert len(s.revisions) == REVISION_HISTORY
    assert s.revisions[0].digest == f"d{REVISION_HISTORY + 4}"
    # a digest seen again moves to the front instead of appearing twice
    s = s.with_revision("d10", "arn:10")
    assert s.revisions[0].digest == "d10"
    assert [r.digest for r in s.revisions].count("d10") == 1


def test_status_tree_parses_statuses_and_markers_and_keeps_unreadable_markers() -> None:
    marker = RollbackMarker(
        failedCommit="b" * 40, reason="timed out", at="t", desiredState="sha256:y"
    )
    tree = StatusTree.parse(
        {
            status_path("staging/web"): status().to_yaml(),
            marker_path("staging/web"): marker.to_yaml(),
            marker_path("staging/api"): ": not yaml : [",
            status_path("staging/broken"): "just text",
        }
    )
    assert tree.statuses["staging/web"].result == Result.SYNCED
    assert "staging/broken" not in tree.statuses
    assert tree.markers["staging/web"] == marker
    # a marker that cannot be read still means "do not retry"
    assert "staging/api" in tree.markers


TOKEN = "Zk9xN2tQd1J2c0xtM2FUeUhqQm5XcVo4dkVmR2hKa0w"
ARN = "arn:aws:ecs:us-east-1:111122223333:task-definition/staging-web:7"
DIGEST = "sha256:" + "9f" * 32


def test_status_files_mask_secrets_in_free_text_and_keep_the_controllers_fields() -> None:
    leaky = status(
        result=Result.INVALID,
        commit="c" * 40,
        message="staging/web/task-definition.yaml:18: containerDefinitions[0].environment[2]"
        ".value: expected a string, got 123456 (quote it: '123456')",
        taskDefinitionArn=ARN,
        desiredState=DIGEST,
        details={
            "DB_PASSWORD": 654321,
            "tasks": [{"stoppedReason": f"bad url postgres://a:pw@h/{TOKEN}"}],
        },
        rollout={"phase": "verify", "failure": f"http https://h/hooks/{TOKEN} answered 500"},
    ).with_revision(DIGEST, ARN)
    text = leaky.to_yaml()
    for leaked in ("123456", "654321", "pw@", TOKEN):
        assert leaked not in text
    written = ServiceStatus.from_yaml(text)
    assert written is not None
    assert (written.commit, written.taskDefinitionArn, written.desiredState) == (
        "c" * 40,
        ARN,
        DIGEST,
    )
    assert written.revisions == leaky.revisions
    assert written.details == {
        "DB_PASSWORD": "***",
        "tasks": [{"stoppedReason": "bad url postgres://***@h/***"}],
    }
    assert written.rollout == {
        "phase": "verify",
        "failure": "http https://h/hooks/*** answered 500",
    }
    # read back, it is the same status: nothing to rewrite on the next pass
    assert leaky.same_as(written)
    assert not leaky.same_as(replace(written, message="other"))


def test_markers_mask_the_reason_and_keep_the_controllers_fields() -> None:
    marker = RollbackMarker(
        failedCommit="b" * 40,
        reason=f"verification failed: http http://127.0.0.1:9/hooks/{TOKEN}?password=hunter2 did not answer",
        at="2026-01-01T00:00:00Z",
        restoredTaskDefinitionArn=ARN,
        desiredState=DIGEST,
    )
    text = marker.to_yaml()
    assert TOKEN not in text and "hunter2" not in text
    written = RollbackMarker.from_yaml(text)
    assert written is not None
    assert (
        written.reason
        == "verification failed: http http://127.0.0.1:9/hooks/***?password=*** did not answer"
    )
    assert (written.failedCommit, written.restoredTaskDefinitionArn, written.desiredState) == (
        "b" * 40,
        ARN,
        DIGEST,
    )
