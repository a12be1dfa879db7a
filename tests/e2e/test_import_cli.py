"""``ecs-gitops import`` end to end: services made by hand with boto3 round-trip through git.

Against local-aws, with the CLI as a subprocess and real git: a Fargate service behind an ELBv2
target group with secrets and autoscaling, and an EC2 bridge service with placement strategies,
are imported; then validate exits 0, plan exits 0, and sync adopts them (Synced) without
registering a task definition revision or starting a deployment.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from controller.localaws import LocalAws
from tests.e2e.support import Workspace, network, publish, run_cli

CLUSTER = "staging"
SECRET = "arn:aws:ssm:us-east-1:123456789012:parameter/web/db-password"


def _wait_steady(ecs: Any, names: list[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        services = ecs.describe_services(cluster=CLUSTER, services=names)["services"]
        done = [
            s
            for s in services
            if len(s["deployments"]) == 1
            and s["deployments"][0].get("rolloutState") == "COMPLETED"
            and s["runningCount"] == s["desiredCount"]
        ]
        if len(done) == len(names):
            return
        assert time.monotonic() < deadline, f"services never steady: {services!r}"
        time.sleep(0.1)


def _create_by_hand(endpoint: str) -> None:
    """What a team made in the console before adopting ecs-gitops."""
    ecs = boto3.client("ecs", region_name="us-east-1")
    ec2 = boto3.client("ec2", region_name="us-east-1")
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
    subnet, group = network(endpoint)
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    ecs.create_cluster(clusterName=CLUSTER)
    target_group = elbv2.create_target_group(
        Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]

    web = ecs.register_task_definition(
        family="staging-web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        containerDefinitions=[
            {
                "name": "web",
                "image": "public.ecr.aws/nginx/nginx:1.27",
                "essential": True,
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "LOG_LEVEL", "value": "info"}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1"},
                },
            },
            {
                "name": "log-router",
                "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
                "essential": False,
                "memoryReservation": 64,
            },
        ],
        tags=[{"key": "team", "value": "shop"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition=web,
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [subnet],
                "securityGroups": [group],
                "assignPublicIp": "ENABLED",
            }
        },
        loadBalancers=[
            {"targetGroupArn": target_group, "containerName": "web", "containerPort": 80}
        ],
        healthCheckGracePeriodSeconds=30,
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        tags=[{"key": "team", "value": "shop"}],
    )
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{CLUSTER}/web",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=6,
    )
    autoscaling.put_scaling_policy(
        PolicyName="cpu60",
        ServiceNamespace="ecs",
        ResourceId=f"service/{CLUSTER}/web",
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    )

    worker = ecs.register_task_definition(
        family="staging-worker",
        networkMode="bridge",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[
            {
                "name": "worker",
                "image": "public.ecr.aws/docker/library/busybox:1.36",
                "memory": 128,
                "command": ["sh", "-c", "echo ${HOSTNAME}; sleep 3600"],
                "portMappings": [{"containerPort": 8080}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER,
        serviceName="worker",
        taskDefinition=worker,
        desiredCount=2,
        launchType="EC2",
        placementStrategy=[
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "binpack", "field": "memory"},
        ],
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 50},
    )
    _wait_steady(ecs, ["web", "worker"])


@pytest.fixture
def adopted(tmp_path: Path, local_aws: LocalAws) -> Workspace:
    """A config repository holding only staging/environment.yaml, and the services made by hand."""
    _create_by_hand(local_aws.endpoint_url)
    source = tmp_path / "source"
    (source / "staging").mkdir(parents=True)
    (source / "staging" / "environment.yaml").write_text(f"cluster: {CLUSTER}\nregion: us-east-1\n")
    return publish(source, tmp_path, {})


def _revisions(ecs: Any) -> list[str]:
    return sorted(ecs.list_task_definitions()["taskDefinitionArns"])


def _deployments(ecs: Any) -> dict[str, list[str]]:
    services = ecs.describe_services(cluster=CLUSTER, services=["web", "worker"])["services"]
    return {s["serviceName"]: sorted(d["id"] for d in s["deployments"]) for s in services}


def test_imported_services_validate_plan_in_sync_and_sync_adopts_them_untouched(
    adopted: Workspace,
) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1")

    done = run_cli("import", str(adopted.clone), "--env", "staging", "--all")

    assert done.returncode == 0, done.stderr
    assert "staging/web: imported service web (staging-web:1) as strategy rolling" in done.stdout
    assert "tagged service web ecs-gitops.owner=staging/web" in done.stdout
    assert "2 imported, 0 refused" in done.stdout
    web = adopted.clone / "staging" / "web"
    assert sorted(p.name for p in web.iterdir()) == [
        "deploy.yaml",
        "scalable-target.yaml",
        "scaling-policy.yaml",
        "service.yaml",
        "task-definition.yaml",
    ]
    assert sorted(p.name for p in (adopted.clone / "staging" / "worker").iterdir()) == [
        "deploy.yaml",
        "service.yaml",
        "task-definition.yaml",
    ]
    assert yaml.safe_load((web / "deploy.yaml").read_text()) == {
        "strategy": "rolling",
        "image": "public.ecr.aws/nginx/nginx:1.27",
    }
    task_definition = yaml.safe_load((web / "task-definition.yaml").read_text())
    container = task_definition["containerDefinitions"][0]
    assert container["image"] == "${image}"
    assert container["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": SECRET}]
    assert "taskDefinitionArn" not in task_definition and "essential" not in container
    worker = yaml.safe_load((adopted.clone / "staging" / "worker" / "service.yaml").read_text())
    assert worker["placementStrategy"][1] == {"type": "binpack", "field": "memory"}

    validate = run_cli("validate", str(adopted.clone))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    plan = run_cli("plan", str(adopted.clone))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "0 create, 0 update, 0 replace, 0 run, 2 in sync" in plan.stdout

    revisions, deployments = _revisions(ecs), _deployments(ecs)
    adopted.commit_and_push("Import staging/web and staging/worker")
    synced = adopted.sync()

    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert _revisions(ecs) == revisions  # no RegisterTaskDefinition
    assert _deployments(ecs) == deployments  # no UpdateService started a deployment
    for key in ("staging/web", "staging/worker"):
        status = adopted.status(key)
        assert status["result"] == "Synced", status
        assert status["taskDefinitionArn"].endswith(
            "staging-web:1" if key == "staging/web" else "staging-worker:1"
        )
    tags = ecs.list_tags_for_resource(
        resourceArn=ecs.describe_services(cluster=CLUSTER, services=["web"])["services"][0][
            "serviceArn"
        ]
    )["tags"]
    assert {"key": "ecs-gitops.owner", "value": "staging/web"} in tags


def test_an_existing_folder_is_refused_unless_force_and_the_others_are_imported(
    adopted: Workspace,
) -> None:
    folder = adopted.clone / "staging" / "web"
    folder.mkdir()
    (folder / "service.json").write_text("{}")
    (folder / "README.md").write_text("notes\n")

    done = run_cli(
        "import", str(adopted.clone), "--env", "staging", "--service", "web", "--service", "worker"
    )

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "ecs-gitops import: staging/web: folder staging/web exists: not imported "
        "(--force replaces its manifests)"
    )
    assert "Traceback" not in done.stderr
    assert (adopted.clone / "staging" / "worker" / "deploy.yaml").is_file()
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "service.json"]

    forced = run_cli(
        "import", str(adopted.clone), "--env", "staging", "--service", "web", "--force"
    )

    assert forced.returncode == 0, forced.stderr
    assert "service.json" not in {p.name for p in folder.iterdir()}
    assert (folder / "README.md").read_text() == "notes\n"
    assert run_cli("validate", str(adopted.clone)).returncode == 0


def test_a_service_that_is_not_there_is_one_line_and_the_others_are_imported(
    adopted: Workspace,
) -> None:
    done = run_cli(
        "import", str(adopted.clone), "--env", "staging", "--service", "nope", "--service", "web"
    )

    assert done.returncode == 1
    assert (
        done.stderr.strip() == "ecs-gitops import: staging/nope: no service nope in cluster staging"
    )
    assert "1 imported, 1 refused" in done.stdout


def test_a_service_whose_task_definition_is_gone_says_so(adopted: Workspace) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1")
    arn = ecs.describe_services(cluster=CLUSTER, services=["worker"])["services"][0][
        "taskDefinition"
    ]
    ecs.deregister_task_definition(taskDefinition=arn)
    ecs.delete_task_definitions(taskDefinitions=[arn])

    done = run_cli("import", str(adopted.clone), "--env", "staging", "--service", "worker")

    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"ecs-gitops import: staging/worker: service worker: its task definition {arn} "
        "was not found"
    )
    assert not (adopted.clone / "staging" / "worker").exists()


def test_usage_errors_exit_2(adopted: Workspace) -> None:
    missing = run_cli("import", str(adopted.clone), "--env", "production", "--all")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"ecs-gitops import: no environment production in {adopted.clone} "
        "(no production/environment.yaml)"
    )
    neither = run_cli("import", str(adopted.clone), "--env", "staging")
    assert neither.returncode == 2
    both = run_cli("import", str(adopted.clone), "--env", "staging", "--all", "--service", "web")
    assert both.returncode == 2
