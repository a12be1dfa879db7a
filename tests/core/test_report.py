"""Plan output: text for a terminal, markdown for a pull request, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from controller.core.diff import diff_task_definition
from controller.core.model import Problem
from controller.core.plan import Action, FieldChange, ServicePlan
from controller.core.report import format_json, format_markdown, format_text

PLANS = [
    ServicePlan("prod/api", Action.CREATE, digest="sha256:1"),
    ServicePlan(
        "staging/web",
        Action.UPDATE,
        task_definition_changes=(
            FieldChange("containerDefinitions[web].image", "nginx:1.26", "nginx:1.27"),
        ),
        service_changes=(FieldChange("desiredCount", 2, 3),),
        digest="sha256:2",
    ),
    ServicePlan(
        "staging/worker",
        Action.REPLACE,
        service_changes=(FieldChange("launchType", "EC2", "FARGATE", replace=True),),
    ),
    ServicePlan("staging/cache", Action.IN_SYNC),
    ServicePlan(
        "staging/broken",
        Action.INVALID,
        problems=("staging/broken/service.yaml:3: unknown field 'desiredCont'",),
    ),
]
STRAY = [Problem("staging/notes.txt", 1, "unexpected file")]


def test_text_names_services_fields_and_replacements() -> None:
    text = format_text(PLANS, problems=STRAY)
    lines = text.splitlines()
    assert lines[0] == "staging/notes.txt:1: unexpected file"
    assert "prod/api: create (the service does not exist yet)" in lines
    assert "staging/web: update" in lines
    assert "    containerDefinitions[web].image: nginx:1.26 -> nginx:1.27" in lines
    assert "    desiredCount: 2 -> 3" in lines
    assert "    launchType: EC2 -> FARGATE (needs the service replaced)" in lines
    assert "staging/cache: in sync" in lines
    assert "  staging/broken/service.yaml:3: unknown field 'desiredCont'" in lines
    assert lines[-1] == "Summary: 1 create, 1 update, 1 replace, 0 run, 1 in sync, 1 invalid"


def test_text_groups_changes_by_document() -> None:
    lines = format_text(PLANS[1:2]).splitlines()
    assert lines[:5] == [
        "staging/web: update",
        "  task definition:",
        "    containerDefinitions[web].image: nginx:1.26 -> nginx:1.27",
        "  service:",
        "    desiredCount: 2 -> 3",
    ]


def test_markdown_has_a_summary_table_and_details_for_changes_only() -> None:
    markdown = format_markdown(PLANS)
    assert markdown.startswith("<!-- ecs-gitops plan -->\n")  # CI finds the comment by it
    assert "| Service | Action | Changes | Risk |" in markdown
    assert "| `staging/web` | update | 2 |  |" in markdown
    assert "| `staging/worker` | replace | 1 | replaces the service (launchType) |" in markdown
    assert "staging/cache" not in markdown  # never a row for a service in sync
    assert markdown.count("<details>") == 4  # every service but the one in sync
    assert "  containerDefinitions[web].image: nginx:1.26 -> nginx:1.27" in markdown


def test_markdown_escapes_pipes_in_table_cells() -> None:
    markdown = format_markdown([ServicePlan("a|b/web", Action.CREATE)])
    assert "| `a\\|b/web` | create | 0 |" in markdown


def test_json_has_stable_keys_and_counts() -> None:
    document = json.loads(format_json(PLANS, problems=STRAY))
    assert set(document) == {"services", "summary", "problems"}
    assert document["summary"] == {
        "create": 1,
        "update": 1,
        "replace": 1,
        "run": 0,
        "in-sync": 1,
        "invalid": 1,
        "total": 5,
    }
    web = next(s for s in document["services"] if s["key"] == "staging/web")
    assert web["action"] == "update"
    assert web["against"] == "live"
    assert web["changes"][0] == {
        "against": "live",
        "path": "containerDefinitions[web].image",
        "old": "nginx:1.26",
        "new": "nginx:1.27",
        "replace": False,
        "section": "taskDefinition",
    }
    assert web["changes"][1]["new"] == 3 and web["changes"][1]["section"] == "service"
    worker = next(s for s in document["services"] if s["key"] == "staging/worker")
    assert worker["changes"][0]["replace"] is True
    assert document["problems"] == ["staging/notes.txt:1: unexpected file"]


TOKEN = "Zk9xN2tQd1J2c0xtM2FUeUhqQm5XcVo4dkVmR2hKa0w"


def secret_plans() -> list[ServicePlan]:
    """A plan whose diff carries secrets by shape and by name, and an invalid service whose
    validate message quotes a numeric password."""

    def task_definition(environment: dict[str, str]) -> dict[str, Any]:
        return {
            "family": "staging-web",
            "containerDefinitions": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "environment": [{"name": k, "value": v} for k, v in environment.items()],
                }
            ],
        }

    live = task_definition({"DATABASE_URL": "postgres://admin:old@host/db", "LOG_LEVEL": "info"})
    desired = task_definition(
        {
            "DATABASE_URL": "postgres://admin:pw@host/db",
            "SESSION_BLOB": TOKEN,
            "DB_PASSWORD": "123456",
            "LOG_LEVEL": "debug",
        }
    )
    return [
        ServicePlan(
            "staging/web",
            Action.UPDATE,
            task_definition_changes=diff_task_definition(desired, live),
            digest="sha256:" + "ab" * 32,
        ),
        ServicePlan(
            "staging/worker",
            Action.INVALID,
            problems=(
                "staging/worker/task-definition.yaml:18: containerDefinitions[0].environment[2]"
                ".value: expected a string, got 123456 (quote it: '123456')",
            ),
        ),
    ]


@pytest.mark.parametrize("render", [format_text, format_markdown, format_json])
def test_no_format_shows_a_secret(render: Callable[..., str]) -> None:
    stray = [Problem("staging/notes.yaml", 2, "apiToken: tok-987654 is not a known key")]
    output = render(secret_plans(), problems=stray)
    for leaked in ("pw@", "old@", "123456", TOKEN, "tok-987654"):
        assert leaked not in output
    # what changed still shows, and what is not secret reads as before
    assert "containerDefinitions[web].environment[DATABASE_URL]" in output
    assert "postgres://***@host/db" in output
    assert "environment[SESSION_BLOB]" in output
    assert "info" in output and "debug" in output
    if render is format_json:
        assert json.loads(output)["services"][0]["digest"] == "sha256:" + "ab" * 32
