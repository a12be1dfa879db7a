"""Live ECS -> service folder: what ``ecs-gitops import`` writes, checked document by document.

The live documents are real DescribeServices / DescribeTaskDefinition / Application Auto Scaling
answers (tests/data/aws). Every folder is also loaded back as ``validate`` and ``plan`` load
it, and must be valid and in sync with the documents it came from.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.core.importer import (
    LiveSources,
    NotImportable,
    file_texts,
    import_service,
    not_a_folder,
    owner_conflict,
    scalable_target_manifest,
    scaling_policy_manifest,
    service_manifest,
    task_definition_manifest,
)
from controller.core.layout import load_repo
from controller.core.plan import Action, LiveService, plan_service

DATA = Path(__file__).resolve().parent.parent / "data" / "aws"


def _answer(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


def _web() -> LiveSources:
    td = _answer("describe_task_definition_web")
    return LiveSources(
        service=_answer("describe_services_web")["services"][0],
        task_definition=td["taskDefinition"],
        task_definition_tags=tuple(td.get("tags") or ()),
        scalable_target=_answer("describe_scalable_targets_web")["ScalableTargets"][0],
        scaling_policies=tuple(_answer("describe_scaling_policies_web")["ScalingPolicies"]),
    )


def _worker() -> LiveSources:
    td = _answer("describe_task_definition_worker_bridge")["taskDefinition"]
    service = {
        "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/staging/worker",
        "serviceName": "worker",
        "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/staging",
        "status": "ACTIVE",
        "desiredCount": 3,
        "runningCount": 3,
        "launchType": "EC2",
        "taskDefinition": td["taskDefinitionArn"],
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 50,
        },
        "placementStrategy": [
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "binpack", "field": "memory"},
        ],
        "placementConstraints": [],
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "enableECSManagedTags": False,
        "propagateTags": "NONE",
        "enableExecuteCommand": False,
        "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED"}],
    }
    return LiveSources(service=service, task_definition=td)


def _in_sync(live: LiveSources, *, folder: str, region: str = "eu-west-1") -> dict[str, str]:
    """Load the imported folder as validate and plan do: valid, and no change against ``live``."""
    texts = file_texts(import_service(live, folder=folder))
    files: dict[str, Any] = {"staging/environment.yaml": f"cluster: staging\nregion: {region}\n"}
    files |= {f"staging/{folder}/{name}": text for name, text in texts.items()}
    state = load_repo(files)
    assert not state.problems, state.problems
    assert not state.invalid, state.invalid
    desired = state.services[f"staging/{folder}"]
    plan = plan_service(
        desired,
        LiveService(
            service=live.service,
            task_definition=live.task_definition,
            task_definition_tags=live.task_definition_tags,
            scalable_target=live.scalable_target,
            scaling_policies=live.scaling_policies,
        ),
    )
    assert plan.action is Action.IN_SYNC, [str(c) for c in plan.changes]
    return texts


def test_fargate_service_behind_a_load_balancer_with_secrets_and_autoscaling_round_trips() -> None:
    texts = _in_sync(_web(), folder="web")

    assert list(texts) == [
        "deploy.yaml",
        "task-definition.yaml",
        "service.yaml",
        "scalable-target.yaml",
        "scaling-policy.yaml",
    ]
    assert yaml.safe_load(texts["deploy.yaml"]) == {"strategy": "rolling", "image": "nginx:1.27"}


def test_the_first_essential_containers_image_becomes_the_placeholder_others_stay() -> None:
    imported = import_service(_web(), folder="web")
    containers = {c["name"]: c for c in imported.files["task-definition"]["containerDefinitions"]}

    assert containers["web"]["image"] == "${image}"
    assert containers["log-router"]["image"] == (
        "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
    )
    assert imported.literal_images == ("log-router",)
    assert imported.image == "nginx:1.27"


def test_a_task_definition_without_read_only_fields_or_ecs_defaults() -> None:
    td = task_definition_manifest(_web().task_definition or {})
    web = next(c for c in td["containerDefinitions"] if c["name"] == "web")

    for read_only in ("taskDefinitionArn", "revision", "status", "requiresAttributes"):
        assert read_only not in td
    assert "compatibilities" not in td and "registeredAt" not in td
    # ECS's defaults: essential true, container cpu 0, hostPort = containerPort under awsvpc,
    # health check interval/timeout/retries 30/5/3; empty lists are never written
    assert "essential" not in web and "cpu" not in web
    assert web["portMappings"] == [{"containerPort": 80}]  # protocol tcp is the default too
    assert web["healthCheck"] == {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]}
    assert "mountPoints" not in web and "volumesFrom" not in web and "volumes" not in td
    # secrets stay references: only the valueFrom ECS holds is written
    assert web["secrets"] == [
        {
            "name": "API_TOKEN",
            "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/web/token",
        },
        {"name": "DB_URL", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/web/db-url"},
    ]
    # a non-essential container keeps essential: false
    router = next(c for c in td["containerDefinitions"] if c["name"] == "log-router")
    assert router["essential"] is False


def test_keys_follow_the_request_shape_order() -> None:
    td = task_definition_manifest(_web().task_definition or {})
    keys = list(td)
    assert keys.index("family") < keys.index("containerDefinitions") < keys.index("cpu")
    web = next(c for c in td["containerDefinitions"] if c["name"] == "web")
    assert list(web)[:2] == ["name", "image"]
    options = web["logConfiguration"]["options"]
    assert list(options) == sorted(options)


def test_a_service_without_read_only_fields_defaults_address_or_service_linked_role() -> None:
    service = service_manifest(_web().service, folder="web")

    assert service == {
        "loadBalancers": [
            {
                "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                "targetgroup/staging-web/6d0ecf831eec9f09",
                "containerName": "web",
                "containerPort": 80,
            }
        ],
        "desiredCount": 2,
        "launchType": "FARGATE",
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-0bbb2222", "subnet-0aaa1111"],
                "securityGroups": ["sg-0shared", "sg-0web"],
            }
        },
        "healthCheckGracePeriodSeconds": 30,
        "tags": [{"key": "app", "value": "web"}, {"key": "team", "value": "payments"}],
        "propagateTags": "SERVICE",
        "availabilityZoneRebalancing": "ENABLED",
    }


def test_a_service_named_unlike_its_folder_keeps_its_name() -> None:
    assert service_manifest(_web().service, folder="frontend")["serviceName"] == "web"


def test_the_owner_tag_is_never_written_and_another_folders_service_is_refused() -> None:
    live = copy.deepcopy(_web().service)
    live["tags"].append({"key": "ecs-gitops.owner", "value": "staging/web"})

    assert {"key": "ecs-gitops.owner", "value": "staging/web"} not in service_manifest(
        live, folder="web"
    )["tags"]
    assert owner_conflict(live, key="staging/web") is None
    assert owner_conflict(live, key="production/web") == (
        "service web is owned by staging/web (tag ecs-gitops.owner): not imported as production/web"
    )


def test_autoscaling_in_the_manifests_camel_case_without_what_the_controller_fills() -> None:
    live = _web()
    assert scalable_target_manifest(live.scalable_target or {}) == {
        "minCapacity": 2,
        "maxCapacity": 10,
    }
    assert scaling_policy_manifest(live.scaling_policies[0]) == {
        "policyName": "cpu70",
        "policyType": "TargetTrackingScaling",
        "targetTrackingScalingPolicyConfiguration": {
            "targetValue": 70.0,
            "predefinedMetricSpecification": {
                "predefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
            "scaleOutCooldown": 60,
            "scaleInCooldown": 300,
        },
    }


def test_two_policies_make_a_list() -> None:
    live = _web()
    second = {**live.scaling_policies[0], "PolicyName": "cpu50"}
    texts = _in_sync(
        LiveSources(**{**live.__dict__, "scaling_policies": (*live.scaling_policies, second)}),
        folder="web",
    )
    policies = yaml.safe_load(texts["scaling-policy.yaml"])
    assert [p["policyName"] for p in policies] == ["cpu70", "cpu50"]


def test_ec2_bridge_service_with_placement_strategies_round_trips() -> None:
    texts = _in_sync(_worker(), folder="worker")
    service = yaml.safe_load(texts["service.yaml"])
    td = yaml.safe_load(texts["task-definition.yaml"])

    assert service["placementStrategy"] == [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "binpack", "field": "memory"},
    ]
    assert service["launchType"] == "EC2"
    assert service["deploymentConfiguration"] == {"minimumHealthyPercent": 50}
    # under bridge, hostPort 0 is ECS's answer for a dynamic port: left out
    for container in td["containerDefinitions"]:
        for mapping in container.get("portMappings", []):
            assert mapping.get("hostPort", 1) != 0


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "LINEAR", "CANARY"])
def test_ecs_native_strategies_import_as_strategy_ecs(strategy: str) -> None:
    live = _worker()
    live.service["deploymentConfiguration"]["strategy"] = strategy
    assert import_service(live, folder="worker").strategy == "ecs"


def test_rolling_is_strategy_rolling() -> None:
    assert import_service(_web(), folder="web").strategy == "rolling"


def test_a_literal_dollar_brace_is_escaped_so_rendering_gives_it_back() -> None:
    live = _worker()
    td = copy.deepcopy(live.task_definition or {})
    td["containerDefinitions"][0]["command"] = ["sh", "-c", "echo ${HOME}"]
    texts = _in_sync(LiveSources(service=live.service, task_definition=td), folder="worker")

    assert "echo $${HOME}" in texts["task-definition.yaml"]


def test_a_harness_expression_cannot_be_written() -> None:
    live = _worker()
    td = copy.deepcopy(live.task_definition or {})
    td["containerDefinitions"][0]["command"] = ["echo", "<+secret>"]
    with pytest.raises(NotImportable, match="holds '<\\+'"):
        import_service(LiveSources(service=live.service, task_definition=td), folder="worker")


def test_a_missing_task_definition_is_refused() -> None:
    with pytest.raises(NotImportable, match=r"task definition .*staging-web:7 was not found"):
        import_service(LiveSources(service=_web().service, task_definition=None), folder="web")


def test_a_codedeploy_service_is_refused() -> None:
    live = _worker()
    live.service["deploymentController"] = {"type": "CODE_DEPLOY"}
    with pytest.raises(NotImportable, match="deploymentController CODE_DEPLOY"):
        import_service(live, folder="worker")


def test_a_daemon_service_has_no_desired_count_and_daemon_defaults_left_out() -> None:
    live = _worker()
    live.service.update(
        schedulingStrategy="DAEMON",
        deploymentConfiguration={"maximumPercent": 100, "minimumHealthyPercent": 0},
        placementStrategy=[],
    )
    service = service_manifest(live.service, folder="worker")
    assert service == {"launchType": "EC2", "schedulingStrategy": "DAEMON"}


def test_policies_without_a_target_are_refused() -> None:
    live = _web()
    with pytest.raises(NotImportable, match="scaling policies but no scalable target"):
        import_service(
            LiveSources(
                service=live.service,
                task_definition=live.task_definition,
                scaling_policies=live.scaling_policies,
            ),
            folder="web",
        )


def test_an_import_is_the_same_bytes_every_time() -> None:
    assert file_texts(import_service(_web(), folder="web")) == file_texts(
        import_service(copy.deepcopy(_web()), folder="web")
    )


@pytest.mark.parametrize(
    ("name", "tags", "why"),
    [
        ("web", [], None),
        ("worker", [{"key": "ecs-gitops.owner", "value": "staging/worker"}], None),
        (
            "webCanary",
            [],
            "service webCanary is what strategy canary creates beside staging/web, "
            "not a folder of its own",
        ),
        (
            "web__3",
            [],
            "service web__3 is a generation of staging/web (strategy blue-green), "
            "not a folder of its own",
        ),
        (
            "api__2",
            [{"key": "ecs-gitops.owner", "value": "staging/api"}],
            "service api__2 is tagged ecs-gitops.owner=staging/api: the controller made it for "
            "that folder, not a folder of its own",
        ),
        ("apiCanary", [{"key": "team", "value": "shop"}], None),  # no api listed: someone's own
        # its own folder's already (imported before): a helper's name is no matter
        ("webCanary", [{"key": "ecs-gitops.owner", "value": "staging/webCanary"}], None),
        ("shop__x", [], None),  # not a generation's name
    ],
)
def test_import_all_leaves_out_what_the_controller_made_beside_another_folder(
    name: str, tags: list[dict[str, str]], why: str | None
) -> None:
    listed = ("api__2", "apiCanary", "shop__x", "web", "webCanary", "web__3", "worker")
    service = {"serviceName": name, "tags": tags}
    assert not_a_folder(name, env="staging", importing=listed, service=service) == why
