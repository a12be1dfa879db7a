"""The end-to-end demo: git push to deploy, a bad deploy rolled back, revert to roll back,
and ECS's own blue/green waiting for approval.

Runs everything on this machine with no AWS account: local-aws in-process, examples/ as a
bare git repository, the controller's reconcile pass, and a user's clone that pushes
changes and runs ``ecs-gitops approve``. Does I/O (local server, git, subprocesses,
terminal). Exits non-zero if any step did not turn out as shown.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import yaml

from controller.core.outcome import Result
from controller.errors import EcsGitopsError
from controller.localaws import LocalAws, SimulationOptions
from controller.reconcile import PassOptions, PassReport, run_pass
from controller.source.git_repo import ConfigRepository

REGION = "us-east-1"
WEB = "staging/web"
CATALOG = "staging/catalog"
# One simulated minute (catalog's bake time, its hook's timeout) lasts this many real seconds:
# the 5-minute bake takes half a second, the day-long approval timeout over two minutes.
MINUTE_SECONDS = 0.1
# examples/staging/catalog/service.yaml's placeholders, by the part they name
CATALOG_PLACEHOLDERS = {
    "blue": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/catalog-blue/0000000000000001",
    "green": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/catalog-green/0000000000000002",
    "production": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/catalog/0000000000000001/0000000000000001/0000000000000001",
    "test": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/catalog/0000000000000001/0000000000000002/0000000000000002",
}


class DemoFailed(EcsGitopsError):
    """A demo step did not turn out as the demo says it should."""


def examples_dir() -> Path:
    """examples/ next to the package (a source checkout, where `make demo` runs)."""
    here = Path(__file__).resolve().parent.parent / "examples"
    if not here.is_dir():
        raise DemoFailed("examples/ not found: run the demo from a source checkout (make demo)")
    return here


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise DemoFailed(f"git {' '.join(args)}: {(done.stderr or done.stdout).strip()}")
    return done.stdout.strip()


def _title(text: str) -> None:
    print(f"\n=== {text}", flush=True)


@contextmanager
def _local_aws() -> Iterator[LocalAws]:
    options = SimulationOptions(
        fail_images=("*:broken",),
        stuck_images=(),
        task_start_seconds=0.5,
        minute_seconds=MINUTE_SECONDS,
    )
    with LocalAws(host="127.0.0.1", port=0, options=options) as aws:
        saved = {
            k: os.environ.get(k)
            for k in (
                "AWS_ENDPOINT_URL",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_DEFAULT_REGION",
            )
        }
        os.environ.update(
            AWS_ENDPOINT_URL=aws.endpoint_url,
            AWS_ACCESS_KEY_ID="demo",
            AWS_SECRET_ACCESS_KEY="demo",
            AWS_DEFAULT_REGION=REGION,
        )
        try:
            yield aws
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _prepare_aws() -> tuple[str, str]:
    """Create the clusters the examples name, and return a subnet and security group to use."""
    ecs = boto3.client("ecs", region_name=REGION)
    for name in ("staging", "production"):
        ecs.create_cluster(clusterName=name)
    ec2 = boto3.client("ec2", region_name=REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    return subnet, group


def _prepare_load_balancer(subnet: str) -> tuple[str, str]:
    """An ALB with two target groups and its prod (80) and stage (8080) listeners, for blue-green.

    Returns the (prod, stage) listener ARNs.
    """
    ec2, elbv2 = boto3.client("ec2", region_name=REGION), boto3.client("elbv2", region_name=REGION)
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    alb = elbv2.create_load_balancer(
        Name="checkout", Subnets=[s["SubnetId"] for s in subnets[:2]], Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    listeners = []
    for name, port in (("checkout-1", 80), ("checkout-2", 8080)):
        group = elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        listeners.append(
            elbv2.create_listener(
                LoadBalancerArn=alb,
                Protocol="HTTP",
                Port=port,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
            )["Listeners"][0]["ListenerArn"]
        )
    return listeners[0], listeners[1]


def _prepare_blue_green(subnet: str) -> dict[str, str]:
    """What ECS's own blue/green needs for staging/catalog: an ALB, two target groups, and on
    its production (80) and test (8080) listeners a rule forwarding to both groups (all to blue).

    Returns their ARNs by the name of the placeholder each replaces (see CATALOG_PLACEHOLDERS).
    """
    ec2, elbv2 = boto3.client("ec2", region_name=REGION), boto3.client("elbv2", region_name=REGION)
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    alb = elbv2.create_load_balancer(
        Name="catalog", Subnets=[s["SubnetId"] for s in subnets[:2]], Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    arns = {
        color: elbv2.create_target_group(
            Name=f"catalog-{color}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for color in ("blue", "green")
    }
    for role, port in (("production", 80), ("test", 8080)):
        listener = elbv2.create_listener(
            LoadBalancerArn=alb,
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": arns["blue"]}],
        )["Listeners"][0]["ListenerArn"]
        arns[role] = elbv2.create_rule(
            ListenerArn=listener,
            Priority=1,
            Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": arns["blue"], "Weight": 100},
                            {"TargetGroupArn": arns["green"], "Weight": 0},
                        ]
                    },
                }
            ],
        )["Rules"][0]["RuleArn"]
    return arns


def _publish_examples(
    root: Path,
    *,
    subnet: str,
    group: str,
    listeners: tuple[str, str] | None = None,
    blue_green: dict[str, str] | None = None,
) -> tuple[Path, Path]:
    """examples/ as a bare repository (the remote) and a user's clone of it."""
    remote, clone = root / "config.git", root / "clone"
    shutil.copytree(examples_dir(), clone)
    if blue_green:
        service = clone / CATALOG / "service.yaml"
        text = service.read_text()
        for name, placeholder in CATALOG_PLACEHOLDERS.items():
            if placeholder not in text:
                raise DemoFailed(f"{CATALOG}/service.yaml no longer names {placeholder}")
            text = text.replace(placeholder, blue_green[name])
        service.write_text(text)
    prod, stage = listeners or ("", "")
    for deploy in clone.glob("*/*/deploy.yaml") if listeners else ():
        # blue-green examples name placeholder listeners: point them at the local ALB's
        text = re.sub(r"(?m)^(\s+prodListenerArn:).*$", rf"\1 {prod}", deploy.read_text())
        deploy.write_text(re.sub(r"(?m)^(\s+stageListenerArn:).*$", rf"\1 {stage}", text))
    for env_file in clone.glob("*/environment.yaml"):
        text = env_file.read_text()
        text = re.sub(r"(?m)^(\s+subnet:).*$", rf"\1 {subnet}", text)
        text = re.sub(r"(?m)^(\s+securityGroup:).*$", rf"\1 {group}", text)
        env_file.write_text(text)
    _git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(clone, "init", "-q", "-b", "main")
    _git(clone, "config", "user.name", "Demo User")
    _git(clone, "config", "user.email", "demo@example.com")
    _git(clone, "remote", "add", "origin", str(remote))
    _git(clone, "add", "-A")
    _git(clone, "commit", "-q", "-m", "Config for staging and production")
    _git(clone, "push", "-q", "origin", "main")
    return remote, clone


def _push(clone: Path, message: str, change: Callable[[], None]) -> str:
    _git(clone, "pull", "-q", "--rebase", "origin", "main")
    change()
    _git(clone, "commit", "-q", "-am", message)
    _git(clone, "push", "-q", "origin", "main")
    sha = _git(clone, "rev-parse", "HEAD")
    print(f"$ git commit -m {message!r} && git push   # {sha[:12]}", flush=True)
    return sha


def _set_image(clone: Path, key: str, image: str) -> Callable[[], None]:
    def change() -> None:
        deploy = clone / key / "deploy.yaml"
        text = re.sub(r"(?m)^image:.*$", f"image: {image}", deploy.read_text())
        deploy.write_text(text)

    return change


def _web_task_definition() -> str:
    ecs = boto3.client("ecs", region_name=REGION)
    (service,) = ecs.describe_services(cluster="staging", services=["web"])["services"]
    return str(service["taskDefinition"])


def _web_revisions() -> list[str]:
    ecs = boto3.client("ecs", region_name=REGION)
    family = _web_task_definition().rsplit("/", 1)[-1].rsplit(":", 1)[0]
    return list(ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"])


def _expect(report: PassReport, key: str, result: Result) -> None:
    for r in report.results:
        if r.key == key:
            if r.outcome.result != result:
                raise DemoFailed(
                    f"{key}: expected {result}, got {r.outcome.result}: {r.outcome.message}"
                )
            return
    raise DemoFailed(f"{key}: not reported by the pass")


def run_demo() -> int:
    """Run the whole demo; return 0 when every step turned out as shown."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ecs-gitops-demo-") as tmp, _local_aws() as aws:
        root = Path(tmp)
        _title(f"local-aws is serving ECS, ELBv2, autoscaling... at {aws.endpoint_url}")
        subnet, group = _prepare_aws()
        listeners = _prepare_load_balancer(subnet)
        traffic = _prepare_blue_green(subnet)
        remote, clone = _publish_examples(
            root, subnet=subnet, group=group, listeners=listeners, blue_green=traffic
        )
        print(
            f"examples/ published as a git repository with {len(list(clone.glob('*/*/deploy.yaml')))} services"
        )
        repo = ConfigRepository(url=str(remote), branch="main", workdir=root / "controller")
        options = PassOptions(poll_seconds=0.25, report=lambda line: print(line, flush=True))

        _title("1. first sync: every service is created")
        report = run_pass(repo, options)
        _expect(report, WEB, Result.SYNCED)

        _title("2. git push to deploy: a new image for staging/web")
        repository = _current_image(clone, WEB).rpartition(":")[0]
        _push(clone, "web: bump nginx", _set_image(clone, WEB, _bumped(_current_image(clone, WEB))))
        report = run_pass(repo, options)
        _expect(report, WEB, Result.SYNCED)
        good = _web_task_definition()
        print(f"staging/web now runs {good}")

        _title(
            "3. a broken image: ECS's circuit breaker fails it, the controller records the rollback"
        )
        bad = _push(
            clone, "web: try a broken build", _set_image(clone, WEB, f"{repository}:broken")
        )
        report = run_pass(repo, options)
        _expect(report, WEB, Result.ROLLED_BACK)
        _git(clone, "pull", "-q", "--rebase", "origin", "main")
        marker = clone / ".ecs-gitops" / "rollback" / f"{WEB}.yaml"
        if not marker.exists():
            raise DemoFailed(f"no rollback marker committed for {WEB}")
        print(f"--- {marker.relative_to(clone)}\n{marker.read_text()}")

        _title("4. the same state is not retried: no deploy loop")
        report = run_pass(repo, options)
        _expect(report, WEB, Result.ROLLED_BACK)

        _title(f"5. git revert {bad[:12]}: the previous revision comes back, the marker goes")
        _git(clone, "pull", "-q", "--rebase", "origin", "main")
        revisions = _web_revisions()
        _git(clone, "revert", "--no-edit", bad)
        _git(clone, "push", "-q", "origin", "main")
        report = run_pass(repo, options)
        _expect(report, WEB, Result.SYNCED)
        _git(clone, "pull", "-q", "--rebase", "origin", "main")
        if marker.exists():
            raise DemoFailed("the rollback marker is still there after the revert")
        if _web_task_definition() != good or _web_revisions() != revisions:
            raise DemoFailed("the revert did not bring back the revision that ran before")
        print(f"staging/web runs {good} again: the same revision, none registered anew")

        _title(
            "6. ECS's own blue/green with an approval gate: staging/catalog waits for "
            "`ecs-gitops approve`"
        )
        _push(
            clone,
            "catalog: bump nginx",
            _set_image(clone, CATALOG, _bumped(_current_image(clone, CATALOG))),
        )
        report = run_pass(repo, options)
        _expect(report, CATALOG, Result.PROGRESSING)
        _show_remote_status(remote, CATALOG, expect=("Progressing", "paused"))
        _show_traffic(traffic, expect_production=("blue", 100))
        _approve(root, CATALOG, clone=clone)
        report = run_pass(repo, options)
        _expect(report, CATALOG, Result.SYNCED)
        _show_remote_status(remote, CATALOG, expect=("Synced", None))
        _show_traffic(traffic, expect_production=("green", 100))

        _title("status files, as committed to the config repository")
        _git(clone, "pull", "-q", "--rebase", "origin", "main")
        for status in sorted((clone / ".ecs-gitops" / "status").glob("*/*.yaml")):
            doc = yaml.safe_load(status.read_text())
            print(
                f"{status.relative_to(clone / '.ecs-gitops' / 'status').with_suffix('')}: "
                f"{doc['result']}  {doc.get('taskDefinitionArn', '')}  {doc.get('message', '')}"
            )
        _title("git log of the config repository")
        print(_git(clone, "log", "--format=%h %an: %s", "-n", "12"))
    print(
        f"\ndemo finished in {time.monotonic() - started:.0f}s: "
        "push to deploy, rollback, revert and approval all shown"
    )
    return 0


def _current_image(clone: Path, key: str) -> str:
    doc = yaml.safe_load((clone / key / "deploy.yaml").read_text())
    return str(doc.get("image") or "nginx:1.26")


def _bumped(image: str) -> str:
    """The image with another nginx tag: 1.27-alpine, or back to 1.27."""
    repository, _, tag = image.rpartition(":")
    return f"{repository}:{'1.27-alpine' if tag != '1.27-alpine' else '1.27'}"


def _show_remote_status(remote: Path, key: str, *, expect: tuple[str, str | None]) -> None:
    """Print what an approval is about in the status file the pass pushed (the rest is the
    rollout's journal); fail unless it says ``expect`` (result, phase)."""
    path = f".ecs-gitops/status/{key}.yaml"
    doc = yaml.safe_load(_git(remote, "show", f"main:{path}"))
    seen = (doc.get("result"), doc.get("phase"))
    if seen != expect:
        raise DemoFailed(f"{path} on the remote says {seen}, not {expect}")
    shown = {k: doc[k] for k in ("result", "phase", "message") if doc.get(k)}
    details = doc.get("details") or {}
    shown["details"] = {k: details[k] for k in ("serviceDeploymentArn", "hook") if k in details}
    print(f"--- {path}, as pushed to the remote (excerpt)")
    print(yaml.safe_dump(shown, sort_keys=False, width=1000).rstrip())


def _show_traffic(arns: dict[str, str], *, expect_production: tuple[str, int]) -> None:
    """Print the weights of catalog's listener rules; fail unless production sends
    ``expect_production`` (target group, percent)."""
    elbv2 = boto3.client("elbv2", region_name=REGION)
    names = {arns["blue"]: "blue", arns["green"]: "green"}
    weights: dict[str, dict[str, int]] = {}
    for role in ("production", "test"):
        (rule,) = elbv2.describe_rules(RuleArns=[arns[role]])["Rules"]
        (action,) = [a for a in rule["Actions"] if a["Type"] == "forward"]
        groups = action["ForwardConfig"]["TargetGroups"]
        weights[role] = {names[g["TargetGroupArn"]]: int(g["Weight"]) for g in groups}
        shown = ", ".join(f"catalog-{n} {w}%" for n, w in sorted(weights[role].items()))
        print(f"{role} listener rule: {shown}")
    group, percent = expect_production
    if weights["production"].get(group) != percent:
        raise DemoFailed(f"production traffic is {weights['production']}, not {percent}% {group}")


def _approve(root: Path, key: str, *, clone: Path) -> None:
    """Run ``ecs-gitops approve KEY --path CLONE`` as the user would, and print what it says."""
    where = clone.relative_to(root)
    print(f"$ ecs-gitops approve {key} --path {where}", flush=True)
    done = subprocess.run(
        # -P: the folder it runs in has a controller/ of its own (the controller's workdir)
        [sys.executable, "-P", "-m", "controller", "approve", key, "--path", str(where)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    print((done.stdout + done.stderr).strip(), flush=True)
    if done.returncode != 0 or not done.stdout.startswith(f"{key}: approved at "):
        raise DemoFailed(f"ecs-gitops approve {key} exited {done.returncode}")
