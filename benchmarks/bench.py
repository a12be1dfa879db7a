"""Benchmark the reconcile pass, ``plan`` and ``validate`` on a generated config repository.

Generates N services over E environments, creates them in a local-aws child process, and
measures each scenario as the median of several runs (min and max shown as the noise):

1. a no-op pass: wall time (as a ``sync`` subprocess and in-process), API calls by operation,
   peak RSS;
2. the raw minimum in the same run: DescribeServices in batches of 10 plus one
   DescribeScalableTargets and one DescribeScalingPolicies per environment, with plain boto3;
   the ratio pass / minimum;
3. ``plan`` and ``validate`` of the whole repository (subprocesses);
4. a commit touching 1 service: time from the push to the UpdateService call, API calls;
5. all of the above at a small and the full size, to show how they grow;
6. a commit touching 10 services: pass wall time against the pass touching 1;
7. ``ecs-gitops run`` with its default settings (no ``--poll-interval``) watching the bare
   repository: time from a push touching 1 service to its new ECS deployment.

Prints one table and writes the same numbers as JSON. Not part of the test suite. Does I/O
(child processes, loopback HTTP, git in a temporary folder).

    python benchmarks/bench.py                         # 100 and 1,000 services over 4 environments
    python benchmarks/bench.py --services 100 --environments 2 --runs 3   # a quick run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# one service in this many has a scalable target and a scaling policy
AUTOSCALED_EVERY = 10
POLL_SECONDS = 0.2


# ----------------------------------------------------------------------------- repository


def service_files(env: str, name: str, *, image: str, autoscaled: bool) -> dict[str, str]:
    """The manifests of one generated service (paths relative to the repository root)."""
    base = f"{env}/{name}"
    files = {
        f"{base}/deploy.yaml": f"strategy: rolling\nimage: {image}\ntimeout: 120s\n",
        f"{base}/task-definition.yaml": (
            f"family: {env}-{name}\n"
            "networkMode: awsvpc\n"
            "requiresCompatibilities: [FARGATE]\n"
            'cpu: "256"\n'
            'memory: "512"\n'
            "containerDefinitions:\n"
            f"  - name: {name}\n"
            "    image: ${image}\n"
            "    essential: true\n"
            "    portMappings:\n"
            "      - containerPort: 8080\n"
            "    environment:\n"
            "      - name: SERVICE\n"
            f"        value: {name}\n"
        ),
        f"{base}/service.yaml": (
            "launchType: FARGATE\n"
            "desiredCount: 1\n"
            "networkConfiguration:\n"
            "  awsvpcConfiguration:\n"
            '    subnets: ["${subnet}"]\n'
            '    securityGroups: ["${securityGroup}"]\n'
            "deploymentConfiguration:\n"
            "  maximumPercent: 200\n"
            "  minimumHealthyPercent: 100\n"
        ),
    }
    if autoscaled:
        files[f"{base}/scalable-target.yaml"] = "minCapacity: 1\nmaxCapacity: 3\n"
        files[f"{base}/scaling-policy.yaml"] = (
            "policyName: cpu60\n"
            "policyType: TargetTrackingScaling\n"
            "targetTrackingScalingPolicyConfiguration:\n"
            "  targetValue: 60\n"
            "  predefinedMetricSpecification:\n"
            "    predefinedMetricType: ECSServiceAverageCPUUtilization\n"
        )
    return files


def service_names(services: int, environments: int) -> list[tuple[str, str]]:
    """(environment, service) for every generated service, spread evenly."""
    return [(f"env{i % environments}", f"svc{i:04d}") for i in range(services)]


def generate(
    clone: Path, *, services: int, environments: int, subnet: str, group: str
) -> list[tuple[str, str]]:
    names = service_names(services, environments)
    for e in range(environments):
        env = f"env{e}"
        (clone / env).mkdir(parents=True, exist_ok=True)
        (clone / env / "environment.yaml").write_text(
            f"cluster: bench-{env}\nregion: us-east-1\n"
            f"variables:\n  subnet: {subnet}\n  securityGroup: {group}\n"
            "sync:\n  auto: true\n  selfHeal: false\n  prune: false\n"
        )
    for i, (env, name) in enumerate(names):
        for path, text in service_files(
            env, name, image="nginx:1.26", autoscaled=i % AUTOSCALED_EVERY == 0
        ).items():
            target = clone / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return names


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


# ----------------------------------------------------------------------------- local-aws


@contextmanager
def local_aws() -> Iterator[str]:
    """local-aws in a child process, so the controller's RSS and CPU are measured alone."""
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", "local-aws", "--port", "0",
         "--task-start-seconds", "0.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise RuntimeError(f"local-aws did not start: {line!r}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)


def aws_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def published_repository(
    tmp: Path, endpoint: str, *, services: int, environments: int
) -> tuple[dict[str, str], Path, Path, list[tuple[str, str]]]:
    """Point this process at local-aws, generate the services into a clone and push them to a
    bare remote in ``tmp``: the environment for child processes, the remote, the clone, the
    (environment, service) names."""
    import boto3

    from controller.aws.clients import forget_clients

    env = {**os.environ, **aws_environment(endpoint), "HOME": str(tmp / "home")}
    os.environ.update(aws_environment(endpoint))
    forget_clients()
    ec2 = boto3.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    remote, clone = tmp / "config.git", tmp / "clone"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(remote))
    clone.mkdir()
    git(clone, "init", "-q", "-b", "main")
    git(clone, "config", "user.name", "bench")
    git(clone, "config", "user.email", "bench@example.com")
    names = generate(
        clone, services=services, environments=environments, subnet=subnet, group=group
    )
    git(clone, "remote", "add", "origin", str(remote))
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "generated services")
    git(clone, "push", "-q", "origin", "main")
    return env, remote, clone, names


def bootstrap(clone: Path, names: Sequence[tuple[str, str]]) -> None:
    """Create every service as the controller would, without waiting for deployments.

    Registering the rendered task definitions and creating the services directly is much
    faster than N rollouts; the first ``sync`` then finds them all in sync and records them.
    """
    from concurrent.futures import ThreadPoolExecutor

    from controller.aws.clients import clients_for
    from controller.aws.ecs import EcsApi
    from controller.core.digest import task_definition_digest
    from controller.source.tree import load_path

    state = load_path(clone)
    if state.problems:
        raise RuntimeError(f"generated repository is invalid: {state.problems[:3]}")
    first = next(iter(state.services.values()))
    api = EcsApi(clients_for(first.env))
    for env in state.environments.values():
        api.ecs.create_cluster(clusterName=env.cluster)

    def create(key: str) -> None:
        desired = state.services[key]
        arn = api.register_task_definition(
            desired.task_definition, digest=task_definition_digest(desired.task_definition)
        )
        api.create_service({**(desired.service or {}), "taskDefinition": arn})
        if desired.scalable_target is not None:
            api.apply_autoscaling(target=desired.scalable_target, policies=desired.scaling_policies)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, sorted(state.services)))


# ----------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    """Several runs of one measurement: the median, and min/max as the noise."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def noise(self) -> str:
        if len(self.values) < 2:
            return ""
        return f"{min(self.values):.2f}-{max(self.values):.2f}"

    def as_json(self) -> dict[str, Any]:
        return {"median": self.median, "runs": self.values}


def run_child_rss(args: Sequence[str], *, env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``python -m controller ARGS``: (wall seconds, peak RSS in MB, output).

    The child is reaped with wait4, which is what reports its own peak RSS.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as out:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "controller", *args],
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 2),
            ],
        )
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        raise RuntimeError(f"{args[0]} failed ({code}):\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, output


def minimum_check(envs: Sequence[str], names: Sequence[tuple[str, str]]) -> Counter[str]:
    """The fewest raw boto3 calls that prove nothing changed; returns calls by operation."""
    import boto3

    ecs = boto3.client("ecs")
    autoscaling = boto3.client("application-autoscaling")
    calls: Counter[str] = Counter()
    for env in envs:
        members = sorted(name for e, name in names if e == env)
        for start in range(0, len(members), 10):
            ecs.describe_services(
                cluster=f"bench-{env}", services=members[start : start + 10], include=["TAGS"]
            )
            calls["DescribeServices"] += 1
    # autoscaling is per account and region: one paginated call for targets, one for policies
    for _ in autoscaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="ecs"
    ):
        calls["DescribeScalableTargets"] += 1
    for _ in autoscaling.get_paginator("describe_scaling_policies").paginate(
        ServiceNamespace="ecs"
    ):
        calls["DescribeScalingPolicies"] += 1
    return calls


class UpdateSeen:
    """A pass's report callback that notes when the first UpdateService went out."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            if self.at is None and "updating service" in line:
                self.at = time.perf_counter()


# ----------------------------------------------------------------------------- scenarios


@dataclass
class SizeResult:
    services: int
    environments: int
    numbers: dict[str, Sample] = field(default_factory=dict)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.numbers.setdefault(name, Sample()).values.append(value)


def measure_size(
    *, services: int, environments: int, runs: int, say: Callable[[str], None]
) -> SizeResult:
    from controller.aws import live
    from controller.aws.clients import API_CALLS
    from controller.core.layout import RenderCache, load_repo
    from controller.reconcile import PassOptions, run_pass
    from controller.source.git_repo import ConfigRepository
    from controller.source.tree import read_tree

    result = SizeResult(services, environments)
    with (
        tempfile.TemporaryDirectory(prefix="ecs-gitops-bench-") as scratch,
        local_aws() as endpoint,
    ):
        tmp = Path(scratch)
        env, remote, clone, names = published_repository(
            tmp, endpoint, services=services, environments=environments
        )
        workdir = tmp / "workdir"
        envs = sorted({e for e, _ in names})

        say(f"[{services}] creating {services} services in local-aws")
        bootstrap(clone, names)
        sync_args = ["sync", "--repo", str(remote), "--workdir", str(workdir),
                     "--poll-interval", str(POLL_SECONDS)]  # fmt: skip
        say(f"[{services}] first sync (records every service's status)")
        seconds, _, output = run_child_rss(sync_args, env=env)
        say(f"[{services}]   {seconds:.1f}s: {output.strip().splitlines()[-1]}")
        # the user's checkout gets the status files, whose recorded digests `plan` trusts
        git(clone, "pull", "-q", "--rebase", "origin", "main")

        say(f"[{services}] no-op pass, minimum, plan, validate x{runs}")
        for _ in range(runs):
            seconds, rss, _ = run_child_rss(sync_args, env=env)
            result.add("noop_pass_subprocess_s", seconds)
            result.add("noop_pass_rss_mb", rss)

            repo = ConfigRepository(url=str(remote), workdir=workdir)
            live.TASK_DEFINITIONS.clear()
            API_CALLS.reset()
            started = time.perf_counter()
            run_pass(repo, PassOptions(poll_seconds=POLL_SECONDS, report=lambda _: None))
            result.add("noop_pass_s", time.perf_counter() - started)
            result.calls["noop_pass"] = API_CALLS.by_operation()

            started = time.perf_counter()
            calls = minimum_check(envs, names)
            result.add("minimum_s", time.perf_counter() - started)
            result.calls["minimum"] = dict(calls)

            seconds, rss, _ = run_child_rss(["plan", str(clone)], env=env)
            result.add("plan_s", seconds)
            result.add("plan_rss_mb", rss)
            seconds, rss, _ = run_child_rss(["validate", str(clone)], env=env)
            result.add("validate_s", seconds)
        result.numbers["noop_ratio"] = Sample(
            [p / m for p, m in zip(result.numbers["noop_pass_s"].values,
                                   result.numbers["minimum_s"].values, strict=True)]
        )  # fmt: skip

        for touched in (1, 10):
            say(f"[{services}] commits touching {touched} service(s) x{runs}")
            for run in range(runs):
                chosen = (
                    names[run * 10 : run * 10 + touched] if touched > 1 else [names[run * 10 + 1]]
                )
                for e, name in chosen:
                    path = clone / e / name / "deploy.yaml"
                    path.write_text(
                        re.sub(
                            r"image: \S+", f"image: nginx:1.{27 + run}-{touched}", path.read_text()
                        )
                    )
                git(clone, "commit", "-q", "-am", f"bump {touched} service(s)")
                # the controller's status commits land on main too
                git(clone, "pull", "-q", "--rebase", "origin", "main")
                repo = ConfigRepository(url=str(remote), workdir=workdir)
                since = repo.pull()  # the commit the watcher last saw
                # as in `run`: the previous pass rendered this commit, and its cache is warm
                cache = RenderCache()
                load_repo(read_tree(repo.path), cache=cache)
                git(clone, "push", "-q", "origin", "main")
                seen = UpdateSeen()
                API_CALLS.reset()
                pushed = time.perf_counter()
                report = run_pass(
                    repo,
                    PassOptions(
                        poll_seconds=POLL_SECONDS,
                        report=seen,
                        since=since,
                        touched_only=True,
                        render_cache=cache,
                    ),
                )
                ended = time.perf_counter()
                if report.exit_code != 0:
                    raise RuntimeError("\n".join(seen.lines[-20:]))
                result.add(f"commit_{touched}_pass_s", ended - pushed)
                if seen.at is not None:
                    result.add(f"commit_{touched}_to_update_s", seen.at - pushed)
                result.calls[f"commit_{touched}"] = API_CALLS.by_operation()
        say(f"[{services}] `run` with default settings: push -> new deployment x{runs}")
        for seconds in run_push_to_deployment(
            remote=remote, clone=clone, workdir=tmp / "run-workdir", names=names, runs=runs, env=env
        ):
            result.add("run_push_to_deployment_s", seconds)
        result.numbers["commit_10_vs_1"] = Sample(
            [ten / one for ten, one in zip(result.numbers["commit_10_pass_s"].values,
                                           result.numbers["commit_1_pass_s"].values, strict=True)]
        )  # fmt: skip
    return result


def run_push_to_deployment(
    *,
    remote: Path,
    clone: Path,
    workdir: Path,
    names: Sequence[tuple[str, str]],
    runs: int,
    env: dict[str, str],
) -> list[float]:
    """``run`` as a user starts it (default poll interval, watching the local repository):
    seconds from each push to the pushed image's deployment in ECS."""
    import boto3

    ecs = boto3.client("ecs")
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", "run", "--repo", str(remote),
         "--workdir", str(workdir), "--listen", "127.0.0.1:0", "--interval", "3600s"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    seconds: list[float] = []
    images: dict[str, str] = {}
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "finished in" in line:  # the first pass: every service checked
                break
        else:
            raise RuntimeError("`run` exited before its first pass")
        threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
        for run in range(runs):
            e, name = names[run * 7 + 3]
            image = f"nginx:1.{40 + run}"
            path = clone / e / name / "deploy.yaml"
            path.write_text(re.sub(r"image: \S+", f"image: {image}", path.read_text()))
            git(clone, "commit", "-q", "-am", f"bump {e}/{name}")
            git(clone, "pull", "-q", "--rebase", "origin", "main")
            git(clone, "push", "-q", "origin", "main")
            pushed = time.perf_counter()
            deadline = pushed + 60
            while time.perf_counter() < deadline:
                found = ecs.describe_services(cluster=f"bench-{e}", services=[name])["services"]
                primary = [d for d in found[0]["deployments"] if d["status"] == "PRIMARY"]
                if primary and image_in(ecs, primary[0]["taskDefinition"], images) == image:
                    seconds.append(time.perf_counter() - pushed)
                    break
                time.sleep(0.02)
            else:
                raise RuntimeError(f"{e}/{name}: {image} never reached ECS")
    finally:
        process.terminate()
        process.wait(timeout=60)
    return seconds


def image_in(ecs: Any, task_definition: str, known: dict[str, str]) -> str:
    """The first container's image of a revision (revisions never change: asked once)."""
    if task_definition not in known:
        found = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        known[task_definition] = str(found["containerDefinitions"][0]["image"])
    return known[task_definition]


# ----------------------------------------------------------------------------- output

ROWS = [
    ("noop_pass_s", "no-op pass, in-process (s)"),
    ("noop_pass_subprocess_s", "no-op pass, `sync` process (s)"),
    ("minimum_s", "raw minimum (s)"),
    ("noop_ratio", "no-op pass / minimum"),
    ("noop_pass_rss_mb", "`sync` peak RSS (MB)"),
    ("plan_s", "`plan` (s)"),
    ("plan_rss_mb", "`plan` peak RSS (MB)"),
    ("validate_s", "`validate` (s)"),
    ("commit_1_to_update_s", "1-service commit: push -> UpdateService (s)"),
    ("commit_1_pass_s", "1-service commit: pass (s)"),
    ("commit_10_pass_s", "10-service commit: pass (s)"),
    ("commit_10_vs_1", "10-service pass / 1-service pass"),
    ("run_push_to_deployment_s", "`run`, default settings: push -> new deployment (s)"),
]
CALL_ROWS = [
    ("noop_pass", "no-op pass API calls"),
    ("minimum", "raw minimum API calls"),
    ("commit_1", "1-service commit API calls"),
    ("commit_10", "10-service commit API calls"),
]


def show_calls(calls: dict[str, int]) -> str:
    total = sum(calls.values())
    parts = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    return f"{total} ({parts})"


def table(
    results: Sequence[SizeResult],
    *,
    columns: Sequence[str] | None = None,
    rows: Sequence[tuple[str, str]] = (),
    call_rows: Sequence[tuple[str, str]] = (),
) -> str:
    """The results as a markdown table: one column per result (``columns`` names them; by
    default N and E), a row per measure (median, min-max) and per count of API calls."""
    names = columns or [f"N={r.services}, E={r.environments}" for r in results]
    lines = ["| measure | " + " | ".join(names) + " |", "|---|" + "---|" * len(results)]
    for key, label in rows or ROWS:
        cells = []
        for r in results:
            sample = r.numbers.get(key)
            if sample is None or not sample.values:
                cells.append("-")
                continue
            noise = sample.noise()
            cells.append(f"{sample.median:.2f}" + (f" ({noise})" if noise else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for key, label in call_rows or CALL_ROWS:
        lines.append(
            f"| {label} | " + " | ".join(show_calls(r.calls.get(key, {})) for r in results) + " |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--services", type=int, default=1000, help="services at full size (default 1000)"
    )
    parser.add_argument("--environments", type=int, default=4, help="environments (default 4)")
    parser.add_argument("--small", type=int, default=100,
                        help="also measure this many services, to show growth (default 100; 0: skip)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json",
                        help="where to write the numbers (default benchmarks/results.json)")  # fmt: skip
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    sizes = sorted({n for n in (args.small, args.services) if n > 0})
    results = [
        measure_size(services=n, environments=args.environments, runs=args.runs, say=say)
        for n in sizes
    ]
    print(table(results))
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    document = {
        "commit": commit,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
        },
        "sizes": [
            {
                "services": r.services,
                "environments": r.environments,
                "numbers": {k: v.as_json() for k, v in r.numbers.items()},
                "calls": r.calls,
            }
            for r in results
        ],
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    say(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
