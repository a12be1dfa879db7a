"""Plans as text for a terminal, markdown for a pull-request comment, and JSON for scripts.

Secrets never show: the changes come masked from the diff, and problems (validate's messages
quote the values they reject), decisions' reasons and a create's rendered requests are masked
here. The markdown is a pull-request comment: rows only for what needs a look, risk flags, a
hidden marker line CI finds it by, and never longer than GitHub accepts. Purely computational:
each function takes plans (and, from ``plan``, each service's decision and, for a review of a
change, its ``ReviewContext``) and returns a string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from controller.core.decision import Decision, Verdict
from controller.core.model import JsonDict, Problem
from controller.core.plan import Action, FieldChange, ServicePlan
from controller.core.review import Against, Removed, ReviewContext
from controller.core.risk import risk_flags
from controller.core.secrets import mask_document, mask_text

# Order of the summary: the actions that change something first.
_ACTIONS = (
    Action.CREATE,
    Action.UPDATE,
    Action.REPLACE,
    Action.RUN,
    Action.IN_SYNC,
    Action.INVALID,
)

_SECTIONS = (
    ("taskDefinition", "task definition"),
    ("service", "service"),
    ("autoscaling", "autoscaling"),
)

_HEADLINE = {
    Action.IN_SYNC: "in sync",
    Action.CREATE: "create (the service does not exist yet)",
    Action.UPDATE: "update",
    Action.REPLACE: "replace (a field UpdateService cannot change differs)",
    Action.RUN: "run (the job's task definition changed)",
    Action.INVALID: "invalid (nothing of it is applied)",
}

REPLACE_NOTE = "(needs the service replaced)"


def summary(plans: Sequence[ServicePlan]) -> dict[str, int]:
    """How many services need each action, plus ``total``."""
    counts = {str(action): 0 for action in _ACTIONS}
    for plan in plans:
        counts[str(plan.action)] += 1
    counts["total"] = len(plans)
    return counts


def _sections(plan: ServicePlan) -> list[tuple[str, str, tuple[FieldChange, ...]]]:
    by_name = {
        "taskDefinition": plan.task_definition_changes,
        "service": plan.service_changes,
        "autoscaling": plan.autoscaling_changes,
    }
    return [(name, title, by_name[name]) for name, title in _SECTIONS if by_name[name]]


def _masked(problems: Iterable[Problem | str]) -> list[str]:
    return [mask_text(str(problem)) for problem in problems]


def _change_line(change: FieldChange) -> str:
    return f"{change} {REPLACE_NOTE}" if change.replace else str(change)


def _decision_line(verdict: Verdict | None) -> list[str]:
    """What the pass does about a service, unless that is nothing to an in-sync one."""
    if verdict is None or verdict.decision is Decision.IN_SYNC:
        return []
    return [f"decision: {verdict.decision} ({mask_text(verdict.reason)})"]


def _summary_line(plans: Sequence[ServicePlan], removed: Sequence[Removed] = ()) -> str:
    counts = summary(plans)
    parts = [f"{counts[str(a)]} {_HEADLINE[a].split(' (')[0]}" for a in _ACTIONS]
    if removed:
        parts.append(f"{len(removed)} removed")
    return "Summary: " + ", ".join(parts)


def _text_block(plan: ServicePlan, verdict: Verdict | None) -> list[str]:
    lines = [f"{plan.key}: {_HEADLINE[plan.action]}"]
    lines += [f"  {line}" for line in _decision_line(verdict)]
    lines += [f"  {problem}" for problem in _masked(plan.problems)]
    for _, title, changes in _sections(plan):
        lines.append(f"  {title}:")
        lines += [f"    {_change_line(change)}" for change in changes]
    return lines


def format_text(
    plans: Sequence[ServicePlan],
    *,
    problems: Sequence[Problem] = (),
    verdicts: Mapping[str, Verdict] | None = None,
    review: ReviewContext | None = None,
) -> str:
    """One block per service: its action, its decision, then each changed field as ``path: old -> new``.

    The decision line (``decision: held (...)``) is left out for a service in sync. A review
    (``review``) adds a line per service removed since its base, and live drift the change
    does not cause under a heading of its own.
    """
    review = review or ReviewContext()
    lines: list[str] = _masked(problems) + [line for line in _context_line(review) if line]
    for plan in plans:
        lines += _text_block(plan, (verdicts or {}).get(plan.key))
    lines += [
        f"{removed.key}: removed since {review.base}: {removed.outcome}"
        for removed in review.removed
    ]
    if review.drift:
        lines.append("Live drift this change does not cause:")
        for plan in review.drift:
            lines += [f"  {line}" for line in _text_block(plan, None)]
    lines.append(_summary_line(plans, review.removed))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# GitHub refuses a comment longer than this (characters); GitLab's limit is larger.
COMMENT_LIMIT = 65_536
# what the comment may fill: the rest is room for the notes saying what was left out
_BUDGET = COMMENT_LIMIT - 2_048
# one service's details beyond this many characters are cut, with a note
_DETAIL_LIMIT = 6_000
# the hidden first line by which CI finds the comment to update on the next push
MARKER = "<!-- ecs-gitops plan -->"


def _needs_a_row(plan: ServicePlan, verdict: Verdict | None) -> bool:
    """A row for what would change or needs attention; never one for a service in sync."""
    if verdict is not None:
        return verdict.decision is not Decision.IN_SYNC or plan.action is not Action.IN_SYNC
    return plan.action is not Action.IN_SYNC


def _row(plan: ServicePlan, *, verdicts: Mapping[str, Verdict] | None) -> str:
    count = len(plan.problems) if plan.action is Action.INVALID else len(plan.changes)
    risks = "; ".join(risk_flags(plan))
    row = f"| `{_cell(plan.key)}` | {plan.action} | {count} | {_cell(risks)} |"
    if verdicts is not None:
        verdict = verdicts.get(plan.key)
        decision, reason = (verdict.decision, verdict.reason) if verdict else ("", "")
        row += f" {decision} | {_cell(mask_text(reason))} |"
    return row


def _removed_row(removed: Removed, *, verdicts: Mapping[str, Verdict] | None) -> str:
    risk = "service deleted (prune: true)" if removed.prune else "left running (prune: false)"
    row = f"| `{_cell(removed.key)}` | removed | 0 | {risk} |"
    if verdicts is not None:
        decision = Decision.APPLY if removed.prune else Decision.REPORT_ONLY
        row += f" {decision} | {_cell(removed.outcome)} |"
    return row


def _table_head(verdicts: Mapping[str, Verdict] | None) -> list[str]:
    if verdicts is None:
        return ["| Service | Action | Changes | Risk |", "| --- | --- | --- | --- |"]
    return [
        "| Service | Action | Changes | Risk | Decision | Reason |",
        "| --- | --- | --- | --- | --- | --- |",
    ]


def _fenced(body: Sequence[str], *, language: str = "") -> list[str]:
    # A fenced block keeps paths like [web] and values with markdown characters literal.
    return [f"```{language}", *[line.replace("```", "'''") for line in body], "```"]


def _cut(body: list[str], limit: int) -> list[str]:
    """``body`` up to about ``limit`` characters, with a line saying how much was left out."""
    kept: list[str] = []
    size = 0
    for line in body:
        if size + len(line) + 1 > limit:
            left = len(body) - len(kept)
            return [*kept, f"... {left} more lines left out (ecs-gitops plan shows them all)"]
        kept.append(line[:limit])
        size += len(kept[-1]) + 1
    return kept


def _details(
    plan: ServicePlan,
    *,
    verdicts: Mapping[str, Verdict] | None,
    requests: Mapping[str, JsonDict],
) -> str:
    """One service's collapsed details: its decision, problems, changes, and a create's requests."""
    lines = [
        "<details>",
        f"<summary><code>{plan.key}</code>: {_HEADLINE[plan.action]}</summary>",
        "",
    ]
    body: list[str] = _decision_line((verdicts or {}).get(plan.key)) + _masked(plan.problems)
    for _, title, changes in _sections(plan):
        body.append(f"{title}:")
        body += [f"  {_change_line(change)}" for change in changes]
    if body:
        lines += [*_fenced(_cut(body, _DETAIL_LIMIT)), ""]
    if plan.key in requests:
        rendered = json.dumps(mask_document(requests[plan.key]), indent=2, sort_keys=True)
        lines += [
            "<details>",
            "<summary>rendered requests</summary>",
            "",
            *_fenced(_cut(rendered.splitlines(), _DETAIL_LIMIT), language="json"),
            "",
            "</details>",
            "",
        ]
    lines.append("</details>")
    return "\n".join(lines)


def _context_line(review: ReviewContext) -> list[str]:
    if not review.base:
        return []
    if review.against is Against.BASE:
        what = f"compared with the desired state at `{review.base}` (offline: live ECS not read)"
    else:
        what = "compared with live ECS"
    return [f"Services changed since `{review.base}`, {what}.", ""]


class _Space:
    """What is left of the comment's budget, and what had to be left out for it."""

    def __init__(self, used: int) -> None:
        self.used = used
        self.rows_left_out = 0
        self.details_left_out = 0

    def take(self, text: str) -> bool:
        if self.used + len(text) + 1 > _BUDGET:
            return False
        self.used += len(text) + 1
        return True


def format_markdown(
    plans: Sequence[ServicePlan],
    *,
    problems: Sequence[Problem] = (),
    verdicts: Mapping[str, Verdict] | None = None,
    review: ReviewContext | None = None,
) -> str:
    """A pull-request comment: the summary, a table of what would change, then the details.

    The table lists only services that would change or need attention (held, refused,
    blocked, invalid, drifted), with their risk flags; with ``verdicts`` it has a Decision and
    a Reason column too. A create's rendered requests are shown collapsed, secrets masked. A
    review (``review``) adds the services removed since its base and, in a separate section,
    live drift the pull request does not cause. The comment starts with a hidden marker line
    and stays under ``COMMENT_LIMIT`` characters however many services it covers: rows and
    details that do not fit are left out with a note saying how many.
    """
    review = review or ReviewContext()
    head = [MARKER, "## ecs-gitops plan", "", _summary_line(plans, review.removed), ""]
    head += _context_line(review)
    if problems:
        head += ["**Problems:**", ""]
        head += _cut([f"- `{p}`" for p in _masked(problems)], _DETAIL_LIMIT)
        head.append("")
    space = _Space(len("\n".join(head)))
    rows = [
        _row(plan, verdicts=verdicts)
        for plan in plans
        if _needs_a_row(plan, verdicts.get(plan.key) if verdicts else None)
    ]
    rows += [_removed_row(removed, verdicts=verdicts) for removed in review.removed]
    drift = [plan for plan in review.drift if plan.changes or plan.action is not Action.IN_SYNC]
    drift_verdicts = review.drift_verdicts if verdicts is not None else None
    drift_rows = [_row(plan, verdicts=drift_verdicts) for plan in drift]
    table = _table_head(verdicts)
    space.take("\n".join(table * (1 + bool(drift_rows))))
    kept_rows = [row for row in rows if space.take(row) or _left_out(space)]
    kept_drift_rows = [row for row in drift_rows if space.take(row) or _left_out(space)]
    requests = review.requests
    shown = [plan for plan in plans if plan.action is not Action.IN_SYNC]
    blocks = [_details(plan, verdicts=verdicts, requests=requests) for plan in shown]
    drift_blocks = [_details(plan, verdicts=None, requests={}) for plan in drift]
    kept_blocks = [b for b in blocks if space.take(b) or _left_out(space, details=True)]
    kept_drift = [b for b in drift_blocks if space.take(b) or _left_out(space, details=True)]

    lines = list(head)
    if kept_rows:
        lines += [*table, *kept_rows]
    elif not rows:
        lines.append("Nothing would change.")
    for block in kept_blocks:
        lines += ["", block]
    if drift:
        lines += ["", "### Live drift this pull request does not cause", ""]
        if kept_drift_rows:
            lines += [*table, *kept_drift_rows]
        for block in kept_drift:
            lines += ["", block]
    if space.rows_left_out or space.details_left_out:
        lines += ["", _left_out_note(space)]
    return "\n".join(lines) + "\n"


def _left_out(space: _Space, *, details: bool = False) -> bool:
    if details:
        space.details_left_out += 1
    else:
        space.rows_left_out += 1
    return False


def _left_out_note(space: _Space) -> str:
    parts = []
    if space.rows_left_out:
        parts.append(f"{space.rows_left_out} table rows")
    if space.details_left_out:
        parts.append(f"the details of {space.details_left_out} services")
    return (
        f"**Note:** {' and '.join(parts)} left out to keep this comment under "
        f"{COMMENT_LIMIT:,} characters; `ecs-gitops plan --format json` shows everything."
    )


def _json_change(change: FieldChange, section: str, against: Against) -> dict[str, Any]:
    return {
        "against": str(against),
        "path": change.path,
        "old": change.old,
        "new": change.new,
        "replace": change.replace,
        "section": section,
    }


def _json_decision(verdict: Verdict | None) -> dict[str, str]:
    if verdict is None:
        return {}
    return {"decision": str(verdict.decision), "reason": mask_text(verdict.reason)}


def _json_service(
    plan: ServicePlan, *, verdict: Verdict | None, against: Against
) -> dict[str, Any]:
    return {
        **_json_decision(verdict),
        "key": plan.key,
        "action": str(plan.action),
        "against": str(against),
        "digest": plan.digest,
        "risks": list(risk_flags(plan)),
        "changes": [
            _json_change(change, name, against)
            for name, _, changes in _sections(plan)
            for change in changes
        ],
        "problems": _masked(plan.problems),
    }


def format_json(
    plans: Sequence[ServicePlan],
    *,
    problems: Sequence[Problem] = (),
    verdicts: Mapping[str, Verdict] | None = None,
    review: ReviewContext | None = None,
) -> str:
    """``{services: [{key, action, against, risks, changes: [{against, path, old, new, replace,
    section}], ...}], summary, problems}``.

    ``against`` says what each change was compared with: ``live`` ECS, or the desired state at
    the ``base`` of a review (``--offline``). With ``verdicts`` each service also carries
    ``decision`` and ``reason``. A review adds ``base``, ``removed`` (``[{key, prune,
    outcome}]``) and ``drift``: entries as in ``services`` for live drift the change does not
    cause.
    """
    review = review or ReviewContext()
    services = [
        _json_service(plan, verdict=(verdicts or {}).get(plan.key), against=review.against)
        for plan in plans
    ]
    document: dict[str, Any] = {
        "services": services,
        "summary": summary(plans),
        "problems": _masked(problems),
    }
    if review.base:
        document["base"] = review.base
        document["removed"] = [
            {"key": r.key, "prune": r.prune, "outcome": r.outcome} for r in review.removed
        ]
        document["drift"] = [
            _json_service(plan, verdict=None, against=Against.LIVE) for plan in review.drift
        ]
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"
