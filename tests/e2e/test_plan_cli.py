"""``ecs-gitops plan`` as a user runs it: a subprocess against local-aws (moto's server) on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from controller.localaws import LocalAws
from controller.source.tree import load_path

ROOT = Path(__file__).resolve().parent.parent.parent
REGION = "us-east-1"


@pytest.fixture
def aws_env(local_aws: LocalAws) -> dict[str, str]:
    """An empty local AWS, and the standard AWS environment pointing at it (for us and the CLI)."""
    return {
        "AWS_ENDPOINT_URL": local_aws.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


@pytest.fixture
def repo(tmp_path: Path, aws_env: dict[str, str]) -> Path:
    """examples/ with its subnet and security group placeholders pointing at a VPC of local AWS."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
    target = tmp_path / "config"
    shutil.copytree(ROOT / "examples", target)
    for env_file in target.glob("*/environment.yaml"):
        text = env_file.read_text()
        text = text.replace("subnet-00000000000000001", subnet)
        text = text.replace("sg-00000000000000001", group)
        env_file.write_text(text)
    return target


def plan(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", "plan", str(repo), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def deploy(repo: Path, key: str) -> None:
    """Create one service exactly as rendered, as a first sync would."""
    desired = load_path(repo).services[key]
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=desired.cluster)
    revision = ecs.register_task_definition(**desired.task_definition)["taskDefinition"]
    assert desired.service is not None
    ecs.create_service(**desired.service, taskDefinition=revision["taskDefinitionArn"])


def test_empty_aws_plans_every_service_as_new(repo: Path, aws_env: dict[str, str]) -> None:
    done = plan(repo, aws_env)
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    for key in ("staging/web", "staging/api", "production/web", "production/api"):
        assert f"{key}: create (the service does not exist yet)" in lines
    # A run-task job whose family has no revision yet is to run.
    assert "staging/migrate: run (the job's task definition changed)" in lines
    assert lines[-1] == "Summary: 7 create, 0 update, 0 replace, 2 run, 0 in sync, 0 invalid"


def test_a_deployed_service_is_in_sync_and_a_change_shows(
    repo: Path, aws_env: dict[str, str]
) -> None:
    deploy(repo, "staging/web")
    done = plan(repo, aws_env, "--only", "staging/web")
    assert (done.returncode, done.stdout) == (
        0,
        "staging/web: in sync\nSummary: 0 create, 0 update, 0 replace, 0 run, 1 in sync, 0 invalid\n",
    ), done.stderr

    deploy_file = repo / "staging" / "web" / "deploy.yaml"
    deploy_file.write_text(deploy_file.read_text().replace("nginx:1.27", "nginx:1.28"))
    done = plan(repo, aws_env, "--only", "staging")
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert "staging/web: update" in lines
    assert (
        "    containerDefinitions[nginx].image: public.ecr.aws/nginx/nginx:1.27 -> public.ecr.aws/nginx/nginx:1.28"
        in lines
    )
    assert not any(line.startswith("production/") for line in lines)


def test_json_format_parses(repo: Path, aws_env: dict[str, str]) -> None:
    deploy(repo, "staging/web")
    done = plan(repo, aws_env, "--format", "json")
    assert done.returncode == 2, done.stderr
    document = json.loads(done.stdout)
    actions = {s["key"]: s["action"] for s in document["services"]}
    assert actions["staging/web"] == "in-sync"
    assert actions["production/web"] == "create"
    assert document["summary"]["total"] == len(document["services"]) == 9


def test_markdown_format_has_the_table(repo: Path, aws_env: dict[str, str]) -> None:
    done = plan(repo, aws_env, "--format", "markdown", "--only", "production")
    assert done.returncode == 2, done.stderr
    assert "| `production/web` | create | 0 |" in done.stdout


def test_invalid_services_exit_1_and_valid_ones_are_still_planned(
    repo: Path, aws_env: dict[str, str]
) -> None:
    deploy_file = repo / "staging" / "api" / "deploy.yaml"
    deploy_file.write_text(
        deploy_file.read_text().replace("strategy: rolling", "strategy: sideways")
    )
    done = plan(repo, aws_env, "--only", "staging")
    assert done.returncode == 1, done.stderr
    assert "staging/api: invalid (nothing of it is applied)" in done.stdout
    assert "  staging/api/deploy.yaml:" in done.stdout
    assert "staging/web: create (the service does not exist yet)" in done.stdout


def test_unknown_selection_is_an_error(repo: Path, aws_env: dict[str, str]) -> None:
    done = plan(repo, aws_env, "--only", "nowhere/web")
    assert done.returncode == 1
    assert done.stderr.startswith("ecs-gitops plan: ")
    assert "Traceback" not in done.stderr


def test_plan_never_reads_a_status_file_that_is_a_link_or_a_fifo(
    repo: Path, aws_env: dict[str, str]
) -> None:
    # a pull request can add anything under .ecs-gitops/: plan must neither hang nor read it
    status = repo / ".ecs-gitops" / "status" / "staging"
    status.mkdir(parents=True)
    (status / "web.yaml").symlink_to("/dev/zero")
    os.mkfifo(status / "api.yaml")

    result = plan(repo, aws_env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
