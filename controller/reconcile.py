"""One reconcile pass: pull the config repository, decide per service, roll out, commit status.

Reads top to bottom: fetch, load, look up live state, decide, apply (concurrently, one
rollout per service), prune, write status. Every service ends the pass with a status, on
every exit path; configuration errors are terminal for that service until git changes.
Does I/O (git, AWS) through the adapters.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from controller.aws.accounts import environment_refusal, refused_environments
from controller.aws.clients import clients_for
from controller.aws.diagnostics import diagnose
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi, generation
from controller.aws.live import LiveRead, fetch_live, fetch_live_by_environment
from controller.core.decision import Decision, decide, is_explicit, prerequisites, waiting_on
from controller.core.fingerprint import desired_state_fingerprint
from controller.core.layout import RenderCache, load_repo
from controller.core.model import DesiredService, Environment, JsonDict, RepoState, Strategy
from controller.core.outcome import Outcome, Result
from controller.core.ownership import not_owned, owned_by, owner_of
from controller.core.pinning import AllowList
from controller.core.plan import (
    UNKNOWN_APPLIED_STATE,
    Action,
    LiveService,
    ServicePlan,
    last_applied_state,
    plan_service,
)
from controller.core.scope import touched_keys
from controller.core.secrets import mask_text
from controller.core.strategy_traits import Runs
from controller.errors import ConfigError, EcsGitopsError
from controller.leasing import LeaseGuard
from controller.rollouts import Rollouts
from controller.source.git_repo import ConfigRepository
from controller.source.render_store import load_render_cache, render_cache_path, save_render_cache
from controller.source.tree import read_tree
from controller.status.claims import Claims
from controller.status.journal import Journal, JournalEntry
from controller.status.pending import PendingStatus, overlay
from controller.status.publisher import StatusPublisher
from controller.status.records import (
    RollbackMarker,
    ServiceStatus,
    StatusTree,
    key_of,
    marker_path,
    status_path,
)
from controller.strategies.base import RolloutContext, drive
from controller.strategies.descriptions import DESCRIPTIONS, describe
from controller.strategies.registry import rollout_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassOptions:
    """How a pass behaves; the CLI fills it from flags."""

    only: str | None = None
    poll_seconds: float = 5.0
    parallel: int = 10
    report: Callable[[str], None] = print
    # set it to stop: rollouts pause at their next safe point and report Progressing
    stop: threading.Event = field(default_factory=threading.Event)
    # where rollouts under way are journaled (default: next to the working clone)
    journal_dir: Path | None = None
    # the config commit of the previous pass: services changed since then go first
    since: str | None = None
    # with ``since``: look only at the services changed since then (and rollouts under way),
    # so that a commit-triggered pass costs what the commit touched; periodic passes check all
    touched_only: bool = False
    # services rendered from unchanged files are reused from the last pass (``run``)
    render_cache: RenderCache = field(default_factory=RenderCache)
    # --allowed-accounts / --allowed-clusters: environments outside them are refused
    allow: AllowList = field(default_factory=AllowList)
    # ``run``: rollouts are started there and the pass returns without waiting for them; each
    # publishes its own status when it ends (None, as in ``sync``: the pass waits for all)
    rollouts: Rollouts[ServiceResult] | None = None
    # with ``touched_only``: services looked at all the same (a rollout that held them ended)
    also: frozenset[str] = frozenset()
    # the status publisher of the working clone, shared by ``run``'s passes and rollouts
    publisher: StatusPublisher | None = None
    # ``run --lease-table``: only the services whose lease this controller holds are looked
    # at, and every acting step for one is fenced by that lease (None: no leases)
    lease: LeaseGuard | None = None
    # ``run``: told on the rollout's thread as each rollout starts or resumes (log, notifications)
    rollout_started: Callable[[RolloutStart], None] | None = None


@dataclass(frozen=True)
class RolloutStart:
    """A rollout starting (or resuming after a restart): what ``rollout_started`` is told."""

    desired: DesiredService
    commit: str
    strategy: str
    phase: str | None
    resumed: bool


@dataclass
class ServiceResult:
    """The end of one service's pass: its outcome and whether it counts as a failure now."""

    key: str
    outcome: Outcome
    action: str
    seconds: float = 0.0
    # a failure this pass (exit 1); a state merely carried over (a marker not retried) is not
    failed_now: bool = False
    fingerprint: str | None = None
    digest: str | None = None
    desired: DesiredService | None = None
    deployed: bool = False
    # the config commit a resumed rollout was deploying (else: the service's newest commit)
    commit: str | None = None
    # the status file already says all there is to say (a held marker): leave it as it is
    keep_status: bool = False


@dataclass
class PassReport:
    commit: str
    results: list[ServiceResult] = field(default_factory=list)
    status_commit: str | None = None
    # ``run``: the services whose rollouts this pass started and left running
    started: list[str] = field(default_factory=list)
    # what a person must look at although no service failed (an unreadable pending status)
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.warnings or any(r.failed_now for r in self.results) else 0

    @property
    def failed(self) -> list[str]:
        return [r.key for r in self.results if r.failed_now]

    def summary(self) -> str:
        """One line: the config commit, how many services, the status commit, what failed."""
        line = f"pass over {self.commit[:12]}: {len(self.results) + len(self.started)} services"
        if self.started:
            line += f", {len(self.started)} rollout(s) started"
        if self.status_commit:
            line += f", status committed as {self.status_commit[:12]}"
        if self.failed:
            line += f"; failed: {', '.join(self.failed)}"
        for warning in self.warnings:
            line += f"; {warning}"
        return line


def now_rfc3339() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def touched_first(keys: Sequence[str], changed: set[str] | None) -> list[str]:
    """``keys`` with the services a change touched first (all of them when unknown: None).

    A service is touched by a file in its folder or by its environment's environment.yaml.
    The order matters because rollouts start in this order when there are more services
    than ``parallel`` slots: a push is deployed before the drift check of the rest.
    """
    if changed is None:
        return list(keys)
    touched = set(touched_keys(keys, changed))
    return sorted(keys, key=lambda k: k not in touched)


def run_pass(repo: ConfigRepository, options: PassOptions) -> PassReport:
    """One pass over every selected service; returns what happened (the caller prints/exits)."""
    # every line a pass reports may quote a manifest or an AWS message: secrets are masked here
    options = replace(options, report=_masking(options.report))
    # read before the status branch: a service not busy now has its outcome on the branch
    running = options.rollouts.busy() if options.rollouts is not None else frozenset()
    head = repo.pull()
    cache_file = render_cache_path(repo.path)
    if not len(options.render_cache):
        # a fresh process (a one-shot sync): start from what the last one rendered
        load_render_cache(options.render_cache, cache_file)
    state = load_repo(read_tree(repo.path), cache=options.render_cache)
    # status a previous pass could not push is still the truth (a rollback marker above all)
    pending = PendingStatus.beside(repo.path)
    unpushed = pending.load()
    fetched = repo.read_status()
    # status and markers are the controller's to write: a hand-made one is never honoured
    foreign = {p: who for p, who in repo.foreign_status_files(fetched).items() if p not in unpushed}
    tree = StatusTree.parse(
        overlay({p: t for p, t in fetched.items() if p not in foreign}, unpushed)
    )
    keys = state.select(options.only)
    if options.only and not keys and not _known(options.only, tree):
        raise ConfigError(
            f"--only {options.only}: no such environment or service at {head[:12]} "
            "(nor a removed one with a status file)"
        )
    if options.lease is not None:
        # the whole repository is shared out, removed folders with a status file too (with
        # leases per service, nobody would hold theirs to prune them); this controller looks
        # at what it holds
        removed = [k for k in tree.statuses if k not in state.services and k not in state.invalid]
        options.lease.offer([*keys, *removed])
        keys = [k for k in keys if options.lease.holds(k)]
    journal = Journal(
        options.journal_dir or repo.path.parent / f"{repo.path.name}.journal",
        shared=options.lease.journal if options.lease is not None else None,
    )
    # a rollout still running on its own thread is not one to resume
    under_way = {k: e for k, e in _rollouts_under_way(journal, tree).items() if k not in running}
    # what could not be read next to the clone is said, in the log and in the status
    damaged = [pending.unreadable] if pending.unreadable else []
    for text in damaged:
        log.error("%s", text)
        options.report(text)
    notices = {
        key: f"its rollout journal entry was unreadable ({why}): a rollout that was under way "
        "may have been cut short; it was planned afresh from live state"
        for key, why in journal.unreadable.items()
    }
    for key, text in notices.items():
        log.warning("%s: %s", key, text)
        options.report(f"  {key}: {text}")
    if options.since and options.since != head:
        changed = repo.changed_paths(options.since, head)
        keys = touched_first(keys, changed)
        if options.touched_only and changed is not None:
            touched = set(touched_keys(keys, changed))
            keys = [k for k in keys if k in touched or k in under_way or k in options.also]
    elif options.since and options.touched_only:
        # nothing changed in git
        keys = [k for k in keys if k in under_way or k in options.also]
    commits = repo.config_commits({key: _inputs(key) for key in keys})
    # a service whose rollout is under way (or whose runBefore prerequisite's is) is left to
    # it; a newer commit of it is deployed as soon as that rollout ends
    deferred = _held_by_rollouts(running, _prerequisites(state, keys))
    if options.rollouts is not None:
        for key in (k for k in keys if k in deferred):
            commit = commits.get(key, head)
            if options.rollouts.defer(key, commit):
                options.report(
                    f"  {key}: a rollout is under way; {commit[:12]} is deployed when it ends"
                )
    keys = [k for k in keys if k not in deferred]
    report = PassReport(commit=head, warnings=damaged)
    # what belongs to no single service (a folder ECS would refuse, a stray file) is said too;
    # it deploys nothing, so it fails no service (validate is where it fails)
    for problem in state.unattached_problems(options.only):
        options.report(f"  not deployed: {problem}")

    # before any other AWS call: nothing of a refused environment is read, planned or deployed
    refused = _refusals(state, keys, allow=options.allow, report=options.report)
    valid = [state.services[k] for k in keys if k in state.services and k not in refused]
    # revisions are immutable: a (digest, ARN) pair the controller recorded spares a describe
    known = {r.taskDefinitionArn: r.digest for s in tree.statuses.values() for r in s.revisions}
    # an environment whose live state cannot be read is Unknown; the others go on
    read = fetch_live_by_environment(valid, known_digests=known) if valid else LiveRead({})
    live = read.services

    lock = threading.Lock()

    def say(key: str) -> Callable[[str], None]:
        def line(text: str) -> None:
            with lock:
                options.report(f"  {key}: {text}")

        return line

    prerequisites = _prerequisites(state, keys)
    plans = {
        key: plan_service(
            state.services[key], live[key], applied_state=last_applied_state(tree.statuses.get(key))
        )
        for key in keys
        if key in live
    }
    if options.render_cache.changed:
        # saved once planned, so that the digests computed on the way are kept with the services
        save_render_cache(options.render_cache, cache_file)
    started_futures: dict[str, Future[ServiceResult]] = {}
    # services settled without a rollout of their own (see below)
    quiet: dict[str, ServiceResult] = {}
    # with leases, the lease keeps other controllers off: no claim is pushed
    claims = Claims(repo, now=lambda: datetime.now(UTC)) if options.lease is None else None

    def one(key: str) -> ServiceResult:
        started = time.monotonic()
        # runBefore: wait for the services that must succeed first (already started: see below)
        # a prerequisite settled without a rollout (Unknown, refused, tampered) blocks it too
        blocked = _blocked_by(
            {
                k: quiet[k] if k in quiet else started_futures[k].result()
                for k in prerequisites.get(key, ())
            }
        )
        try:
            result = _reconcile_service(
                key,
                state=state,
                tree=tree,
                live=live.get(key, LiveService()),
                plan=plans.get(key),
                commit=commits.get(key, head),
                options=options,
                report=say(key),
                journal=journal,
                under_way=under_way.get(key),
                blocked=blocked,
                claims=claims,
            )
        except EcsGitopsError as e:
            # an AWS or git failure in the middle of one service never stops the others
            result = ServiceResult(
                key, Outcome(Result.FAILED, str(e)), action="error", failed_now=True
            )
        except Exception as e:
            # nor does a bug: the others deploy, this one reports it (and a journaled rollout
            # is resumed on the next pass); the traceback goes to the log for a bug report
            log.exception("reconcile %s: unexpected error", key)
            message = f"unexpected error ({type(e).__name__}: {e}); see the controller's log"
            result = ServiceResult(
                key, Outcome(Result.FAILED, message), action="error", failed_now=True
            )
        result.seconds = time.monotonic() - started
        # the commit its status records, so that whoever hears of the result can name it
        result.commit = result.commit or commits.get(key, head)
        with lock:
            options.report(_summary_line(result))
        return result

    # Services with nothing to roll out are settled here, without a thread each: deciding a
    # no-op makes no AWS call (live state is read above).
    quiet.update(_unknown(read.unreadable, state=state, tree=tree, under_way=under_way))
    for result in quiet.values():
        options.report(_summary_line(result))
    quiet |= {**refused, **_tampered(foreign, keys)}
    quiet |= {
        key: one(key)
        for key in keys
        if key not in quiet and _quiet(key, state, plans, prerequisites, under_way)
    }
    busy = [key for key in keys if key not in quiet]
    publisher = options.publisher or StatusPublisher(repo, pending)

    def publish(result: ServiceResult, *, skipped: Sequence[str]) -> None:
        """``run``: a rollout's status goes out as soon as it ends, whatever the pass does."""
        _note(result, notices.get(result.key), skipped=skipped)
        changes = _status_changes(
            [result], tree=tree, commits=commits, head=head, controller=repo.identity
        )
        try:
            publisher.publish(changes, message=_commit_message([result]))
        except EcsGitopsError as e:
            log.error("%s: %s", result.key, e)
            say(result.key)(f"status not pushed: {e}")

    if options.rollouts is not None:
        rollouts = options.rollouts
        # started in an order where each service comes after its runBefore prerequisites,
        # which it waits for on its own thread (a pool starts work in submission order)
        for key in _start_order(busy, prerequisites):
            commit = commits.get(key, head)
            # the commits of the service between the rollout that held it and this one were
            # never deployed on their own (seen by a pass or not): its status names them
            after = rollouts.overtaken(key)
            skipped = (
                []
                if after is None
                else [c for c in repo.commits_touching(after, commit, _inputs(key)) if c != commit]
            )
            started_futures[key] = rollouts.start(
                key,
                commit=commit,
                work=functools.partial(one, key),
                finish=functools.partial(publish, skipped=skipped),
            )
        report.started = busy
        report.results = [quiet[key] for key in keys if key in quiet]
    else:
        report.results = _wait_for_all(
            keys,
            quiet=quiet,
            one=one,
            started=started_futures,
            order=_start_order(busy, prerequisites),
            parallel=options.parallel,
        )

    report.results.extend(
        _prune(state, tree, options=options, report=options.report, running=running)
    )
    for result in report.results:
        _note(result, notices.get(result.key), skipped=())
    changes = _status_changes(
        report.results, tree=tree, commits=commits, head=head, controller=repo.identity
    )
    report.status_commit = publisher.publish(changes, message=_commit_message(report.results))
    return report


def _inputs(key: str) -> list[str]:
    """The paths whose commits are a service's: its folder and its environment.yaml."""
    return [key, f"{key.split('/')[0]}/environment.yaml"]


def _wait_for_all(
    keys: Sequence[str],
    *,
    quiet: Mapping[str, ServiceResult],
    one: Callable[[str], ServiceResult],
    started: dict[str, Future[ServiceResult]],
    order: Sequence[str],
    parallel: int,
) -> list[ServiceResult]:
    """``sync``: run the rollouts in ``order`` on a pool per environment and wait for all.

    ``parallel`` rollouts at a time per environment, each waiting on its own deployment: a
    busy environment never holds back another. A pool starts work in submission order, so a
    service that waits for its runBefore prerequisites only waits for work already started.
    """
    pools = {
        env: ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix=env)
        for env in {key.split("/")[0] for key in order}
    }
    try:
        for key in order:
            started[key] = pools[key.split("/")[0]].submit(one, key)
        return [quiet[key] if key in quiet else started[key].result() for key in keys]
    finally:
        for pool in pools.values():
            pool.shutdown()


def _held_by_rollouts(
    running: frozenset[str], prerequisites: Mapping[str, Sequence[str]]
) -> set[str]:
    """The services a pass leaves to rollouts under way: those busy, and those whose runBefore
    prerequisites (directly or not) are."""
    held = set(running)
    grown = True
    while grown:
        grown = False
        for key, firsts in prerequisites.items():
            if key not in held and any(first in held for first in firsts):
                held.add(key)
                grown = True
    return held


def _note(result: ServiceResult, notice: str | None, *, skipped: Sequence[str]) -> None:
    """Add to a result's message what the pass knows beside its rollout: a damaged journal
    entry, commits a newer one overtook while the previous rollout was under way."""
    message = result.outcome.message
    details = result.outcome.details
    if skipped and result.deployed:
        shas = ", ".join(c[:12] for c in skipped)
        message += (
            f"; not deployed on their own: {shas} (pushed while the previous rollout was under "
            "way; the newest desired state was deployed)"
        )
        details = {**details, "skippedCommits": list(skipped)}
    if notice:
        message += f"; {notice}"
    if message != result.outcome.message:
        result.outcome = replace(result.outcome, message=message, details=details)


def _applied(previous: ServiceStatus | None) -> str | None:
    """The desired state last applied, as a status to be written carries it over."""
    applied = last_applied_state(previous)
    return None if applied in (None, UNKNOWN_APPLIED_STATE) else applied


def _known(only: str, tree: StatusTree) -> bool:
    """Whether ``--only`` names something the status remembers (a folder removed since)."""
    only = only.strip("/")
    return any(key == only or key.split("/", 1)[0] == only for key in tree.statuses)


def _masking(report: Callable[[str], None]) -> Callable[[str], None]:
    def masked(line: str) -> None:
        report(mask_text(line))

    return masked


def _unknown(
    unreadable: Mapping[str, str],
    *,
    state: RepoState,
    tree: StatusTree,
    under_way: Mapping[str, JournalEntry],
) -> dict[str, ServiceResult]:
    """Services whose environment's live state could not be read: Unknown, nothing sent.

    Their status says so, carrying over what the last one knew (revision, applied state),
    except where the status file is a memory the controller still needs as it is: a job's
    (whether it ran), a rollout's under way (to resume it), a failed deploy's (with its marker).
    """
    found: dict[str, ServiceResult] = {}
    for key, why in unreadable.items():
        previous = tree.statuses.get(key)
        desired = state.services[key]
        kept = previous is not None and (
            describe(desired.deploy.strategy).runs_once
            or key in under_way
            or previous.result in (Result.PROGRESSING, Result.ROLLED_BACK, Result.FAILED)
        )
        found[key] = ServiceResult(
            key,
            Outcome(
                Result.UNKNOWN,
                f"live state could not be read, nothing was checked or changed: {why}",
                task_definition_arn=previous.taskDefinitionArn if previous else None,
            ),
            action="unknown",
            failed_now=True,
            desired=desired,
            keep_status=kept,
        )
    return found


def _tampered(foreign: Mapping[str, str], keys: Sequence[str]) -> dict[str, ServiceResult]:
    """Services whose status file or rollback marker someone other than the controller wrote.

    Such a file is not honoured (a marker would hold a deploy, a status file would vouch for
    a revision): the service is Invalid, saying which file, which commit and what to do.
    Deleting a marker is always allowed: that is how a failed state is retried.
    """
    found: dict[str, ServiceResult] = {}
    selected = set(keys)
    for path, who in sorted(foreign.items()):
        key = key_of(path)
        if key is None or key not in selected or key in found:
            continue
        message = (
            f"{path} was changed by {who}, not by ecs-gitops: status files and rollback markers "
            "are written by the controller only, so it is not honoured and nothing is deployed; "
            "revert that change, or delete the file (deleting a marker retries the failed state)"
        )
        found[key] = ServiceResult(
            key, Outcome(Result.INVALID, message), action="tampered", failed_now=True
        )
    return found


def _refusals(
    state: RepoState, keys: Sequence[str], *, allow: AllowList, report: Callable[[str], None]
) -> dict[str, ServiceResult]:
    """The services of environments the allow-lists keep the controller out of, ended Failed.

    Failed rather than Invalid: validate finds nothing wrong with the files, since a refusal
    depends on the credentials and the controller's flags. Nothing is deployed, so no marker is
    written; the check is repeated every pass (STS is asked once per credentials per process).
    """
    reasons = refused_environments([state.services[k] for k in keys if k in state.services], allow)
    refused: dict[str, ServiceResult] = {}
    for key in keys:
        reason = reasons.get(key.split("/")[0])
        if reason is not None and key in state.services:
            refused[key] = ServiceResult(
                key,
                Outcome(Result.FAILED, reason),
                action="refused",
                failed_now=True,
                desired=state.services[key],
            )
            report(_summary_line(refused[key]))
    return refused


def _rollouts_under_way(journal: Journal, tree: StatusTree) -> dict[str, JournalEntry]:
    """Rollouts to resume: the local journal, else a Progressing status file's rollout record.

    The status file covers a controller that comes back without its journal (a new task
    without the old one's disk) after a clean stop recorded the rollout as Progressing.
    """
    under_way = journal.entries()
    for key, status in tree.statuses.items():
        if key in under_way or status.result != Result.PROGRESSING or not status.rollout:
            continue
        under_way[key] = JournalEntry(
            key=key,
            commit=status.commit,
            desired_state=status.desiredState or "",
            strategy=status.strategy or "",
            progress=dict(status.rollout),
            cluster=status.cluster or "",
            service_name=status.serviceName or "",
        )
    return under_way


def _reconcile_service(
    key: str,
    *,
    state: RepoState,
    tree: StatusTree,
    live: LiveService,
    plan: ServicePlan | None,
    commit: str,
    options: PassOptions,
    report: Callable[[str], None],
    journal: Journal,
    under_way: JournalEntry | None,
    blocked: str | None = None,
    claims: Claims | None = None,
) -> ServiceResult:
    if key in state.invalid:
        problems = tuple(str(p) for p in state.invalid[key])
        invalid = decide(
            None,
            ServicePlan(key, Action.INVALID, problems=problems),
            status=None,
            marker=None,
            marker_file=marker_path(key),
        )
        return ServiceResult(
            key, Outcome(invalid.result, invalid.reason), action="invalid", failed_now=True
        )

    desired = state.services[key]
    plan = plan or plan_service(desired, live)
    fingerprint = desired_state_fingerprint(desired)
    previous = tree.statuses.get(key)
    if under_way is not None and _still_wanted(under_way, desired, fingerprint):
        # a rollout the controller was running when it stopped, of what git still asks for
        phase = under_way.progress.get("phase")
        report(f"resuming the rollout of {under_way.commit[:12]} (phase {phase})")
        outcome = _roll_out(
            desired,
            plan,
            commit=under_way.commit,
            fingerprint=under_way.desired_state,
            previous=previous,
            options=options,
            report=report,
            journal=journal,
            journaled=under_way.progress,
        )
        return ServiceResult(
            key,
            outcome,
            action="resume",
            failed_now=outcome.result.is_failure,
            fingerprint=under_way.desired_state,
            digest=plan.digest,
            desired=desired,
            deployed=True,
            commit=under_way.commit,
        )
    if under_way is not None:
        paused = _finish_superseded(
            under_way, desired, previous=previous, options=options, report=report, journal=journal
        )
        if paused is not None:
            return paused
        # ECS moved while the superseded rollout finished: decide on what is live now
        known = {r.taskDefinitionArn: r.digest for r in previous.revisions} if previous else {}
        live = fetch_live([desired], known_digests=known)[key]
        plan = plan_service(desired, live, applied_state=last_applied_state(previous))
    # what the pass does is decided in the core, exactly as ``plan`` shows it
    verdict = decide(
        desired,
        plan,
        status=previous,
        marker=tree.markers.get(key),
        marker_file=marker_path(key),
        explicit=is_explicit(options.only, key),
        waiting_on=blocked,
    )
    plan = verdict.plan
    live_arn = (live.service or {}).get("taskDefinition")
    base = ServiceResult(
        key,
        Outcome(Result.SYNCED, f"in sync with git at {live_arn}", task_definition_arn=live_arn),
        action=str(plan.action),
        fingerprint=fingerprint,
        digest=plan.digest,
        desired=desired,
    )

    if verdict.decision is Decision.IN_SYNC:
        if (
            previous is not None
            and previous.result == Result.SYNCED
            and previous.desiredState == fingerprint
        ):
            # keep what the last deploy said, so that an unchanged pass rewrites nothing
            kept = replace(
                base.outcome,
                message=previous.message,
                details=previous.details or {},
                # a job has no live service: the revision it ran is the one its status records
                task_definition_arn=base.outcome.task_definition_arn or previous.taskDefinitionArn,
            )
            return replace(base, outcome=kept)
        return base
    if verdict.decision is not Decision.APPLY:
        by_marker = verdict.decision is Decision.HELD
        return replace(
            base,
            outcome=Outcome(verdict.result, verdict.reason, task_definition_arn=live_arn),
            action="held" if by_marker else base.action,
            # a held marker's status file already says all there is to say
            keep_status=by_marker and previous is not None,
        )
    changed = verdict.changed
    git_unchanged = verdict.drift
    if claims is not None:
        # a second controller on this repository keeps off a rollout another one claimed
        intent = ServiceStatus(
            service=key,
            result=Result.PROGRESSING,
            commit=commit,
            message=changed,
            updatedAt="",
            taskDefinitionArn=live_arn,
            strategy=str(desired.deploy.strategy),
            cluster=desired.cluster,
            serviceName=desired.service_name,
            desiredState=fingerprint,
            appliedState=_applied(previous),
            revisions=previous.revisions if previous else (),
        )
        held = claims.claim(intent, timeout_seconds=desired.deploy.timeout_seconds)
        if held is not None:
            report(held)
            return replace(
                base,
                outcome=Outcome(Result.PROGRESSING, held, task_definition_arn=live_arn),
                action="claimed-elsewhere",
                keep_status=True,
            )
    report(verdict.reason)
    outcome = _roll_out(
        desired,
        plan,
        commit=commit,
        fingerprint=fingerprint,
        previous=previous,
        options=options,
        report=report,
        journal=journal,
    )
    return replace(
        base,
        outcome=outcome,
        action="self-heal" if git_unchanged else str(plan.action),
        failed_now=outcome.result.is_failure,
        deployed=True,
    )


def _still_wanted(entry: JournalEntry, desired: DesiredService, fingerprint: str) -> bool:
    """Whether a journaled rollout deploys what git asks for now, where git says."""
    return entry.desired_state == fingerprint and _same_place(entry, desired)


def _same_place(entry: JournalEntry, desired: DesiredService) -> bool:
    # entries from before places were journaled name none: the service's key is all there is
    return not entry.cluster or (entry.cluster, entry.service_name) == (
        desired.cluster,
        desired.service_name,
    )


def _finish_superseded(
    entry: JournalEntry,
    desired: DesiredService,
    *,
    previous: ServiceStatus | None,
    options: PassOptions,
    report: Callable[[str], None],
    journal: Journal,
) -> ServiceResult | None:
    """End a journaled rollout of a desired state git no longer asks for, without deploying it.

    What it applied is waited on until ECS settles (and undone if it fails); nothing more is
    done for that state, and no status or marker is written for it. Returns a Progressing
    result if the controller was asked to stop meanwhile, else None: the caller then deploys
    the current desired state as usual.
    """
    key, phase = entry.key, entry.progress.get("phase")
    if not _same_place(entry, desired):
        report(
            f"the rollout of {entry.commit[:12]} was under way on {entry.cluster}/"
            f"{entry.service_name}, which git no longer names for {key}: left as it is there"
        )
        journal.forget(key)
        return None
    try:
        strategy = Strategy(entry.strategy)
    except ValueError:
        journal.forget(key)
        return None
    report(
        f"git moved on from {entry.commit[:12]} while its rollout was under way (phase {phase}): "
        "finishing it safely before deploying the current desired state"
    )
    outcome = _roll_out(
        desired,
        plan_service(desired, LiveService()),
        commit=entry.commit,
        fingerprint=entry.desired_state,
        previous=previous,
        options=options,
        report=report,
        journal=journal,
        journaled=entry.progress,
        strategy=strategy,
        superseded=True,
    )
    if outcome.result == Result.PROGRESSING:
        return ServiceResult(
            key,
            outcome,
            action="resume",
            fingerprint=entry.desired_state,
            desired=desired,
            deployed=True,
            commit=entry.commit,
        )
    report(f"the superseded rollout of {entry.commit[:12]} ended: {outcome.message}")
    return None


def _roll_out(
    desired: DesiredService,
    plan: ServicePlan,
    *,
    commit: str,
    fingerprint: str,
    previous: ServiceStatus | None,
    options: PassOptions,
    report: Callable[[str], None],
    journal: Journal,
    journaled: JsonDict | None = None,
    strategy: Strategy | None = None,
    superseded: bool = False,
) -> Outcome:
    """Run (or resume) the service's strategy, journaling every step until it ends.

    ``journaled``: the progress record of a rollout under way, resumed where it left off.
    ``superseded``: the resumed rollout is of a state git no longer asks for; it is only
    brought to a safe end (see ``Rollout.supersede``).
    """
    clients = clients_for(desired.env)
    lease = options.lease
    known = tuple((r.digest, r.taskDefinitionArn) for r in previous.revisions) if previous else ()
    ctx = RolloutContext(
        desired=desired,
        plan=plan,
        api=EcsApi(clients),
        elb=ElbApi(clients),
        commit=commit,
        known_revisions=known,
        poll_seconds=options.poll_seconds,
        report=report,
        # with leases, also set when this service's lease is lost or runs out
        stop=options.stop if lease is None else lease.stop_for(desired.key, options.stop),
        diagnose=lambda service, deployment_id, task_definition: diagnose(
            clients,
            cluster=desired.cluster,
            service=service,
            deployment_id=deployment_id,
            task_definition=task_definition,
        ),
        checkpoint=lambda p: journal.record(
            JournalEntry(
                key=desired.key,
                commit=commit,
                desired_state=fingerprint,
                strategy=str(strategy or desired.deploy.strategy),
                progress=p.to_dict(),
                cluster=desired.cluster,
                service_name=desired.service_name,
            )
        ),
    )
    rollout = rollout_for(ctx, journaled, strategy=strategy)
    if rollout is not None:
        if superseded:
            rollout.supersede()
        elif options.rollout_started is not None:
            start = RolloutStart(
                desired=desired,
                commit=commit,
                strategy=str(strategy or desired.deploy.strategy),
                phase=rollout.progress.phase,
                resumed=journaled is not None,
            )
            try:
                options.rollout_started(start)
            except Exception:  # whoever listens never stops a rollout
                log.exception("%s: telling that its rollout started", desired.key)
        # with leases, every AWS write of the rollout is refused once its lease is not valid
        with lease.acting(desired.key, clients) if lease is not None else nullcontext():
            ctx.checkpoint(rollout.progress)  # before the first change
            outcome = drive(rollout, ctx)
        if outcome.result != Result.PROGRESSING:
            journal.forget(desired.key)
        return outcome
    return Outcome(
        Result.OUT_OF_SYNC,
        f"strategy {desired.deploy.strategy} is not supported by this version of ecs-gitops",
    )


def _quiet(
    key: str,
    state: RepoState,
    plans: Mapping[str, ServicePlan],
    prerequisites: Mapping[str, Sequence[str]],
    under_way: Mapping[str, JournalEntry],
) -> bool:
    """Whether a service certainly needs no rollout this pass (and no runBefore ordering)."""
    if key in under_way or key in prerequisites:
        return False
    if any(key in firsts for firsts in prerequisites.values()):
        return False
    if key in state.invalid:
        return True
    desired = state.services[key]
    # a job's plan says nothing of whether it ran: only its status does (see decision.job_plan)
    return not describe(desired.deploy.strategy).runs_once and plans[key].action is Action.IN_SYNC


def _prerequisites(state: RepoState, keys: Sequence[str]) -> dict[str, list[str]]:
    """Selected service -> the selected services whose deploy.yaml says ``runBefore`` it."""
    return prerequisites(state, keys)


def _start_order(keys: Sequence[str], prerequisites: Mapping[str, Sequence[str]]) -> list[str]:
    """``keys`` in their order, except that each service comes after its prerequisites."""
    order: list[str] = []
    placed: set[str] = set()

    def place(key: str, path: frozenset[str]) -> None:
        if key in placed or key in path:  # load_repo already refused runBefore cycles
            return
        for first in prerequisites.get(key, ()):
            place(first, path | {key})
        placed.add(key)
        order.append(key)

    for key in keys:
        place(key, frozenset())
    return order


def _blocked_by(results: Mapping[str, ServiceResult]) -> str | None:
    """Why a service must not deploy this pass: a runBefore prerequisite did not succeed."""
    return waiting_on({k: (r.outcome.result, r.outcome.message) for k, r in results.items()})


def _prune(
    state: RepoState,
    tree: StatusTree,
    *,
    options: PassOptions,
    report: Callable[[str], None],
    running: frozenset[str] = frozenset(),
) -> list[ServiceResult]:
    """Services the controller deployed whose folder is gone from git (and whose rollout,
    if one was under way when the folder went, has ended: ``running``)."""
    results: list[ServiceResult] = []
    for key, status in sorted(tree.statuses.items()):
        if key in state.services or key in state.invalid or key in running:
            continue
        if options.lease is not None and not options.lease.holds(key):
            continue
        if (
            options.only
            and key not in (options.only.strip("/"),)
            and key.split("/")[0] != options.only.strip("/")
        ):
            continue
        env = state.environments.get(key.split("/")[0])
        if env is None or not env.sync.prune or not status.cluster:
            reason = "prune is off" if env is not None else "its environment is gone too"
            outcome = Outcome(
                Result.OUT_OF_SYNC,
                f"folder removed from git; {reason}: left alone",
                status.taskDefinitionArn,
            )
            results.append(ServiceResult(key, outcome, action="orphan"))
            continue
        refusal = environment_refusal(env, options.allow)  # a prune deletes: the same rule
        if refusal is not None:
            refused = ServiceResult(
                key, Outcome(Result.FAILED, refusal), "refused", failed_now=True
            )
            report(_summary_line(refused))
            results.append(refused)
            continue
        started = time.monotonic()
        try:
            # with leases, the deletes are fenced by the lease as a rollout's writes are
            lease = options.lease
            with lease.acting(key, clients_for(env)) if lease is not None else nullcontext():
                _delete_service(env, status)
            outcome = Outcome(Result.SYNCED, "pruned: folder removed from git, service deleted")
            result = ServiceResult(key, outcome, action="prune", deployed=True)
        except EcsGitopsError as e:
            result = ServiceResult(
                key, Outcome(Result.FAILED, f"prune failed: {e}"), action="prune", failed_now=True
            )
        result.seconds = time.monotonic() - started
        report(_summary_line(result))
        results.append(result)
    return results


def _recorded_runs(status: ServiceStatus) -> Runs:
    """How the strategy a status file records runs; a service when it records none we know."""
    try:
        return describe(Strategy(status.strategy or "")).runs
    except ValueError:
        return Runs.AS_SERVICE


def _delete_service(env: Environment, status: ServiceStatus) -> None:
    """Scale to 0 and delete a pruned folder's services with their autoscaling: its own only.

    Its own: a service whose owner tag names the folder (a canary, every blue-green
    generation), or its untagged main service when the status file shows the controller had it
    synced (a recorded revision). A main service tagged as another folder's, or untagged
    without that record, may be someone else's: the prune is refused and nothing is touched.
    Any other ``<name>Canary`` or ``<name>__<N>`` is left alone. A job leaves no service.
    """
    runs = _recorded_runs(status)
    if runs is Runs.ONCE:
        return
    api = EcsApi(clients_for(env))
    key = status.service
    cluster = status.cluster or env.cluster
    base = status.serviceName or key.split("/")[1]
    if runs is Runs.AS_SERVICE:
        main = api.describe_service(cluster=cluster, name=base)
        owner = None if main is None else owner_of(main)
        if main is not None and owner != key and (owner is not None or not status.revisions):
            unsynced = "" if owner is not None else "; its status records no deploy of it"
            raise EcsGitopsError(f"{not_owned(base, main, key=key)}{unsynced}")
        # the helpers of every strategy that runs as the service: it may have changed since
        helpers = {
            h for d in DESCRIPTIONS.values() if d.runs is Runs.AS_SERVICE for h in d.helpers(base)
        }
        candidates = [base, *sorted(helpers)]
    else:
        # generations never run under the plain name: only they are candidates
        main = None
        names = api.list_service_names(cluster=cluster)
        candidates = [n for n in names if generation(n, base) is not None]
    for name in candidates:
        live = main if name == base else api.describe_service(cluster=cluster, name=name)
        if live is None or live.get("status") != "ACTIVE":
            continue  # gone, or already draining
        if name != base and not owned_by(live, key):
            continue  # a helper's name on someone else's service
        api.remove_autoscaling(resource_id=f"service/{cluster}/{name}")
        api.update_service(cluster=cluster, name=name, fields={"desiredCount": 0})
        api.delete_service(cluster=cluster, name=name)


def _status_changes(
    results: Sequence[ServiceResult],
    *,
    tree: StatusTree,
    commits: Mapping[str, str],
    head: str,
    controller: str | None = None,
) -> dict[str, str | None]:
    """The files under .ecs-gitops/ this pass rewrites (None: delete), unchanged ones left out."""
    changes: dict[str, str | None] = {}
    at = now_rfc3339()
    for r in results:
        previous = tree.statuses.get(r.key)
        if r.keep_status:
            continue
        if r.action == "prune":
            if r.outcome.result == Result.SYNCED:
                changes[status_path(r.key)] = None
                if r.key in tree.markers:
                    changes[marker_path(r.key)] = None
            continue
        outcome = r.outcome
        desired = r.desired
        fallback = previous.commit if previous and r.action == "orphan" else head
        commit = r.commit or commits.get(r.key, fallback)
        status = ServiceStatus(
            service=r.key,
            result=outcome.result,
            commit=commit,
            message=outcome.message,
            updatedAt=at,
            taskDefinitionArn=outcome.task_definition_arn,
            strategy=str(desired.deploy.strategy)
            if desired
            else (previous.strategy if previous else None),
            cluster=desired.cluster if desired else (previous.cluster if previous else None),
            serviceName=desired.service_name
            if desired
            else (previous.serviceName if previous else None),
            desiredState=r.fingerprint or (previous.desiredState if previous else None),
            phase=str(outcome.details["phase"]) if "phase" in outcome.details else None,
            rollout=outcome.details.get("rollout"),  # type: ignore[arg-type]
            details={k: v for k, v in outcome.details.items() if k not in ("phase", "rollout")}
            or None,
            controller=controller,
            # what stays applied while live and git differ; a Synced status is its own
            appliedState=_applied(previous)
            if outcome.result in (Result.OUT_OF_SYNC, Result.UNKNOWN)
            else None,
            revisions=previous.revisions if previous else (),
        )
        if outcome.result == Result.SYNCED and r.digest and outcome.task_definition_arn:
            status = status.with_revision(r.digest, outcome.task_definition_arn)
        # a deployed service's status was claimed on the remote when its rollout started
        if r.deployed or not status.same_as(previous):
            changes[status_path(r.key)] = status.to_yaml()

        marker = tree.markers.get(r.key)
        if (
            r.deployed
            and outcome.result in (Result.ROLLED_BACK, Result.FAILED)
            and outcome.failure_reason
        ):
            changes[marker_path(r.key)] = RollbackMarker(
                failedCommit=commit,
                restoredTaskDefinitionArn=outcome.restored_task_definition_arn,
                reason=outcome.failure_reason,
                at=at,
                desiredState=r.fingerprint,
            ).to_yaml()
        elif (
            marker is not None
            and outcome.result == Result.SYNCED
            and marker.desiredState != r.fingerprint
        ):
            # the desired state moved on (a fix or a revert) and is live: the marker has done its job
            changes[marker_path(r.key)] = None
    return changes


def _summary_line(r: ServiceResult) -> str:
    return f"{r.key}: {r.outcome.result} ({r.action}, {r.seconds:.1f}s) {r.outcome.message}"


def _commit_message(results: Sequence[ServiceResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[str(r.outcome.result)] = counts.get(str(r.outcome.result), 0) + 1
    summary = ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
    lines = [f"status: {summary}", ""]
    lines += [f"{r.key}: {r.outcome.result}" for r in results if r.action not in ("in-sync",)]
    return "\n".join(lines).rstrip() + "\n"
