"""The pull-request comment of a review: rows only for what changes, risks, creates' requests,
secrets masked, drift apart, and never longer than GitHub accepts."""

from __future__ import annotations

import json

from controller.core.decision import Decision, Verdict
from controller.core.layout import load_repo
from controller.core.plan import Action, FieldChange, ServicePlan
from controller.core.render import as_requests
from controller.core.report import COMMENT_LIMIT, MARKER, format_json, format_markdown, format_text
from controller.core.review import Against, Removed, ReviewContext
from tests.review.generated_repo import files

STATE = load_repo(files(100))


def update(key: str, *changes: FieldChange) -> ServicePlan:
    return ServicePlan(key, Action.UPDATE, task_definition_changes=changes)


def image_bump(key: str) -> ServicePlan:
    return update(key, FieldChange("containerDefinitions[app].image", "nginx:1.27", "nginx:1.28"))


def test_only_services_that_change_have_a_row() -> None:
    keys = sorted(STATE.services)
    plans = [image_bump(k) if k in keys[:2] else ServicePlan(k, Action.IN_SYNC) for k in keys]
    verdicts = {
        p.key: Verdict(Decision.APPLY if p.changes else Decision.IN_SYNC, "r", p) for p in plans
    }
    markdown = format_markdown(plans, verdicts=verdicts)
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == keys[:2]
    assert "in-sync |" not in markdown
    assert "Summary: 0 create, 2 update, 0 replace, 0 run, 98 in sync, 0 invalid" in markdown


def test_a_held_service_in_sync_with_nothing_to_do_has_no_row_but_a_held_one_does() -> None:
    held = image_bump("staging/svc000")
    verdicts = {held.key: Verdict(Decision.HELD, "not retried", held)}
    markdown = format_markdown([held], verdicts=verdicts)
    assert "| `staging/svc000` | update | 1 |  | held | not retried |" in markdown


def test_a_create_shows_its_requests_collapsed_with_secrets_masked() -> None:
    key = "staging/svc007"
    review = ReviewContext(
        against=Against.BASE, base="origin/main", requests={key: as_requests(STATE.services[key])}
    )
    markdown = format_markdown([ServicePlan(key, Action.CREATE)], review=review)
    assert "<summary>rendered requests</summary>" in markdown
    assert '"family": "staging-svc007"' in markdown
    assert "hunter2" not in markdown and '"value": "***"' in markdown
    assert "compared with the desired state at `origin/main`" in markdown


def test_removed_services_and_drift_have_their_own_rows() -> None:
    drift = ServicePlan(
        "staging/svc050", Action.UPDATE, service_changes=(FieldChange("desiredCount", 5, 1),)
    )
    review = ReviewContext(
        base="origin/main",
        drift=(drift,),
        removed=(Removed("staging/old", prune=True), Removed("staging/kept", prune=False)),
    )
    markdown = format_markdown([image_bump("staging/svc001")], review=review)
    assert "| `staging/old` | removed | 0 | service deleted (prune: true) |" in markdown
    assert "| `staging/kept` | removed | 0 | left running (prune: false) |" in markdown
    before, after = markdown.split("### Live drift this pull request does not cause")
    assert "staging/svc001" in before and "staging/svc050" not in before
    assert "| `staging/svc050` | update | 1 |" in after and "desiredCount: 5 -> 1" in after
    text = format_text([image_bump("staging/svc001")], review=review)
    assert "staging/old: removed since origin/main: deleted by prune" in text
    assert "Live drift this change does not cause:" in text
    assert text.splitlines()[-1].endswith(", 2 removed")


def test_a_comment_of_a_hundred_large_changes_stays_under_the_limit() -> None:
    big = tuple(
        FieldChange(f"containerDefinitions[app].environment[VAR_{i}]", "x" * 40, "y" * 40)
        for i in range(60)
    )
    plans = [update(key, *big) for key in sorted(STATE.services)]
    review = ReviewContext(
        requests={key: as_requests(STATE.services[key]) for key in STATE.services},
        drift=tuple(plans[:50]),
    )
    markdown = format_markdown(plans, review=review)
    assert len(markdown) < COMMENT_LIMIT
    assert markdown.startswith(MARKER + "\n")
    assert "left out to keep this comment under 65,536 characters" in markdown
    # every row still fits; details are what gives way
    assert markdown.count("| `staging/svc") == 150
    assert markdown.count("<details>") < 150


def test_a_comment_of_thousands_of_services_stays_under_the_limit_too() -> None:
    plans = [image_bump(f"staging/svc{i:05d}") for i in range(3000)]
    markdown = format_markdown(plans)
    assert len(markdown) < COMMENT_LIMIT
    assert "table rows and the details of" in markdown


def test_one_huge_service_is_cut_with_a_note() -> None:
    big = tuple(
        FieldChange(f"containerDefinitions[app].environment[V{i}]", "a", "b") for i in range(2000)
    )
    markdown = format_markdown([update("staging/svc000", *big)])
    assert len(markdown) < 10_000
    assert "more lines left out" in markdown


def test_json_names_what_each_change_was_compared_with() -> None:
    drift = ServicePlan(
        "staging/svc050", Action.UPDATE, service_changes=(FieldChange("desiredCount", 5, 1),)
    )
    review = ReviewContext(
        against=Against.BASE,
        base="abc123",
        drift=(drift,),
        removed=(Removed("staging/old", prune=False),),
    )
    document = json.loads(format_json([image_bump("staging/svc001")], review=review))
    (service,) = document["services"]
    assert service["against"] == "base"
    assert {c["against"] for c in service["changes"]} == {"base"}
    assert document["drift"][0]["against"] == "live"
    assert document["drift"][0]["changes"][0]["against"] == "live"
    assert document["base"] == "abc123"
    assert document["removed"] == [
        {"key": "staging/old", "prune": False, "outcome": Removed("x", prune=False).outcome}
    ]
    assert service["risks"] == []
