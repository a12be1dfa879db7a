"""Benchmark a no-op pass with 1, 2 and 4 controllers sharing one repository through leases.

Generates N services over E environments (``bench.py``'s generator), creates them in a
local-aws child process, records their status with one ``sync``, then for each number of
controllers: as many lease keepers on one DynamoDB table (local-aws's), their rounds run until
the environments are shared out, and a no-op pass of each controller (its own working clone,
``run_pass`` with its lease), measured as the median of several runs. Prints the existing
table format: per-controller pass time (the slowest controller's, since passes run side by
side) and API calls in total over all controllers' passes (which should not grow with the
number of controllers), plus the DynamoDB calls of one lease round per controller.

Not part of the test suite. Does I/O (child processes, loopback HTTP, git in a temporary
folder).

    python benchmarks/leases.py                                  # 4,000 services, 40 environments
    python benchmarks/leases.py --services 400 --environments 40 --runs 2   # a quick run

One service in ten has a scalable target and a scaling policy (``--autoscaled-every``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402  (the benchmark's own folder, put on the path just above)
from bench import (  # noqa: E402
    POLL_SECONDS,
    SizeResult,
    bootstrap,
    local_aws,
    published_repository,
)

CONTROLLERS = (1, 2, 4)
TABLE = "bench-leases"
LEASE_SECONDS = 300.0  # long: nothing expires while a pass is measured


def measure(
    *, services: int, environments: int, runs: int, say: Callable[[str], None]
) -> list[SizeResult]:
    from controller.aws import live
    from controller.aws.clients import API_CALLS
    from controller.reconcile import PassOptions, run_pass
    from controller.service.leases import LeaseKeeper, LeaseTable
    from controller.source.git_repo import ConfigRepository

    results: list[SizeResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="ecs-gitops-bench-leases-") as scratch,
        local_aws() as endpoint,
    ):
        tmp = Path(scratch)
        env, remote, clone, names = published_repository(
            tmp, endpoint, services=services, environments=environments
        )
        say(f"creating {services} services over {environments} environments in local-aws")
        bootstrap(clone, names)
        say("first sync (records every service's status)")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "controller", "sync", "--repo", str(remote),
             "--workdir", str(tmp / "sync-workdir"), "--poll-interval", str(POLL_SECONDS)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            lines = (done.stdout + done.stderr).splitlines()
            failed = [line for line in lines if ": Synced" not in line][:40]
            raise RuntimeError(f"the first sync failed ({done.returncode}):\n" + "\n".join(failed))
        say(f"  {time.perf_counter() - started:.1f}s")

        for count in CONTROLLERS:
            table = f"{TABLE}-{count}"
            keepers = [
                LeaseKeeper(
                    table=LeaseTable(table, lease_seconds=LEASE_SECONDS),
                    lease_seconds=LEASE_SECONDS,
                    me=f"controller-{i}",
                )
                for i in range(count)
            ]
            keepers[0].table.ensure()
            repos = [
                ConfigRepository(url=str(remote), workdir=tmp / f"workdir-{count}-{i}")
                for i in range(count)
            ]
            # the first pass of each clones and offers the units; rounds then share them out
            for keeper, repo in zip(keepers, repos, strict=True):
                run_pass(repo, PassOptions(report=lambda _: None, lease=keeper))
            for _ in range(3):
                for keeper in keepers:
                    keeper.round()
            held = [len(k.held()) for k in keepers]
            say(f"{count} controller(s): environments held {held}")
            API_CALLS.reset()
            keepers[0].round()
            round_calls = API_CALLS.by_operation()

            result = SizeResult(services, environments)
            result.calls["lease_round"] = round_calls
            for _ in range(runs):
                total: Counter[str] = Counter()
                slowest = 0.0
                for keeper, repo in zip(keepers, repos, strict=True):
                    live.TASK_DEFINITIONS.clear()
                    API_CALLS.reset()
                    started = time.perf_counter()
                    run_pass(
                        repo,
                        PassOptions(poll_seconds=POLL_SECONDS, report=lambda _: None, lease=keeper),
                    )
                    seconds = time.perf_counter() - started
                    result.add("pass_per_controller_s", seconds)
                    slowest = max(slowest, seconds)
                    total.update(API_CALLS.by_operation())
                result.add("slowest_controller_s", slowest)
                result.calls["noop_pass_total"] = dict(total)
            for keeper in keepers:
                keeper.close()
            results.append(result)
    return results


ROWS = [
    ("pass_per_controller_s", "no-op pass per controller, in-process (s)"),
    ("slowest_controller_s", "slowest controller's no-op pass (s)"),
]
CALL_ROWS = [
    ("noop_pass_total", "no-op pass API calls, all controllers together"),
    ("lease_round", "lease round API calls (one controller, every lease-seconds/3)"),
]


def table(results: Sequence[SizeResult], counts: Sequence[int]) -> str:
    columns = [
        f"{c} controller(s), N={r.services}, E={r.environments}"
        for c, r in zip(counts, results, strict=True)
    ]
    return bench.table(results, columns=columns, rows=ROWS, call_rows=CALL_ROWS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=4000, help="services (default 4000)")
    parser.add_argument("--environments", type=int, default=40, help="environments (default 40)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument(
        "--autoscaled-every",
        type=int,
        default=bench.AUTOSCALED_EVERY,
        help=f"one service in this many has a scalable target and a scaling policy "
        f"(default {bench.AUTOSCALED_EVERY})",
    )
    args = parser.parse_args(argv)
    bench.AUTOSCALED_EVERY = args.autoscaled_every

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = measure(
        services=args.services, environments=args.environments, runs=args.runs, say=say
    )
    print(table(results, CONTROLLERS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
