"""``ecs-gitops sync``: one reconcile pass, a line per service, exit 1 if anything failed.

Does I/O (git, AWS, terminal) through ``controller.reconcile``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.core.pinning import AllowList
from controller.reconcile import PassOptions, run_pass
from controller.source.git_repo import ConfigRepository
from controller.source.workdir_lock import WorkdirLock


def repository_from(args: argparse.Namespace) -> ConfigRepository:
    return ConfigRepository(
        url=args.repo,
        branch=args.branch,
        workdir=Path(args.workdir) if args.workdir else None,
        status_branch=args.status_branch,
        author=args.author,
    )


def allow_list_from(args: argparse.Namespace) -> AllowList:
    """``--allowed-accounts`` and ``--allowed-clusters`` (empty when not given)."""
    return AllowList(accounts=tuple(args.allowed_accounts), clusters=tuple(args.allowed_clusters))


def run(args: argparse.Namespace) -> int:
    repo = repository_from(args)

    def report(line: str) -> None:
        print(line, flush=True)

    options = PassOptions(
        only=args.only,
        poll_seconds=args.poll_interval,
        parallel=args.parallel,
        report=report,
        allow=allow_list_from(args),
    )
    with WorkdirLock(repo.path):
        result = run_pass(repo, options)
    print(result.summary(), file=sys.stderr if result.failed else sys.stdout, flush=True)
    return result.exit_code
