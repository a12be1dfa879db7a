"""Rendering: expressions and their types, nulls, the authority rule, filled ids, seed manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.core.expressions import Scope, resolve
from controller.core.layout import load_repo
from controller.core.model import DesiredService, Strategy
from controller.core.render import as_requests, duration_seconds
from controller.source.tree import read_tree

REPOS = Path(__file__).resolve().parent.parent / "data" / "repos"
MINIMAL = read_tree(REPOS / "minimal")


def render(extra: dict[str, str] | None = None, key: str = "staging/web") -> DesiredService:
    state = load_repo({**MINIMAL, **(extra or {})})
    assert state.problems == ()
    return state.services[key]


def test_service_gets_cluster_and_folder_name_and_typed_variables() -> None:
    web = render()
    assert web.service == {
        "cluster": "staging",
        "serviceName": "web",
        "launchType": "FARGATE",
        # deploy.yaml's replicas (3) wins over environment.yaml's (2), and stays an int
        "desiredCount": 3,
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
    }
    assert web.task_definition["containerDefinitions"][0]["image"] == "nginx:1.27"
    assert web.files == {
        "deploy": "staging/web/deploy.yaml",
        "task-definition": "staging/web/task-definition.yaml",
        "service": "staging/web/service.yaml",
    }
    assert web.deploy.strategy is Strategy.ROLLING
    assert web.deploy.timeout_seconds == 600.0
    assert web.env.region == "us-east-1"


def test_serviceName_in_the_file_is_kept_and_names_the_autoscaling_resource() -> None:
    web = render(
        {
            "staging/web/service.yaml": MINIMAL["staging/web/service.yaml"]
            + "serviceName: frontend\n",
            "staging/web/scalable-target.yaml": "serviceNamespace: ecs\nminCapacity: 1\nmaxCapacity: 3\n",
            "staging/web/scaling-policy.yaml": (
                "- policyName: cpu\n  policyType: TargetTrackingScaling\n"
                "  targetTrackingScalingPolicyConfiguration:\n    targetValue: 60\n"
                "    predefinedMetricSpecification:\n      predefinedMetricType: ECSServiceAverageCPUUtilization\n"
                "- policyName: steps\n  policyType: StepScaling\n"
            ),
        }
    )
    assert web.service_name == "frontend"
    # Application Auto Scaling takes PascalCase members: rendered for boto3 **kwargs
    assert web.scalable_target == {
        "ServiceNamespace": "ecs",
        "ScalableDimension": "ecs:service:DesiredCount",
        "ResourceId": "service/staging/frontend",
        "MinCapacity": 1,
        "MaxCapacity": 3,
    }
    assert web.scaling_policies == (
        {
            "PolicyName": "cpu",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 60,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                },
            },
            "ServiceNamespace": "ecs",
            "ScalableDimension": "ecs:service:DesiredCount",
            "ResourceId": "service/staging/frontend",
        },
        {
            "PolicyName": "steps",
            "PolicyType": "StepScaling",
            "ServiceNamespace": "ecs",
            "ScalableDimension": "ecs:service:DesiredCount",
            "ResourceId": "service/staging/frontend",
        },
    )


def test_run_task_job_gets_cluster_and_no_task_definition() -> None:
    job = render(key="staging/job")
    assert job.run_task == {"launchType": "EC2", "count": 1, "cluster": "staging"}
    assert job.service is None
    assert job.task_definition["containerDefinitions"][0]["image"] == "busybox:1.36"
    assert as_requests(job) == {"taskDefinition": job.task_definition, "runTask": job.run_task}


def test_a_variable_that_is_null_unsets_the_key() -> None:
    web = render(
        {
            "staging/web/deploy.yaml": MINIMAL["staging/web/deploy.yaml"] + "  grace:\n",
            "staging/web/service.yaml": MINIMAL["staging/web/service.yaml"]
            + "healthCheckGracePeriodSeconds: ${grace}\n",
        }
    )
    assert web.service is not None
    assert "healthCheckGracePeriodSeconds" not in web.service


def test_deploy_spec_keeps_blocks_without_nulls_and_parses_the_timeout() -> None:
    web = render(
        {
            "staging/web/deploy.yaml": MINIMAL["staging/web/deploy.yaml"]
            + "timeout: 1m30s\nrolling:\n  sameAsRunningInstances: true\n  forceNewDeployment:\nverify:\n",
        }
    )
    assert web.deploy.timeout_seconds == 90.0
    assert web.deploy.block("rolling") == {"sameAsRunningInstances": True}
    assert "verify" not in web.deploy.raw
    assert web.deploy.block("canary") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${replicas}", 2),  # whole scalar: the variable's own type
        ("${on}", True),
        ("${subnets}", ["a", "b"]),
        ("n-${replicas}", "n-2"),  # embedded: text
        ("${on}/${replicas}", "true/2"),
        ("${image}", "nginx:1"),
        ("<+artifact.image>", "nginx:1"),
        ("repo/<+artifact.image>", "repo/nginx:1"),
        ("$${replicas}", "${replicas}"),  # $${ escapes
        ("<+targetGroupArn>", "<+targetGroupArn>"),  # left for blue-green
        ("plain <text> $5", "plain <text> $5"),
    ],
)
def test_expressions(text: str, expected: object) -> None:
    scope = Scope(variables={"replicas": 2, "on": True, "subnets": ["a", "b"]}, image="nginx:1")
    resolution = resolve({"a": [text]}, scope)
    assert resolution.problems == []
    assert resolution.value == {"a": [expected]}


def test_expression_problems_name_their_path() -> None:
    resolution = resolve({"a": {"b": "${nope} <+pipeline.x>"}}, Scope(variables={"np": 1}))
    assert resolution.problems == [
        (("a", "b"), "undefined variable 'nope'; did you mean 'np'?"),
        (
            ("a", "b"),
            "unknown expression '<+pipeline.x>'; use ${name}, ${image} or <+artifact.image>",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("2h5m", 7500.0),
        ("10", None),
        ("m", None),
        ("", None),
    ],
)
def test_duration_seconds(text: str, seconds: float | None) -> None:
    assert duration_seconds(text) == seconds


def test_seed_manifests_render_unchanged_apart_from_placeholders() -> None:
    state = load_repo(read_tree(REPOS / "seed"))
    assert state.problems == ()
    assert sorted(state.services) == ["production/bluegreen", "production/job", "staging/rolling"]

    rolling = state.services["staging/rolling"]
    container = rolling.task_definition["containerDefinitions"][0]
    # the Harness JSON is full of nulls: they are "not set", and <+artifact.image> is deploy.yaml image
    assert container == {
        "portMappings": [{"hostPort": 80, "protocol": "tcp", "containerPort": 80}],
        "cpu": 0,
        "environment": [],
        "mountPoints": [],
        "memoryReservation": 128,
        "volumesFrom": [],
        "image": "nginx:1.27",
        "essential": True,
        "name": "nginx",
    }
    assert rolling.service is not None
    assert rolling.service["serviceName"] == "myapp"
    assert rolling.service["cluster"] == "staging"
    assert rolling.scalable_target is not None
    assert rolling.scalable_target["ResourceId"] == "service/staging/myapp"
    assert rolling.scaling_policies[0]["PolicyName"] == "P1"

    bluegreen = state.services["production/bluegreen"]
    assert bluegreen.service is not None
    assert bluegreen.service["loadBalancers"][0]["targetGroupArn"] == "<+targetGroupArn>"
    assert bluegreen.deploy.block("blueGreen")["prodListenerArn"].startswith(
        "arn:aws:elasticloadbalancing"
    )

    job = state.services["production/job"]
    assert job.run_task == {
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "securityGroups": ["sg-0123456789abcdef0"],
                "subnets": ["subnet-0123456789abcdef0"],
                "assignPublicIp": "ENABLED",
            }
        },
        "count": 1,
        "cluster": "production",
    }


def test_a_big_variable_used_many_times_is_bounded_like_an_alias_bomb() -> None:
    big = [{"name": f"V{n}", "value": "x"} for n in range(1_000)]
    document = {"containerDefinitions": [{"environment": "${big}"} for _ in range(100)]}

    resolution = resolve(document, Scope(variables={"big": big}))

    # the first uses expand; the one past the bound is refused at its path (said once), and
    # it and every later use are left as written
    ((path, message),) = resolution.problems
    assert path[:2] == ("containerDefinitions", 3)  # 3,001 values a use: the fourth crosses
    assert "expand to more than 10,000 values" in message
    assert resolution.value["containerDefinitions"][99]["environment"] == "${big}"
    # a variable of ordinary size is used as often as wanted
    small = resolve(document, Scope(variables={"big": big[:10]}))
    assert not small.problems
