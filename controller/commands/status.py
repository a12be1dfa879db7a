"""``ecs-gitops status``: every service at a glance, what needs attention first.

Reads the config repository and its status files, from a checkout (PATH) or from a remote
(``--repo URL``, cloned into a temporary folder and removed afterwards); with ``--live`` also
what ECS runs right now (read-only calls). Does I/O: files, git, AWS reads, the terminal.
Exit 0, or 1 when any service is Failed, RolledBack or Invalid (so that a CI job can gate on
it); 2 when the status cannot be shown (usage, an unreadable repository or AWS), in one line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.live import fetch_live_by_environment
from controller.commands.plan import digests_of, recorded_statuses
from controller.core.model import DesiredService, RepoState, Strategy
from controller.core.outcome import Result
from controller.core.status_table import (
    NO_STATUS,
    LiveCounts,
    StatusRow,
    exit_code,
    format_json,
    format_markdown,
    format_text,
)
from controller.errors import EcsGitopsError
from controller.source.git_repo import ConfigRepository
from controller.source.tree import load_path
from controller.status.records import ServiceStatus, StatusTree

EXIT_USAGE = 2


class _Usage(EcsGitopsError):
    """The command line asks for something that cannot be done."""


def run(args: argparse.Namespace) -> int:
    try:
        rows = _rows(args)
    except EcsGitopsError as e:
        print(f"ecs-gitops status: {e}", file=sys.stderr)
        return EXIT_USAGE
    now = datetime.now(UTC)
    if args.format == "json":
        print(format_json(rows, now=now), end="")
    elif args.format == "markdown":
        print(format_markdown(rows, now=now, live=args.live), end="")
    else:
        terminal = sys.stdout.isatty()
        width = shutil.get_terminal_size().columns if terminal or "COLUMNS" in os.environ else None
        colour = terminal and not os.environ.get("NO_COLOR")
        print(format_text(rows, now=now, width=width, colour=colour, live=args.live), end="")
    return exit_code(rows)


def _rows(args: argparse.Namespace) -> list[StatusRow]:
    if (args.path is None) == (args.repo is None):
        raise _Usage("give a checkout PATH or --repo URL (one of them)")
    if args.repo is None and (args.branch or args.status_branch):
        raise _Usage("--branch and --status-branch go with --repo")
    if args.repo is None:
        root = Path(args.path)
        state = load_path(root)
        statuses: Mapping[str, ServiceStatus] = recorded_statuses(root)
    else:
        with tempfile.TemporaryDirectory(prefix="ecs-gitops-status-") as scratch:
            repo = ConfigRepository(
                url=args.repo,
                branch=args.branch or "main",
                status_branch=args.status_branch,
                workdir=Path(scratch) / "clone",
            )
            repo.pull()
            state = load_path(repo.path)
            statuses = StatusTree.parse(repo.read_status()).statuses
    keys = _selected(state, statuses, only=args.only)
    if not keys:
        raise _Usage(f"no service matches --only {args.only}" if args.only else "no services")
    live = _live(state, keys, statuses=statuses) if args.live else {}
    return [_row(key, state=state, status=statuses.get(key), live=live.get(key)) for key in keys]


def _selected(
    state: RepoState, statuses: Mapping[str, ServiceStatus], *, only: str | None
) -> list[str]:
    """Services in git, and those whose folder is gone but whose status file is still there."""
    keys = set(state.select(only))
    for key in statuses:
        env = key.split("/", 1)[0]
        if not only or only.strip("/") in (key, env):
            keys.add(key)
    return sorted(keys)


def _row(
    key: str, *, state: RepoState, status: ServiceStatus | None, live: LiveCounts | None
) -> StatusRow:
    env, service = key.split("/", 1)
    desired = state.services.get(key)
    row = StatusRow(
        env=env,
        service=service,
        result=NO_STATUS,
        message="no status file yet",
        commit=status.commit if status else None,
        updated_at=status.updatedAt if status else None,
        image=_image(desired) if desired else None,
        live=live,
    )
    problems = state.invalid.get(key)
    if problems is not None:
        first = str(problems[0]) if problems else "invalid"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return replace(row, result=str(Result.INVALID), message=first + more)
    if status is None:
        return row
    message = status.message if desired else f"not in git any more: {status.message}"
    return replace(row, result=str(status.result), phase=status.phase, message=message)


def _image(desired: DesiredService) -> str | None:
    """The image git asks for: deploy.yaml's, else the first container's."""
    if desired.deploy.image:
        return desired.deploy.image
    for container in desired.task_definition.get("containerDefinitions") or ():
        if isinstance(container, dict) and container.get("image"):
            return str(container["image"])
    return None


def _live(
    state: RepoState, keys: Sequence[str], *, statuses: Mapping[str, ServiceStatus]
) -> dict[str, LiveCounts]:
    """Running/desired counts and the deployment in flight, by service key (read-only calls)."""
    # a run-task job has no ECS service to count
    services = [
        state.services[key]
        for key in keys
        if key in state.services and state.services[key].deploy.strategy is not Strategy.RUN_TASK
    ]
    read = fetch_live_by_environment(services, known_digests=digests_of(statuses))
    found: dict[str, LiveCounts] = {
        key: LiveCounts(error=error) for key, error in read.unreadable.items()
    }
    native: dict[str, str] = {}  # key -> service deployment ARN (strategy ecs)
    for desired in services:
        live = read.services.get(desired.key)
        if live is None:
            continue
        answer = live.service
        if answer is None:
            found[desired.key] = LiveCounts(deployment="absent")
            continue
        deployments = answer.get("deployments") or []
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
        rollout = str((primary or {}).get("rolloutState") or "")
        found[desired.key] = LiveCounts(
            running=int(answer.get("runningCount") or 0),
            desired=int(answer.get("desiredCount") or 0),
            deployment=rollout,
        )
        arn = answer.get("currentServiceDeployment")
        if desired.deploy.strategy is Strategy.ECS and arn:
            native[desired.key] = str(arn)
    for key, arn in native.items():
        desired = state.services[key]
        try:
            described = EcsApi(clients_for(desired.env)).describe_service_deployments([arn])
        except EcsGitopsError:
            continue  # the counts are known; the stage is a detail
        for deployment in described:
            stage = deployment.get("lifecycleStage")
            shown = " ".join(str(part) for part in (deployment.get("status"), stage) if part)
            found[key] = LiveCounts(
                running=found[key].running, desired=found[key].desired, deployment=shown
            )
    return found
