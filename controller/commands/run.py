"""``ecs-gitops run``: the controller as a long-running service.

Passes on an interval and soon after each push (watched on disk for a local repository,
or received on ``POST /webhook``), HTTP health, readiness and metrics, one log line per
event (structured with ``--log-format json``), rollout events posted to ``--notify`` URLs and
as GitHub commit statuses. On SIGTERM (or Ctrl-C) it takes no new work, lets rollouts reach
a safe point, commits their status (Progressing when unfinished: the next start resumes
them) and exits 0, within ``--grace-period``. Does I/O: git, AWS, a listening socket, signals, the log.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from controller.commands.sync import allow_list_from
from controller.core.leases import ShardBy
from controller.errors import EcsGitopsError
from controller.reconcile import PassOptions, RolloutStart, ServiceResult
from controller.service.events import RolloutsUnderWay, of_service
from controller.service.http import Endpoints, HttpServer, parse_listen
from controller.service.leases import LeaseKeeper, LeaseTable
from controller.service.logs import Redactor, configure, event
from controller.service.metrics import ControllerMetrics
from controller.service.notify import (
    GitHubStatuses,
    Notifier,
    check_repository,
    github_repository,
    webhooks_from,
)
from controller.service.scheduler import MeasuredRepository, PassScheduler
from controller.service.status_page import page_title
from controller.service.status_snapshot import StatusSnapshot
from controller.service.watch import RepositoryWatch, local_git_dir
from controller.service.webhook import Verdict
from controller.source.workdir_lock import WorkdirLock
from controller.status.records import status_path

# On ECS, secrets arrive as environment variables (the task definition's ``secrets``).
WEBHOOK_SECRET_VARIABLE = "ECS_GITOPS_WEBHOOK_SECRET"


def _webhook_secret(path: str | None) -> bytes | None:
    """The secret from ``--webhook-secret-file``, else from $ECS_GITOPS_WEBHOOK_SECRET, else None."""
    if path is None:
        value = os.environ.get(WEBHOOK_SECRET_VARIABLE, "").strip()
        return value.encode() or None
    try:
        secret = Path(path).read_bytes().strip()
    except OSError as e:
        raise EcsGitopsError(f"read --webhook-secret-file {path}: {e.strerror or e}") from e
    if not secret:
        raise EcsGitopsError(f"read --webhook-secret-file {path}: the file is empty")
    return secret


def _github_token(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        token = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise EcsGitopsError(f"read --github-token-file {path}: {why}") from e
    if not token:
        raise EcsGitopsError(f"read --github-token-file {path}: the file is empty")
    return token


def _notifier(
    args: argparse.Namespace, *, redact: Redactor, metrics: ControllerMetrics, controller: str
) -> Notifier:
    """The notifier the flags ask for (one with nothing to tell when none is given)."""
    for url in args.notify:
        if not url.startswith(("https://", "http://")):
            raise EcsGitopsError(f"--notify {url}: expected an http or https URL")
        redact.add(url)  # a webhook URL is a secret (Slack's path is its key)
    token = _github_token(args.github_token_file)
    remote_repository = github_repository(args.repo)
    repository = remote_repository
    if args.github_repository:
        try:
            repository = check_repository(args.github_repository)
        except ValueError as e:
            raise EcsGitopsError(f"--github-repository: {e}") from e
    github = None
    if token is not None:
        redact.add(token)
        if repository is None:
            raise EcsGitopsError(
                f"--github-token-file: {args.repo} is no GitHub repository; "
                "name it with --github-repository ORG/REPO"
            )
        github = GitHubStatuses(repository=repository, token=token, api_url=args.github_api_url)
    status_branch = args.status_branch or args.branch

    def status_url(key: str) -> str | None:
        if remote_repository is None:
            return None
        return f"https://github.com/{remote_repository}/blob/{status_branch}/{status_path(key)}"

    return Notifier(
        webhooks=webhooks_from(args.notify),
        github=github,
        controller=controller,
        status_url=status_url,
        counted=metrics.observe_notification,
    )


def _lease_keeper(args: argparse.Namespace, *, metrics: ControllerMetrics) -> LeaseKeeper | None:
    """The leases ``--lease-table`` asks for, the table checked or created; None without it."""
    if not args.lease_table:
        return None
    table = LeaseTable(args.lease_table, lease_seconds=args.lease_seconds)
    table.ensure()
    return LeaseKeeper(
        table=table,
        lease_seconds=args.lease_seconds,
        shard_by=ShardBy(args.shard_by),
        observe=metrics.leases,
    )


def _with_leases(passes: PassScheduler, keeper: LeaseKeeper) -> Callable[[], tuple[bool, str]]:
    """Readiness that also names the leases held (a controller holding none is a standby)."""

    def readiness() -> tuple[bool, str]:
        ready, why = passes.readiness()
        held = keeper.held()
        leases = ", ".join(f"{u} (token {t})" for u, t in sorted(held.items())) or "none"
        return ready, f"{why}; leases held: {leases}"

    return readiness


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; exit 0 after a clean stop."""
    if args.interval <= 0:
        raise EcsGitopsError("--interval must be more than 0")
    host, port = parse_listen(args.listen)
    secret = _webhook_secret(args.webhook_secret_file)
    redact = Redactor.from_environment()
    if secret is not None:
        redact.add(secret.decode("utf-8", "replace"))
    under_way = RolloutsUnderWay()
    log = configure(fmt=args.log_format, redact=redact, context=under_way)

    metrics = ControllerMetrics()
    repo = MeasuredRepository(
        metrics=metrics,
        url=args.repo,
        branch=args.branch,
        workdir=Path(args.workdir) if args.workdir else None,
        status_branch=args.status_branch,
        author=args.author,
    )

    # held until the process ends: one controller per working clone (a second fails at once)
    WorkdirLock(repo.path).acquire()
    # --lease-table: the table is checked (or created) before anything starts
    keeper = _lease_keeper(args, metrics=metrics)

    notifier = _notifier(args, redact=redact, metrics=metrics, controller=repo.identity)

    def report(line: str) -> None:
        log.info(line.strip())

    def rollout_started(start: RolloutStart) -> None:
        key = start.desired.key
        under_way.started(key, commit=start.commit, strategy=start.strategy, phase=start.phase)
        log.info(
            "rollout %s: %s at %s (%s%s)",
            "resumed" if start.resumed else "started",
            key,
            start.commit[:12],
            start.strategy,
            f", phase {start.phase}" if start.phase else "",
            extra=event(
                of_service(
                    "rollout-started",
                    key,
                    commit=start.commit,
                    strategy=start.strategy,
                    phase=start.phase,
                )
            ),
        )
        notifier.rollout_started(start)

    def rollout_ended(result: ServiceResult) -> None:
        under_way.ended(result.key)
        notifier.rollout_ended(result)

    options = PassOptions(
        only=args.only,
        poll_seconds=args.poll_interval,
        parallel=args.parallel,
        report=report,
        allow=allow_list_from(args),
        lease=keeper,
        rollout_started=rollout_started,
    )
    passes = PassScheduler(
        repo=repo,
        options=options,
        metrics=metrics,
        interval=args.interval,
        on_rollout_ended=rollout_ended,
    )
    # the status page's rows, read again after each pass and each status commit
    snapshot = StatusSnapshot(repo, only=args.only)
    passes.status_changed = snapshot.stale

    def on_push(verdict: Verdict) -> None:
        passes.request("webhook push", commit=verdict.after)

    server = HttpServer(
        host=host,
        port=port,
        endpoints=Endpoints(
            registry=metrics.registry,
            readiness=passes.readiness if keeper is None else _with_leases(passes, keeper),
            on_push=on_push,
            branch=args.branch,
            webhook_secret=secret,
            status=lambda: snapshot.current,
            title=page_title(repo.url, args.branch),
        ),
    )

    stop = threading.Event()
    signals = {"count": 0}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            # asked twice: the journal lets the next start resume whatever was under way
            log.warning("second %s: exiting at once", signal.Signals(signum).name)
            os._exit(1)
        stop.set()

    # Installed before anything starts, so that a signal during start-up is a clean stop.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    snapshot.start()
    server.start()
    log.info(
        "ecs-gitops run: %s branch %s every %gs; listening on http://%s",
        repo.url,
        args.branch,
        args.interval,
        server.address,
    )
    watched = local_git_dir(args.repo) if args.watch else None
    watch_stop = threading.Event()
    watch = None
    if watched is not None:
        watch = RepositoryWatch(
            git_dir=watched,
            branch=args.branch,
            on_commit=lambda sha: passes.request(f"new commit {sha[:12]}", commit=sha),
            stop=watch_stop,
        )
        watch.start()
        log.info("watching %s for new commits on %s", watched, args.branch)
    if options.allow:
        log.info(
            "deploying only to accounts %s and clusters %s",
            ", ".join(options.allow.accounts) or "(any)",
            ", ".join(options.allow.clusters) or "(any)",
        )
    if keeper is not None:
        lease_keeper = keeper
        # a unit with a rollout under way is not released to share the work out
        keeper.busy = lambda: {lease_keeper.unit_of(k) for k in passes.rollouts.busy()}

        def took(units: Sequence[str]) -> None:
            passes.request_all(f"took the lease of {', '.join(units)}")

        keeper.on_take = took
        keeper.start()
        log.info(
            "sharing the repository through lease table %s as %s (%s leases of %gs)",
            args.lease_table,
            keeper.me,
            args.shard_by,
            args.lease_seconds,
        )
    passes.start()

    # Event.wait with a timeout, so that the signal handler runs promptly in this thread.
    while not stop.wait(1.0):
        pass

    log.info("stopping: no new passes; rollouts under way pause at their next safe point")
    watch_stop.set()
    clean = passes.stop(timeout=args.grace_period)
    if keeper is not None:
        # after the rollouts paused and published: the others take over at once
        keeper.close()
    # what waits to be told goes out for a moment; it never holds the exit up for long
    notifier.close(timeout=2.0)
    server.stop()
    snapshot.stop()
    if watch is not None:
        watch.join(timeout=2.0)
    if not clean:
        log.error(
            "a pass was still running after %gs; exiting without its status commit "
            "(the next start resumes its rollouts from the journal)",
            args.grace_period,
        )
        logging.shutdown()
        sys.stdout.flush()
        # the pass's threads cannot be interrupted; they must not hold the exit up
        os._exit(1)
    log.info("stopped cleanly")
    return 0
