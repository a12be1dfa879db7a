"""``ecs-gitops promote`` end to end: the live image of staging/web into production/web/deploy.yaml.

Against local-aws, with the CLI as a subprocess and real git: both environments are deployed by
``sync``, then staging's live image (tag, or digest with ``--by-digest``) is promoted; only the
``image:`` line of production's deploy.yaml changes, byte for byte everything else stays; an
image that is not running healthily is refused in one line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, git, network, publish, run_cli

ACCOUNT = "123456789012"

TASK_DEFINITION = """\
family: {env}-web
networkMode: awsvpc
requiresCompatibilities: [FARGATE]
cpu: "256"
memory: "512"
containerDefinitions:
  - name: web
    image: ${{image}}
    portMappings:
      - containerPort: 80
  - name: sidecar
    image: public.ecr.aws/docker/library/busybox:1.36
    essential: false
"""

SERVICE = """\
launchType: FARGATE
desiredCount: 2
networkConfiguration:
  awsvpcConfiguration:
    subnets: [SUBNET]
    securityGroups: [SECURITY_GROUP]
"""

STAGING_DEPLOY = "strategy: rolling\nimage: registry.example/shop/web:1.28\n"

# comments, odd spacing, quoting and key order that promote must leave exactly as they are
PRODUCTION_DEPLOY = """\
# production/web: promoted from staging by `ecs-gitops promote staging/web production`
strategy:   rolling
image: "registry.example/shop/web:1.27"   # bumped by promote
timeout: 5m    # production is slower to start

variables:
  tier: gold
"""


@pytest.fixture
def deployed(tmp_path: Path, local_aws: LocalAws) -> Workspace:
    """staging/web on 1.28 and production/web on 1.27, both synced and running."""
    ecs = boto3.client("ecs", region_name="us-east-1")
    for cluster in ("staging", "production"):
        ecs.create_cluster(clusterName=cluster)
    source = tmp_path / "source"
    for env, deploy in (("staging", STAGING_DEPLOY), ("production", PRODUCTION_DEPLOY)):
        folder = source / env / "web"
        folder.mkdir(parents=True)
        (source / env / "environment.yaml").write_text(f"cluster: {env}\nregion: us-east-1\n")
        (folder / "deploy.yaml").write_text(deploy)
        (folder / "task-definition.yaml").write_text(TASK_DEFINITION.format(env=env))
        (folder / "service.yaml").write_text(SERVICE)
    subnet, group = network(local_aws.endpoint_url)
    ws = publish(source, tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})
    done = ws.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    ws.pull()
    return ws


def _tasks(cluster: str) -> list[Any]:
    """local-aws's running tasks of ``cluster`` (moto's own records)."""
    from moto.ecs.models import ecs_backends

    return list(ecs_backends[ACCOUNT]["us-east-1"].tasks.get(cluster, {}).values())


def _pulled(digests: list[str]) -> None:
    """Give staging's running web containers the digests ECS reports once their image is pulled.

    local-aws's tasks carry no imageDigest of their own (ECS sets it on each container of a
    running task): the test plays the registry's part.
    """
    tasks = [t for t in _tasks("staging") if t.last_status == "RUNNING"]
    assert len(tasks) == len(digests)
    for task, digest in zip(tasks, digests, strict=True):
        for container in task.containers:
            if container["name"] == "web":
                container["imageDigest"] = digest


def _promote(ws: Workspace, *args: str) -> Any:
    return run_cli("promote", "staging/web", "production", "--path", str(ws.clone), *args)


def test_promote_copies_the_live_tag_and_changes_nothing_but_the_image_line(
    deployed: Workspace,
) -> None:
    path = deployed.clone / "production" / "web" / "deploy.yaml"
    before = path.read_bytes()

    done = _promote(deployed)

    assert done.returncode == 0, done.stderr
    after = path.read_bytes()
    assert after == before.replace(
        b'image: "registry.example/shop/web:1.27"   # bumped by promote',
        b'image: "registry.example/shop/web:1.28"   # bumped by promote',
    )
    assert done.stdout == (
        "--- a/production/web/deploy.yaml\n"
        "+++ b/production/web/deploy.yaml\n"
        "@@ -1,6 +1,6 @@\n"
        " # production/web: promoted from staging by `ecs-gitops promote staging/web production`\n"
        " strategy:   rolling\n"
        '-image: "registry.example/shop/web:1.27"   # bumped by promote\n'
        '+image: "registry.example/shop/web:1.28"   # bumped by promote\n'
        " timeout: 5m    # production is slower to start\n"
        " \n"
        " variables:\n"
        "production/web: image registry.example/shop/web:1.28 (what staging/web runs); "
        "review and commit it\n"
    )
    # the user commits: git sees exactly one changed line
    stat = git(deployed.clone, "diff", "--numstat")
    assert stat == "1\t1\tproduction/web/deploy.yaml"
    assert run_cli("validate", str(deployed.clone)).returncode == 0

    again = _promote(deployed)
    assert again.returncode == 0
    assert "already at registry.example/shop/web:1.28" in again.stdout
    assert path.read_bytes() == after


def test_promote_reads_what_runs_live_not_what_git_says(deployed: Workspace) -> None:
    # someone changed staging's deploy.yaml without deploying it: the live image is what counts
    deployed.replace("staging/web/deploy.yaml", "web:1.28", "web:9.99")

    done = _promote(deployed)

    assert done.returncode == 0, done.stderr
    assert 'image: "registry.example/shop/web:1.28"' in deployed.read("production/web/deploy.yaml")


def test_promote_by_digest_copies_the_running_tasks_digest(deployed: Workspace) -> None:
    digest = "sha256:" + hashlib.sha256(b"web 1.28").hexdigest()
    _pulled([digest, digest])

    done = _promote(deployed, "--by-digest")

    assert done.returncode == 0, done.stderr
    assert deployed.read("production/web/deploy.yaml") == PRODUCTION_DEPLOY.replace(
        '"registry.example/shop/web:1.27"', f'"registry.example/shop/web@{digest}"'
    )
    assert f'+image: "registry.example/shop/web@{digest}"   # bumped by promote' in done.stdout


def test_promote_by_digest_refuses_tasks_that_disagree(deployed: Workspace) -> None:
    one, two = ("sha256:" + hashlib.sha256(v).hexdigest() for v in (b"a", b"b"))
    _pulled([one, two])
    before = deployed.read("production/web/deploy.yaml")

    done = _promote(deployed, "--by-digest")

    assert done.returncode == 1
    first, second = sorted((one, two))
    assert done.stderr == (
        "ecs-gitops promote: staging/web: the running tasks disagree on the digest of "
        f"container web ({first}, {second})\n"
    )
    assert deployed.read("production/web/deploy.yaml") == before


def test_promote_refuses_an_image_that_is_not_running_healthily(deployed: Workspace) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1")
    stuck = ecs.register_task_definition(
        family="staging-web",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "web", "image": "registry.example/shop/web:stuck"},
            {"name": "sidecar", "image": "public.ecr.aws/docker/library/busybox:1.36"},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="staging", service="web", taskDefinition=stuck)
    before = deployed.read("production/web/deploy.yaml")

    done = _promote(deployed)

    assert done.returncode == 1
    assert done.stderr.startswith(
        "ecs-gitops promote: staging/web: its primary deployment is IN_PROGRESS, not COMPLETED"
    )
    assert done.stderr.rstrip().endswith(": not promoted")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert deployed.read("production/web/deploy.yaml") == before


def test_promote_usage_errors(deployed: Workspace) -> None:
    bad = run_cli("promote", "staging", "production", "--path", str(deployed.clone))
    assert bad.returncode == 2
    assert "is not FROM_ENV/SERVICE" in bad.stderr
    missing = run_cli("promote", "staging/web", "qa", "--path", str(deployed.clone))
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"ecs-gitops promote: no service folder qa/web with a deploy.yaml in {deployed.clone}"
    )


def test_promote_never_writes_outside_the_checkout(deployed: Workspace, tmp_path: Path) -> None:
    # a deploy.yaml beside the checkout, reachable as TO_ENV=../<folder>
    outside = deployed.clone.parent / "elsewhere" / "web"
    outside.mkdir(parents=True)
    (outside / "deploy.yaml").write_text("image: keep-me\n")
    escaped = run_cli("promote", "staging/web", "../elsewhere", "--path", str(deployed.clone))
    assert escaped.returncode == 2, escaped.stdout + escaped.stderr
    assert "is not an environment folder name" in escaped.stderr
    assert "Traceback" not in escaped.stderr
    assert (outside / "deploy.yaml").read_text() == "image: keep-me\n"


PRODUCTION_WEB = {
    "production/environment.yaml": "cluster: production\nregion: us-east-1\n",
    "production/web/deploy.yaml": "strategy: rolling\nimage: nginx:1.25\n",
    "production/web/task-definition.yaml": TASK_DEFINITION.format(env="production"),
    "production/web/service.yaml": SERVICE.replace("[SUBNET]", "[subnet-1]").replace(
        "[SECURITY_GROUP]", "[sg-1]"
    ),
}


@pytest.fixture
def blue_green(tmp_path: Path, local_aws: LocalAws) -> tuple[Workspace, str]:
    """tests/data/bluegreen-repo deployed twice (nginx 1.26, then 1.27 as generation web__2),
    with a production/web folder to promote into; and the prod listener's ARN."""
    ecs, ec2, elbv2 = (boto3.client(n, region_name="us-east-1") for n in ("ecs", "ec2", "elbv2"))
    ecs.create_cluster(clusterName="staging")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = [
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
            "Subnets"
        ]
    ]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    alb = elbv2.create_load_balancer(Name="web", Subnets=subnets[:2])["LoadBalancers"][0]
    listeners: dict[str, str] = {}
    for colour, port in (("prod", 80), ("stage", 8080)):
        target_group = elbv2.create_target_group(
            Name=f"web-{colour}", Protocol="HTTP", Port=80, VpcId=vpc["VpcId"], TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        listeners[colour] = elbv2.create_listener(
            LoadBalancerArn=alb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
        )["Listeners"][0]["ListenerArn"]
    ws = publish(
        DATA / "bluegreen-repo",
        tmp_path,
        {
            "SUBNET": subnets[0],
            "SECURITY_GROUP": group,
            "PROD_LISTENER": listeners["prod"],
            "STAGE_LISTENER": listeners["stage"],
        },
    )
    for image in ("nginx:1.26", "nginx:1.27"):
        if image != "nginx:1.26":
            ws.pull()
            ws.replace("staging/web/deploy.yaml", "nginx:1.26", image)
            ws.commit_and_push(f"web: {image}")
        done = ws.sync()
        assert done.returncode == 0, done.stdout + done.stderr
    ws.pull()
    assert ws.status("staging/web")["details"]["serviceName"] == "web__2"
    for path, text in PRODUCTION_WEB.items():
        ws.write(path, text)
    return ws, listeners["prod"]


def test_promote_from_blue_green_reads_the_generation_behind_the_prod_listener(
    blue_green: tuple[Workspace, str],
) -> None:
    ws, _ = blue_green

    done = _promote(ws)

    assert done.returncode == 0, done.stderr
    assert ws.read("production/web/deploy.yaml") == "strategy: rolling\nimage: nginx:1.27\n"
    assert "production/web: image nginx:1.27 (what staging/web runs)" in done.stdout


def test_promote_from_blue_green_without_its_listener_reads_the_recorded_generation(
    blue_green: tuple[Workspace, str],
) -> None:
    ws, prod = blue_green
    boto3.client("elbv2", region_name="us-east-1").delete_listener(ListenerArn=prod)

    done = _promote(ws)

    assert done.returncode == 0, done.stderr
    assert ws.read("production/web/deploy.yaml") == "strategy: rolling\nimage: nginx:1.27\n"
