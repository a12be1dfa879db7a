"""The ``ecs-gitops`` command line: argument parsing and dispatch to ``controller.commands``.

Expected failures (bad input, AWS or git errors) end with a one-line message and an exit
code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from controller import __version__
from controller.commands.pipe import EXIT_READER_GONE, detach_stdout
from controller.core.limits import ECS_NAME_RULE, is_ecs_name
from controller.core.pinning import ACCOUNT_ID
from controller.errors import EcsGitopsError

DESCRIPTION = """\
GitOps for Amazon ECS: a git repository laid out by environment and service is the
source of truth, and ecs-gitops makes live ECS match it.

AWS is reached through the standard configuration (credential chain, AWS_REGION,
AWS_ENDPOINT_URL), so `AWS_ENDPOINT_URL=http://127.0.0.1:4566` points every command
at `ecs-gitops local-aws`.
"""


def _only(text: str) -> str:
    """``--only``: ENV or ENV/SERVICE, each a folder name as the layout allows them."""
    parts = text.removesuffix("/").split("/")
    if len(parts) > 2 or not all(is_ecs_name(part) for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected ENV or ENV/SERVICE, folder names of {ECS_NAME_RULE}; got {text!r}"
        )
    return "/".join(parts)


def _add_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        type=_only,
        metavar="ENV[/SERVICE]",
        help="limit to one environment, or to one service of an environment",
    )


def _add_repo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        required=True,
        metavar="GIT_URL",
        help="the config repository: anything git can clone (path, file://, ssh, https)",
    )
    parser.add_argument(
        "--branch", default="main", help="branch holding the desired state (default: main)"
    )
    parser.add_argument(
        "--status-branch",
        metavar="BRANCH",
        help="branch that receives status and rollback markers (default: the tracked branch)",
    )
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        help="where the working clone is kept (default: under the user's cache directory)",
    )
    parser.add_argument(
        "--author",
        default="ecs-gitops",
        metavar="NAME[ <EMAIL>]",
        help="author of the status commits (default: ecs-gitops)",
    )
    _add_only(parser)


def _seconds(text: str) -> float:
    """A duration flag: ``5``, ``0.5``, ``90s``, ``10m``."""
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:])
    try:
        seconds = float(text[:-1]) * scale if scale else float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 5, 0.5, 90s, 10m)") from e
    if not seconds > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"a duration must be more than 0, got {text!r}")
    return seconds


def _count(text: str) -> int:
    """A count flag (``--parallel``): a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from e
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_pass_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--poll-interval",
        type=_seconds,
        default=5.0,
        metavar="DURATION",
        help="how often a rollout observes ECS while it waits (default 5s)",
    )
    parser.add_argument(
        "--parallel",
        type=_count,
        default=10,
        metavar="N",
        help="how many services of one environment roll out at the same time (default 10)",
    )
    _add_allow_lists(parser)


def _accounts(text: str) -> list[str]:
    """``--allowed-accounts``: comma-separated 12-digit AWS account ids."""
    accounts = [part.strip() for part in text.split(",") if part.strip()]
    wrong = [a for a in accounts if not ACCOUNT_ID.match(a)]
    if wrong or not accounts:
        raise argparse.ArgumentTypeError(
            f"expected 12-digit AWS account ids separated by commas, got {text!r}"
        )
    return accounts


def _clusters(text: str) -> list[str]:
    """``--allowed-clusters``: comma-separated cluster names or ARNs (shell-style globs)."""
    clusters = [part.strip() for part in text.split(",") if part.strip()]
    if not clusters:
        raise argparse.ArgumentTypeError(f"expected cluster names or ARNs, got {text!r}")
    return clusters


def _add_allow_lists(parser: argparse.ArgumentParser) -> None:
    # flags, not files: a commit to the config repository cannot widen them
    parser.add_argument(
        "--allowed-accounts",
        type=_accounts,
        action="extend",
        default=[],
        metavar="ID[,ID...]",
        help="AWS accounts the controller may deploy to (repeatable); an environment whose "
        "credentials (after its roleArn) or cluster ARN are in another account is refused",
    )
    parser.add_argument(
        "--allowed-clusters",
        type=_clusters,
        action="extend",
        default=[],
        metavar="CLUSTER[,CLUSTER...]",
        help="ECS clusters the controller may deploy to, by name or ARN; shell-style globs "
        "such as 'staging-*' (repeatable); an environment on any other cluster is refused",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecs-gitops",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ecs-gitops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "validate",
        help="check a config repository; print every problem as FILE:LINE: message",
        description="Check the whole config repository at PATH. Prints every problem as "
        "FILE:LINE: message (FILE relative to PATH). Exit 0 when clean, 1 otherwise.",
    )
    p.add_argument("path", metavar="PATH", help="root of a config repository checkout")
    p.set_defaults(module="validate")

    p = sub.add_parser(
        "render",
        help="print the AWS requests one service renders to, as JSON",
        description="Print one JSON document with taskDefinition, service and, where present, "
        "scalableTarget, scalingPolicies and runTask: exactly the requests the controller would send.",
    )
    p.add_argument("path", metavar="PATH", help="root of a config repository checkout")
    p.add_argument("service", metavar="ENV/SERVICE", help="the service to render")
    p.set_defaults(module="render")

    p = sub.add_parser(
        "approve",
        help="continue (or --reject) a strategy ecs deployment ECS holds at a PAUSE hook",
        description="Find ENV/SERVICE's cluster and service in the checkout, the service "
        "deployment ECS runs for it and its PAUSE lifecycle hook awaiting action, and answer it "
        "(ContinueServiceDeployment). Exit 0 when answered, 1 when nothing awaits approval.",
    )
    p.add_argument("service", metavar="ENV/SERVICE", help="the service whose deployment to answer")
    p.add_argument(
        "--path", default=".", metavar="CHECKOUT", help="the config repository (default: .)"
    )
    p.add_argument(
        "--reject", action="store_true", help="roll the deployment back instead of continuing it"
    )
    p.set_defaults(module="approve")

    p = sub.add_parser(
        "import",
        help="adopt running ECS services: write their service folders from live ECS",
        description="Write PATH/ENV/SERVICE/ for each service, from what ECS runs in ENV's "
        "cluster (region and role from ENV/environment.yaml): task-definition.yaml, "
        "service.yaml, scalable-target.yaml and scaling-policy.yaml when the service has them, "
        "and deploy.yaml (strategy rolling, or ecs for ECS's own BLUE_GREEN, LINEAR and CANARY; "
        "the first essential container's image as `image`, ${image} in its place). Read-only "
        "fields and the values ECS filled in by default are left out, secrets stay valueFrom "
        "references. Right after an import, validate is clean, plan shows the services in sync "
        "and sync adopts them without registering or updating anything. "
        "Each imported service is tagged ecs-gitops.owner=ENV/SERVICE (TagResource), which makes "
        "it the controller's to update and, with sync.prune, to delete when its folder goes. "
        "With --all, the services the controller made beside another folder (tagged "
        "ecs-gitops.owner as another folder's, or a strategy's helper of a listed service: "
        "webCanary beside web, a blue-green generation web__3) are skipped, one line each. "
        "Exit 0 when every service was imported or skipped, 1 when any was refused (one line "
        "each: a folder that exists, a service not found, another folder's, one the manifests "
        "cannot express), 2 on a usage error.",
    )
    p.add_argument("path", metavar="PATH", help="root of the config repository checkout")
    p.add_argument(
        "--env", required=True, metavar="ENV", help="the environment folder to import into"
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--service",
        action="append",
        metavar="NAME",
        help="an ECS service of ENV's cluster to import (repeat for more)",
    )
    which.add_argument("--all", action="store_true", help="import every service of ENV's cluster")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the manifests of service folders that already exist (other files stay)",
    )
    p.add_argument(
        "--no-tag",
        action="store_true",
        help="do not tag the services with ecs-gitops.owner (no write to AWS)",
    )
    p.set_defaults(module="import_")

    p = sub.add_parser(
        "promote",
        help="write the image FROM_ENV/SERVICE runs live into TO_ENV/SERVICE/deploy.yaml",
        description="Read the image FROM_ENV/SERVICE runs live (the container deploy.yaml's "
        "image stands for; for blue-green, in the generation behind the prod listener) and "
        "write it into TO_ENV/SERVICE/deploy.yaml, changing only its image: line (comments "
        "and everything else stay byte for byte), then print the diff; "
        "commit it and open a pull request as usual. With --by-digest the image is written as "
        "repo@sha256:... from the running tasks' imageDigest. Refused (exit 1, one line) when "
        "the image is not running healthily in FROM_ENV: the service's primary deployment is "
        "not COMPLETED, another deployment is under way, fewer tasks run than desired, or the "
        "running tasks disagree on the digest; and for a run-task job, which runs no service. "
        "Exit 2 on a usage error.",
    )
    p.add_argument(
        "source", metavar="FROM_ENV/SERVICE", help="the service whose live image to copy"
    )
    p.add_argument("target", metavar="TO_ENV", help="the environment to write it into")
    p.add_argument(
        "--path", default=".", metavar="CHECKOUT", help="the config repository (default: .)"
    )
    p.add_argument(
        "--by-digest",
        action="store_true",
        help="write repo@sha256:... (the running tasks' image digest) instead of the tag",
    )
    p.set_defaults(module="promote")

    p = sub.add_parser(
        "plan",
        help="show, field by field, what the repository would change in live ECS",
        description="Render every service and compare it with live AWS. With --changed-since "
        "REF, the review of a pull request: only the services the change touches, compared "
        "with live AWS or (--offline) with their desired state at REF. Exit 0 when everything "
        "is in sync, 2 when anything would change, 1 on error.",
    )
    p.add_argument("path", metavar="PATH", help="root of a config repository checkout")
    _add_only(p)
    _add_allow_lists(p)
    p.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text for a terminal, markdown for a pull-request comment, json for scripts",
    )
    p.add_argument(
        "--changed-since",
        metavar="REF",
        help="review a change: only the services whose rendered desired state differs between "
        "git revision REF (e.g. the pull request's base, origin/main) and the checkout, plus "
        "those removed since REF (with what prune would do); live drift the change does not "
        "cause is shown in a section of its own",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="with --changed-since: compare with the desired state rendered at REF instead of "
        "live ECS; no AWS call, no credentials needed",
    )
    p.set_defaults(module="plan")

    p = sub.add_parser(
        "status",
        help="every service at a glance: result, phase, commit, image, age; what needs attention first",
        description="One row per service of the config repository: environment, service, result, "
        "phase, config commit, image tag, age of the last change and message, from the status "
        "files under .ecs-gitops/status/ (of the checkout at PATH, or of the status branch of "
        "--repo, cloned into a temporary folder). Failed, RolledBack, Invalid, Unknown, paused "
        "and Progressing, OutOfSync come first, then services without a status file (NoStatus), "
        "then Synced. Invalid services show their first validate error. --live adds ECS's "
        "running/desired counts and the deployment in flight (read-only calls); with --lease-table "
        "NAME, the controller holding each service's lease (HOLDER). Colours only on a "
        "terminal, never with NO_COLOR set. Exit 0, 1 when any service is Failed, RolledBack or "
        "Invalid, 2 when the status cannot be shown (usage, unreachable repository or lease "
        "table).",
    )
    p.add_argument("path", nargs="?", metavar="PATH", help="root of a config repository checkout")
    p.add_argument(
        "--repo",
        metavar="GIT_URL",
        help="read the repository from a remote instead (anything git can clone)",
    )
    p.add_argument("--branch", help="with --repo: branch holding the desired state (default main)")
    p.add_argument(
        "--status-branch",
        metavar="BRANCH",
        help="with --repo: branch holding the status files (default: the tracked branch)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="also ask ECS for running/desired counts and the deployment in flight",
    )
    p.add_argument(
        "--lease-table",
        metavar="NAME",
        help="with --live: also show which controller holds each service's lease (holder, "
        "token, expiry) in the DynamoDB table of run --lease-table NAME (read only)",
    )
    p.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text for a terminal, markdown for a comment, json for scripts",
    )
    _add_only(p)
    p.set_defaults(module="status")

    p = sub.add_parser(
        "sync",
        help="one reconcile pass: pull the repository, deploy what changed, commit status back",
        description="One pass over every service (or the --only selection): render, diff against "
        "live ECS, roll out what changed with each service's strategy, roll back what failed, and "
        "commit status and rollback markers under .ecs-gitops/. Exit 0 when every service is "
        "fine, 1 when in this pass a service failed, was rolled back, is invalid, was refused "
        "(--allowed-accounts, --allowed-clusters) or could not be checked (Unknown: its "
        "environment's live state could not be read).",
    )
    _add_repo_options(p)
    _add_pass_options(p)
    p.set_defaults(module="sync")

    p = sub.add_parser(
        "run",
        help="the controller as a service: passes on an interval and on push, HTTP, metrics",
        description="Run reconcile passes until SIGTERM: every --interval (with jitter), within "
        "a second of a new commit (a local repository is watched; others can POST a GitHub or "
        "GitLab push webhook), never two at once. Serves GET / (the status page: the status "
        "table of every service, refreshed live), /api/status (its JSON), /healthz, /readyz, "
        "/metrics and POST /webhook on --listen. On SIGTERM, rollouts under way pause at a "
        "safe point, their status is committed as Progressing (the next start resumes them) "
        "and it exits 0.",
    )
    _add_repo_options(p)
    _add_pass_options(p)
    p.add_argument(
        "--interval",
        type=_seconds,
        default=60.0,
        metavar="DURATION",
        help="time between two passes when nothing is pushed (default 60s)",
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="address of the HTTP endpoints (default 127.0.0.1:8080; port 0 picks one)",
    )
    p.add_argument(
        "--webhook-secret-file",
        metavar="FILE",
        help="file holding the webhook secret (default: $ECS_GITOPS_WEBHOOK_SECRET); "
        "without a secret POST /webhook is off",
    )
    p.add_argument(
        "--no-watch",
        dest="watch",
        action="store_false",
        help="do not watch a repository on local disk for new commits (interval and webhook only)",
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="one line per event: text for people, json for log shippers, each line with "
        "event, and where they apply env, service, commit, result, phase, strategy and "
        "durationSeconds (default text)",
    )
    p.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="post every rollout event (rolled-back, failed, synced, drift, paused) to URL as "
        "one JSON message, in Slack's format for a Slack incoming webhook (repeatable; "
        "environment.yaml notify: adds URLs per environment). Delivery is retried and never "
        "holds a rollout up",
    )
    p.add_argument(
        "--github-token-file",
        metavar="FILE",
        help="file holding a GitHub token: each rollout sets the commit status "
        "ecs-gitops/ENV/SERVICE on its config commit (pending, success, failure) when the "
        "repository is on GitHub",
    )
    p.add_argument(
        "--github-api-url",
        default="https://api.github.com",
        metavar="URL",
        help="GitHub's API, for GitHub Enterprise (default https://api.github.com)",
    )
    p.add_argument(
        "--github-repository",
        metavar="ORG/REPO",
        help="the GitHub repository of the commit statuses (default: read from --repo)",
    )
    p.add_argument(
        "--grace-period",
        type=_seconds,
        default=25.0,
        metavar="DURATION",
        help="on SIGTERM, how long the pass under way may take to commit its status "
        "(default 25s, within ECS's default 30s stop timeout)",
    )
    p.add_argument(
        "--lease-table",
        metavar="NAME",
        help="share the repository's environments with other run processes through leases in "
        "this DynamoDB table (created on demand); each environment is deployed by one at a "
        "time (default: no leases, this controller deploys everything)",
    )
    p.add_argument(
        "--lease-seconds",
        type=_seconds,
        default=30.0,
        metavar="DURATION",
        help="with --lease-table: how long a lease lasts unless renewed (every third of it); "
        "another controller takes over a stopped one's environments after this (default 30s)",
    )
    p.add_argument(
        "--shard-by",
        choices=("environment", "service"),
        default="environment",
        help="with --lease-table: what one lease covers (default environment; service for "
        "very large environments)",
    )
    p.set_defaults(module="run")

    p = sub.add_parser(
        "local-aws",
        help="serve an embedded AWS (moto) in which ECS deployments really roll out",
        description="Serve every moto service on one port, with a simulation of the ECS "
        "deployment lifecycle: tasks start, deployments complete, fail and roll back. Prints the "
        "endpoint URL once it answers; stops on Ctrl-C or SIGTERM.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=4566,
        help="port to listen on (default 4566; 0 picks a free one)",
    )
    p.add_argument(
        "--fail-image",
        action="append",
        default=[],
        metavar="GLOB",
        help="tasks of images matching GLOB start, then exit 1 (repeatable), e.g. '*:broken'",
    )
    p.add_argument(
        "--pull-fail-image",
        action="append",
        default=[],
        metavar="GLOB",
        help="tasks of images matching GLOB never start: CannotPullContainerError (repeatable)",
    )
    p.add_argument(
        "--stuck-image",
        action="append",
        default=[],
        metavar="GLOB",
        help="tasks of images matching GLOB stay PENDING forever (repeatable)",
    )
    p.add_argument(
        "--task-start-seconds",
        type=float,
        default=1.0,
        metavar="S",
        help="time a task takes from PENDING to RUNNING, and a job from RUNNING to STOPPED (default 1)",
    )
    p.add_argument(
        "--fail-hook",
        action="append",
        default=[],
        metavar="GLOB",
        help="AWS_LAMBDA lifecycle hooks whose ARN matches GLOB answer FAILED (repeatable)",
    )
    p.add_argument(
        "--minute-seconds",
        type=float,
        default=60.0,
        metavar="S",
        help="real seconds one simulated minute of bake time lasts (default 60)",
    )
    p.set_defaults(module="local_aws")

    p = sub.add_parser(
        "demo",
        help="run the end-to-end demo on an embedded local AWS (no AWS account needed)",
        description="Start local-aws in-process, turn examples/ into a git repository, and show "
        "push to deploy, a failed deploy rolled back, and revert to roll back.",
    )
    p.set_defaults(module="demo")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ecs-gitops`` console script."""
    args = build_parser().parse_args(argv)
    try:
        command = importlib.import_module(f"controller.commands.{args.module}")
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] != "moto":
            raise
        # a production install (the Docker image) leaves the embedded AWS out
        print(
            f"ecs-gitops {args.command}: needs the embedded AWS, which is not installed: "
            "pip install 'ecs-gitops[local-aws]'",
            file=sys.stderr,
        )
        return 1
    try:
        code: int = command.run(args)
        sys.stdout.flush()  # a reader gone away shows here when the output fit in the buffer
    except BrokenPipeError:
        # stdout's reader went away (| head): end quietly, as a SIGPIPE would
        detach_stdout()
        return EXIT_READER_GONE
    except EcsGitopsError as e:
        print(f"ecs-gitops {args.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ecs-gitops {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
