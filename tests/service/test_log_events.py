"""Structured log lines: the pass's and rollouts' well-known line shapes become fields in JSON,
text lines stay exactly as they were, and secrets stay masked in both."""

from __future__ import annotations

import io
import json
import logging

import pytest

from controller.service.events import LogEvent, RolloutsUnderWay, classify
from controller.service.logs import Redactor, configure, event


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (
            "staging/web: Synced (update, 1.2s) in sync with git at arn:aws:ecs:...:1",
            {
                "event": "service-result",
                "env": "staging",
                "service": "web",
                "result": "Synced",
                "action": "update",
                "durationSeconds": 1.2,
            },
        ),
        (
            "staging/web: Synced (in-sync, 0.0s) in sync with git",
            {"event": "service-result", "result": "Synced", "action": "in-sync"},
        ),
        (
            "prod/api: OutOfSync (update, 0.1s) live ECS drifted from git; selfHeal is off",
            {"event": "drift", "env": "prod", "service": "api", "result": "OutOfSync"},
        ),
        (
            "staging/web: RolledBack (held, 0.0s) not retried: rolled back at abc",
            {"event": "held", "result": "RolledBack", "action": "held"},
        ),
        (
            "staging/web: Progressing (update, 3.0s) paused in phase waitSteady when the "
            "controller stopped; resumes on its next start",
            {"event": "service-result", "phase": "waitSteady"},
        ),
        (
            "staging/web: ECS: (service web) has reached a steady state.",
            {"event": "ecs-event", "env": "staging", "service": "web"},
        ),
        ("staging/web: waiting: tasks to start (31s elapsed, 569s left)", {"event": "waiting"}),
        (
            "staging/web: resuming the rollout of 0123456789ab (phase deploy)",
            {"event": "rollout-resumed", "phase": "deploy"},
        ),
        ("staging/web: deploy failed: tasks stopped; rolling back", {"event": "deploy-failed"}),
        ("staging/web: registered arn:aws:ecs:us-east-1:1:task-definition/web:2", {}),
        (
            "pass over 0123456789abcdef: 3 services, 1 rollout(s) started (finished in 0.4s)",
            {"event": "pass-finished", "commit": "0123456789abcdef", "durationSeconds": 0.4},
        ),
        ("pass requested: new commit 0123456789ab", {"event": "pass-requested"}),
        ("webhook from 127.0.0.1: 202 push to main", {"event": "webhook"}),
        ("ecs-gitops run: /srv/config branch main every 60s", {"event": "controller-started"}),
        ("stopped cleanly", {"event": "stopped"}),
        ("something nobody classified", {"event": "log"}),
    ],
)
def test_well_known_lines_become_events(line: str, fields: dict[str, object]) -> None:
    found = classify(line).fields()
    if line.startswith("staging/web: registered"):
        assert found == {"event": "service-line", "env": "staging", "service": "web"}
    for name, value in fields.items():
        assert found[name] == value, (line, found)


def test_a_rollout_under_way_lends_its_lines_commit_and_strategy() -> None:
    context = RolloutsUnderWay()
    context.started("staging/web", commit="c0ffee" * 6, strategy="rolling", phase="deploy")

    ecs = context.classify("staging/web: ECS: (service web) has started 1 tasks")
    assert ecs.fields() == {
        "event": "ecs-event",
        "env": "staging",
        "service": "web",
        "commit": "c0ffee" * 6,
        "strategy": "rolling",
        "phase": "deploy",
    }
    note = context.classify("staging/web: registered arn:...:web:2")
    assert note.event == "rollout-progress"
    end = context.classify("staging/web: RolledBack (update, 42.0s) tasks stopped")
    assert (end.event, end.result, end.commit) == ("rollout-finished", "RolledBack", "c0ffee" * 6)
    # another service is not lent anything
    assert context.classify("staging/api: Synced (in-sync, 0.0s) ok").commit is None

    context.ended("staging/web")
    assert context.classify("staging/web: Synced (in-sync, 0.0s) ok").event == "service-result"


def _logged(fmt: str, emit: object) -> str:
    stream = io.StringIO()
    log = configure(fmt=fmt, redact=Redactor(["hook-secret-123456"]), stream=stream)
    assert callable(emit)
    emit(log)
    return stream.getvalue().strip()


def test_text_lines_are_as_before_and_json_lines_carry_the_event() -> None:
    given = LogEvent("pass-finished", commit="abc123", duration_seconds=1.5, result="ok")

    def emit(log: logging.Logger) -> None:
        log.info("pass over abc123: 1 services (finished in 1.5s)", extra=event(given))

    text = _logged("text", emit)
    assert text.endswith(" INFO pass over abc123: 1 services (finished in 1.5s)")
    document = json.loads(_logged("json", emit))
    assert document["event"] == "pass-finished"
    assert (document["commit"], document["durationSeconds"], document["result"]) == (
        "abc123",
        1.5,
        "ok",
    )
    assert document["message"] == "pass over abc123: 1 services (finished in 1.5s)"


def test_json_lines_are_classified_and_still_masked() -> None:
    def emit(log: logging.Logger) -> None:
        log.info("staging/web: ECS: posting to hook-secret-123456 with DB_PASSWORD=hunter2hunter2")

    line = _logged("json", emit)
    assert "hook-secret-123456" not in line and "hunter2hunter2" not in line
    document = json.loads(line)
    assert (document["event"], document["env"], document["service"]) == (
        "ecs-event",
        "staging",
        "web",
    )
