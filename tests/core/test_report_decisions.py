"""Plans shown with their decisions: the text and markdown lines and the JSON entries."""

from __future__ import annotations

import json

from controller.core.decision import Decision, Verdict
from controller.core.plan import Action, FieldChange, ServicePlan
from controller.core.report import format_json, format_markdown, format_text

WEB = ServicePlan(
    "staging/web",
    Action.UPDATE,
    task_definition_changes=(FieldChange("containerDefinitions[web].image", "a:1", "a:2"),),
)
CACHE = ServicePlan("staging/cache", Action.IN_SYNC)
HELD = "not retried: this desired state failed at abc (boom); delete it to try again"
VERDICTS = {
    "staging/web": Verdict(Decision.HELD, HELD, WEB),
    "staging/cache": Verdict(Decision.IN_SYNC, "live matches git", CACHE),
}


def test_text_says_the_decision_under_the_action_except_in_sync() -> None:
    lines = format_text([WEB, CACHE], verdicts=VERDICTS).splitlines()
    assert lines[:3] == [
        "staging/web: update",
        f"  decision: held ({HELD})",
        "  task definition:",
    ]
    assert lines[4:6] == ["staging/cache: in sync", lines[-1]]


def test_markdown_has_decision_and_reason_columns() -> None:
    markdown = format_markdown([WEB, CACHE], verdicts=VERDICTS)
    assert "| Service | Action | Changes | Risk | Decision | Reason |" in markdown
    assert "| --- | --- | --- | --- | --- | --- |" in markdown
    assert f"| `staging/web` | update | 1 |  | held | {HELD} |" in markdown
    assert "staging/cache" not in markdown  # in sync: no row
    assert f"decision: held ({HELD})" in markdown


def test_json_entries_carry_decision_and_reason() -> None:
    services = json.loads(format_json([WEB, CACHE], verdicts=VERDICTS))["services"]
    assert [(s["key"], s["action"], s["decision"], s["reason"]) for s in services] == [
        ("staging/web", "update", "held", HELD),
        ("staging/cache", "in-sync", "in-sync", "live matches git"),
    ]


def test_reasons_are_masked() -> None:
    secret = Verdict(Decision.REPORT_ONLY, "out of sync (password: hunter2hunter2)", WEB)
    for render in (format_text, format_markdown, format_json):
        shown = render([WEB], verdicts={"staging/web": secret})
        assert "hunter2hunter2" not in shown, render.__name__
