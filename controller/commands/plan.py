"""``ecs-gitops plan PATH``: show, field by field, what the repository would change in live ECS.

Reads the config repository from disk (with the status files and rollback markers the
checkout holds) and live state from AWS (with ``--changed-since REF``, the repository at REF
from git too; with ``--offline`` as well, nothing from AWS), prints the plan and what a pass would decide for each
service (``controller.core.decision``, the very decision ``sync`` acts on). Exit 0 when
everything is in sync, 2 when anything would change, 1 when anything is invalid (the plan of
the valid services is printed all the same).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from controller.aws.accounts import refused_environments
from controller.aws.live import fetch_live
from controller.core.decision import Decision, Verdict, decide_all
from controller.core.model import Problem, RepoState
from controller.core.pinning import AllowList
from controller.core.plan import (
    Action,
    ServicePlan,
    last_applied_state,
    plan_invalid,
    plan_service,
)
from controller.core.render import as_requests
from controller.core.report import format_json, format_markdown, format_text
from controller.core.review import (
    Against,
    ReviewContext,
    base_plan,
    changed_services,
    paths_of,
    split_live,
)
from controller.errors import ConfigError
from controller.source.base_tree import load_at
from controller.source.tree import load_path, read_regular
from controller.status.records import (
    ROLLBACK_ROOT,
    STATUS_ROOT,
    RollbackMarker,
    ServiceStatus,
    key_of,
    marker_path,
)

EXIT_IN_SYNC = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2

_FORMATS = {"text": format_text, "markdown": format_markdown, "json": format_json}


def run(args: argparse.Namespace) -> int:
    if args.offline and not args.changed_since:
        raise ConfigError(
            "plan --offline: needs --changed-since REF (the desired state at REF is what the "
            "checkout is compared with when live ECS is not read)"
        )
    state = load_path(Path(args.path))
    keys = state.select(args.only)
    if not keys:
        raise ConfigError(f"plan {args.path}: no service matches --only {args.only}")
    if args.changed_since:
        return review(args, state, keys)
    allow = AllowList(accounts=tuple(args.allowed_accounts), clusters=tuple(args.allowed_clusters))
    statuses = recorded_statuses(Path(args.path))
    plans = build_plans(
        state, keys, known_digests=digests_of(statuses), statuses=statuses, allow=allow
    )
    verdicts = decisions(
        state, plans, statuses=statuses, markers=recorded_markers(Path(args.path)), only=args.only
    )
    # a job's plan is what its decision acts on: it runs once per desired state (job_plan)
    plans = [verdicts[plan.key].plan for plan in plans]
    problems = unattached_problems(state, only=args.only)
    print(_FORMATS[args.format](plans, problems=problems, verdicts=verdicts), end="")
    return exit_code(plans, problems=problems)


def review(args: argparse.Namespace, state: RepoState, keys: list[str]) -> int:
    """``plan --changed-since REF``: only the services the change touches, and those it removes.

    Offline, each is compared with its desired state at REF and AWS is never called. Live, every
    selected service is compared with live ECS (the same calls as a whole plan): the changes the
    pull request causes are shown per service, and live drift it does not cause (other fields of
    those services, other services out of sync, held or invalid) in a section of its own.
    """
    root = Path(args.path)
    base = load_at(root, args.changed_since)
    touched = changed_services(base, state)
    selected = set(keys)
    changed = [key for key in touched.changed if key in selected]
    removed = tuple(r for r in touched.removed if _selects(args.only, r.key))
    against_base = {key: base_plan(key, base=base, head=state) for key in changed}
    requests = {
        key: as_requests(state.services[key])
        for key, plan in against_base.items()
        if plan.action is Action.CREATE and key in state.services
    }
    statuses = recorded_statuses(root)
    markers = recorded_markers(root)
    drift: list[ServicePlan] = []
    every: dict[str, Verdict] = {}
    if args.offline:
        plans = [against_base[key] for key in changed]
        verdicts = decisions(state, plans, statuses=statuses, markers=markers, only=args.only)
        plans = [verdicts[plan.key].plan for plan in plans]
    else:
        allow = AllowList(
            accounts=tuple(args.allowed_accounts), clusters=tuple(args.allowed_clusters)
        )
        live_plans = build_plans(
            state, keys, known_digests=digests_of(statuses), statuses=statuses, allow=allow
        )
        every = decisions(state, live_plans, statuses=statuses, markers=markers, only=args.only)
        plans = []
        for plan in (every[live.key].plan for live in live_plans):
            if plan.key in against_base:
                # a service new since REF: everything live differs in is the change's
                caused = paths_of(against_base[plan.key]) if plan.key in base.services else None
                split = split_live(plan, caused_paths=caused)
                plans.append(split.caused)
                drift += [split.drift] if split.drift is not None else []
            elif plan.action is not Action.IN_SYNC or (
                every[plan.key].decision is not Decision.IN_SYNC
            ):
                drift.append(plan)
        # the pull request's rows explain its own changes; drift rows keep the whole decision
        verdicts = {
            **every,
            **decisions(state, plans, statuses=statuses, markers=markers, only=args.only),
        }
    context = ReviewContext(
        against=Against.BASE if args.offline else Against.LIVE,
        base=args.changed_since,
        drift=tuple(drift),
        drift_verdicts=every,
        removed=removed,
        requests=requests,
    )
    problems = unattached_problems(state, only=args.only)
    output = _FORMATS[args.format](plans, problems=problems, verdicts=verdicts, review=context)
    print(output, end="")
    code = exit_code([*plans, *drift], problems=problems)
    return EXIT_CHANGES if code == EXIT_IN_SYNC and removed else code


def _selects(only: str | None, key: str) -> bool:
    """Whether ``--only ENV[/SERVICE]`` selects ``key`` (everything without ``--only``)."""
    if not only:
        return True
    only = only.strip("/")
    return key == only or key.split("/", 1)[0] == only


def decisions(
    state: RepoState,
    plans: list[ServicePlan],
    *,
    statuses: Mapping[str, ServiceStatus],
    markers: Mapping[str, RollbackMarker],
    only: str | None,
) -> dict[str, Verdict]:
    """ENV/SERVICE -> what a pass would do about it and why, as ``sync`` decides it."""
    return decide_all(
        state,
        {plan.key: plan for plan in plans},
        statuses=statuses,
        markers=markers,
        marker_file=marker_path,
        only=only,
    )


def build_plans(
    state: RepoState,
    keys: list[str],
    *,
    known_digests: Mapping[str, str] | None = None,
    statuses: Mapping[str, ServiceStatus] | None = None,
    allow: AllowList | None = None,
) -> list[ServicePlan]:
    """The plan of every selected service: invalid ones from their problems, valid ones from AWS.

    ``known_digests`` (task definition ARN -> content digest) spares describing revisions.
    ``statuses`` (ENV/SERVICE -> status file) say which desired state was last applied, against
    which the members ECS never reports back are judged (none without a status file).
    Services of an environment the allow-lists refuse are not looked up: their plan says why.
    """
    selected = [state.services[key] for key in keys if key in state.services]
    refused = refused_environments(selected, allow or AllowList())
    valid = [service for service in selected if service.env.name not in refused]
    live = fetch_live(valid, known_digests=known_digests)
    plans: list[ServicePlan] = []
    for key in keys:
        if key in live:
            applied = last_applied_state((statuses or {}).get(key))
            plans.append(plan_service(state.services[key], live[key], applied_state=applied))
        elif key in state.services:
            reason = refused[key.split("/")[0]]
            # the same check sync makes; plan only says so and looks no further
            plans.append(
                ServicePlan(key, Action.INVALID, problems=(f"{reason} (sync would not deploy it)",))
            )
        else:
            plans.append(plan_invalid(key, state.invalid.get(key, ())))
    return plans


def recorded_statuses(root: Path) -> dict[str, ServiceStatus]:
    """ENV/SERVICE -> the status file the checkout holds for it (unreadable ones left out).

    A checkout without status files (a separate status branch) gives none.
    """
    found: dict[str, ServiceStatus] = {}
    folders = [root / ".ecs-gitops", root / STATUS_ROOT]
    if any(folder.is_symlink() for folder in folders):
        return found  # a checkout's status is trusted only where it really is
    for path in sorted((root / STATUS_ROOT).glob("*/*.yaml")):
        # a link, FIFO or giant (a pull request can add any) is never read: as if absent
        text = None if path.parent.is_symlink() else read_regular(path)
        status = ServiceStatus.from_yaml(text) if text is not None else None
        key = key_of(path.relative_to(root).as_posix())
        if status is not None and key is not None:
            found[key] = status
    return found


def recorded_markers(root: Path) -> dict[str, RollbackMarker]:
    """ENV/SERVICE -> the rollback marker the checkout holds for it.

    Read as safely as status files (a link, FIFO or giant is as if absent); a marker that is
    read but cannot be parsed still holds, as it does in a pass.
    """
    found: dict[str, RollbackMarker] = {}
    folders = [root / ".ecs-gitops", root / ROLLBACK_ROOT]
    if any(folder.is_symlink() for folder in folders):
        return found
    for path in sorted((root / ROLLBACK_ROOT).glob("*/*.yaml")):
        text = None if path.parent.is_symlink() else read_regular(path)
        key = key_of(path.relative_to(root).as_posix())
        if text is None or key is None:
            continue
        found[key] = RollbackMarker.from_yaml(text) or RollbackMarker(
            failedCommit="", reason="unreadable marker", at=""
        )
    return found


def digests_of(statuses: Mapping[str, ServiceStatus]) -> dict[str, str]:
    """Task definition ARN -> content digest, as status files record them.

    Revisions are immutable, so a recorded pair spares a DescribeTaskDefinition; a revision no
    status records is described.
    """
    return {
        revision.taskDefinitionArn: revision.digest
        for status in statuses.values()
        for revision in status.revisions
    }


def recorded_digests(root: Path) -> dict[str, str]:
    """Task definition ARN -> content digest, as the status files in the checkout record them."""
    return digests_of(recorded_statuses(root))


def unattached_problems(state: RepoState, *, only: str | None) -> list[Problem]:
    """Problems that belong to no single service (a broken environment.yaml, a stray file).

    With ``--only``, only those inside the selected environment's folder.
    """
    attached = {problem for problems in state.invalid.values() for problem in problems}
    problems = [p for p in state.problems if p not in attached]
    if only:
        env = only.strip("/").split("/", 1)[0]
        problems = [p for p in problems if p.file.startswith(f"{env}/")]
    return sorted(problems)


def exit_code(plans: list[ServicePlan], *, problems: list[Problem]) -> int:
    if problems or any(plan.action is Action.INVALID for plan in plans):
        return EXIT_ERROR
    if any(plan.action is not Action.IN_SYNC for plan in plans):
        return EXIT_CHANGES
    return EXIT_IN_SYNC
