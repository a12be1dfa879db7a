"""``ecs-gitops sync``: one reconcile pass, a line per service, exit 1 if anything failed.

Does I/O (git, AWS, terminal) through ``controller.reconcile``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.commands.pipe import EXIT_READER_GONE, Lines
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
    # a line per service as it goes; a reader that goes away (| head) never stops the pass
    report = Lines()
    options = PassOptions(
        only=args.only,
        poll_seconds=args.poll_interval,
        parallel=args.parallel,
        report=report,
        allow=allow_list_from(args),
    )
    with WorkdirLock(repo.path):
        result = run_pass(repo, options)
    if result.failed:
        print(result.summary(), file=sys.stderr, flush=True)
    else:
        report(result.summary())
    return EXIT_READER_GONE if report.reader_gone else result.exit_code
