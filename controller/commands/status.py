"""``ecs-gitops status``: every service at a glance, what needs attention first.

Reads the config repository and its status files, from a checkout (PATH) or from a remote
(``--repo URL``, cloned into a temporary folder and removed afterwards); with ``--live`` also
what ECS runs right now (read-only calls), and with ``--lease-table`` which controller holds
each service's lease (a read of the DynamoDB table ``run --lease-table`` shares). Does I/O:
files, git, AWS reads, the terminal.
Exit 0, or 1 when any service is Failed, RolledBack or Invalid (so that a CI job can gate on
it); 2 when the status cannot be shown (usage, an unreadable repository or AWS), in one line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from controller.aws.status_reads import live_counts
from controller.commands.plan import digests_of, recorded_statuses
from controller.core.status_table import (
    StatusRow,
    exit_code,
    format_json,
    format_markdown,
    format_text,
    selected_keys,
    status_rows,
)
from controller.errors import EcsGitopsError
from controller.service.leases import read_leases
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
    leases = args.lease_table is not None
    if args.format == "json":
        print(format_json(rows, now=now, leases=leases), end="")
    elif args.format == "markdown":
        print(format_markdown(rows, now=now, live=args.live, leases=leases), end="")
    else:
        terminal = sys.stdout.isatty()
        width = shutil.get_terminal_size().columns if terminal or "COLUMNS" in os.environ else None
        colour = terminal and not os.environ.get("NO_COLOR")
        shown = format_text(
            rows, now=now, width=width, colour=colour, live=args.live, leases=leases
        )
        print(shown, end="")
    return exit_code(rows)


def _rows(args: argparse.Namespace) -> list[StatusRow]:
    if (args.path is None) == (args.repo is None):
        raise _Usage("give a checkout PATH or --repo URL (one of them)")
    if args.repo is None and (args.branch or args.status_branch):
        raise _Usage("--branch and --status-branch go with --repo")
    if args.lease_table is not None and not args.live:
        raise _Usage("--lease-table goes with --live")
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
    keys = selected_keys(state, statuses.keys(), only=args.only)
    if not keys:
        raise _Usage(f"no service matches --only {args.only}" if args.only else "no services")
    live = (
        live_counts(
            [state.services[key] for key in keys if key in state.services],
            known_digests=digests_of(statuses),
        )
        if args.live
        else {}
    )
    leases = read_leases(args.lease_table) if args.lease_table is not None else None
    return status_rows(state, statuses, only=args.only, live=live, leases=leases)
