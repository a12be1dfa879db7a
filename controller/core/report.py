"""Plans as text for a terminal, markdown for a pull-request comment, and JSON for scripts.

Secrets never show: the changes come masked from the diff, and problems (validate's messages
quote the values they reject) and decisions' reasons are masked here. Purely computational:
each function takes plans (and, from ``plan``, each service's decision) and returns a string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from controller.core.decision import Decision, Verdict
from controller.core.model import Problem
from controller.core.plan import Action, FieldChange, ServicePlan
from controller.core.secrets import mask_text

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


def _summary_line(plans: Sequence[ServicePlan]) -> str:
    counts = summary(plans)
    parts = [f"{counts[str(a)]} {_HEADLINE[a].split(' (')[0]}" for a in _ACTIONS]
    return "Summary: " + ", ".join(parts)


def format_text(
    plans: Sequence[ServicePlan],
    *,
    problems: Sequence[Problem] = (),
    verdicts: Mapping[str, Verdict] | None = None,
) -> str:
    """One block per service: its action, its decision, then each changed field as ``path: old -> new``.

    The decision line (``decision: held (...)``) is left out for a service in sync.
    """
    lines: list[str] = _masked(problems)
    for plan in plans:
        lines.append(f"{plan.key}: {_HEADLINE[plan.action]}")
        lines += [f"  {line}" for line in _decision_line((verdicts or {}).get(plan.key))]
        lines += [f"  {problem}" for problem in _masked(plan.problems)]
        for _, title, changes in _sections(plan):
            lines.append(f"  {title}:")
            lines += [f"    {_change_line(change)}" for change in changes]
    lines.append(_summary_line(plans))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_markdown(
    plans: Sequence[ServicePlan],
    *,
    problems: Sequence[Problem] = (),
    verdicts: Mapping[str, Verdict] | None = None,
) -> str:
    """A summary table, then the details of every service that would change or is invalid.

    With ``verdicts`` the table has a Decision and a Reason column too.
    """
    lines = ["## ecs-gitops plan", "", _summary_line(plans), ""]
    if problems:
        lines += ["**Problems:**", ""]
        lines += [f"- `{p}`" for p in _masked(problems)]
        lines.append("")
    if verdicts is None:
        lines += ["| Service | Action | Changes |", "| --- | --- | --- |"]
    else:
        lines += [
            "| Service | Action | Changes | Decision | Reason |",
            "| --- | --- | --- | --- | --- |",
        ]
    for plan in plans:
        count = len(plan.problems) if plan.action is Action.INVALID else len(plan.changes)
        row = f"| `{_cell(plan.key)}` | {plan.action} | {count} |"
        verdict = (verdicts or {}).get(plan.key)
        if verdicts is not None:
            decision, reason = (verdict.decision, verdict.reason) if verdict else ("", "")
            row += f" {decision} | {_cell(mask_text(reason))} |"
        lines.append(row)
    for plan in plans:
        if plan.action is Action.IN_SYNC:
            continue
        lines += [
            "",
            "<details>",
            f"<summary><code>{plan.key}</code>: {_HEADLINE[plan.action]}</summary>",
            "",
        ]
        body: list[str] = _decision_line((verdicts or {}).get(plan.key)) + _masked(plan.problems)
        for _, title, changes in _sections(plan):
            body.append(f"{title}:")
            body += [f"  {_change_line(change)}" for change in changes]
        if body:
            # A fenced block keeps paths like [web] and values with markdown characters literal.
            lines += ["```", *[b.replace("```", "'''") for b in body], "```", ""]
        lines.append("</details>")
    return "\n".join(lines) + "\n"


def _json_change(change: FieldChange, section: str) -> dict[str, Any]:
    return {
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


def format_json(
    plans: Sequence[ServicePlan],
    *,
    problems: Sequence[Problem] = (),
    verdicts: Mapping[str, Verdict] | None = None,
) -> str:
    """``{services: [{key, action, changes: [{path, old, new, replace, section}], ...}], summary}``.

    With ``verdicts`` each service also carries ``decision`` and ``reason``.
    """
    services = [
        {
            **_json_decision((verdicts or {}).get(plan.key)),
            "key": plan.key,
            "action": str(plan.action),
            "digest": plan.digest,
            "changes": [
                _json_change(change, name)
                for name, _, changes in _sections(plan)
                for change in changes
            ],
            "problems": _masked(plan.problems),
        }
        for plan in plans
    ]
    document = {
        "services": services,
        "summary": summary(plans),
        "problems": _masked(problems),
    }
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"
