"""The diff: only real changes, named field by field, with replace flags and secrets hidden."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from controller.core.diff import REDACTED, diff_autoscaling, diff_service, diff_task_definition
from controller.core.plan import FieldChange

DATA = Path(__file__).parent.parent / "data" / "aws"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def desired_service() -> dict[str, Any]:
    return load("create_service_web.json")


def live_service() -> dict[str, Any]:
    return load("describe_services_web.json")["services"][0]


def desired_task_definition() -> dict[str, Any]:
    return load("register_task_definition_web.json")


def live_task_definition() -> dict[str, Any]:
    answer = load("describe_task_definition_web.json")
    return {**answer["taskDefinition"], "tags": answer["tags"]}


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in doc["containerDefinitions"] if c["name"] == name)


# --- task definitions -------------------------------------------------------------------


def test_image_change_is_named_by_container() -> None:
    desired = desired_task_definition()
    container(desired, "web")["image"] = "nginx:1.28"
    changes = diff_task_definition(desired, live_task_definition())
    assert changes == (FieldChange("containerDefinitions[web].image", "nginx:1.27", "nginx:1.28"),)
    assert str(changes[0]) == "containerDefinitions[web].image: nginx:1.27 -> nginx:1.28"


def test_an_environment_variable_removed_in_git_is_a_change() -> None:
    desired = desired_task_definition()
    container(desired, "web")["environment"] = [{"name": "LOG_LEVEL", "value": "info"}]
    assert diff_task_definition(desired, live_task_definition()) == (
        FieldChange("containerDefinitions[web].environment[REGION]", "eu-west-1", None),
    )


def test_all_environment_removed_is_a_change_per_variable() -> None:
    desired = desired_task_definition()
    del container(desired, "web")["environment"]
    paths = [c.path for c in diff_task_definition(desired, live_task_definition())]
    assert paths == [
        "containerDefinitions[web].environment[LOG_LEVEL]",
        "containerDefinitions[web].environment[REGION]",
    ]


def test_an_environment_variable_added_is_a_change() -> None:
    desired = desired_task_definition()
    container(desired, "web")["environment"].append({"name": "FEATURE_X", "value": "on"})
    assert diff_task_definition(desired, live_task_definition()) == (
        FieldChange("containerDefinitions[web].environment[FEATURE_X]", None, "on"),
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"cpu": "0.5 vCPU"}, FieldChange("cpu", "256", "512")),
        ({"memory": "1 GB"}, FieldChange("memory", "512", "1024")),
        ({"family": "staging-web2"}, FieldChange("family", "staging-web", "staging-web2")),
        ({"networkMode": "bridge"}, None),  # checked below: changes more than one field
    ],
)
def test_task_level_changes(edit: dict[str, Any], expected: FieldChange | None) -> None:
    desired = {**desired_task_definition(), **edit}
    changes = diff_task_definition(desired, live_task_definition())
    if expected is not None:
        assert changes == (expected,)
    else:
        assert FieldChange("networkMode", "awsvpc", "bridge") in changes


def test_a_changed_port_and_a_non_default_essential_show() -> None:
    desired = desired_task_definition()
    web = container(desired, "web")
    web["portMappings"] = [{"containerPort": 80, "hostPort": 80, "protocol": "udp"}]
    container(desired, "log-router")["essential"] = True
    changes = diff_task_definition(desired, live_task_definition())
    assert FieldChange("containerDefinitions[log-router].essential", False, True) in changes
    assert (
        FieldChange("containerDefinitions[web].portMappings[80/tcp]", {"hostPort": 80}, None)
        in changes
    )
    assert (
        FieldChange("containerDefinitions[web].portMappings[80/udp]", None, {"hostPort": 80})
        in changes
    )


def test_an_added_container_is_one_change() -> None:
    desired = desired_task_definition()
    desired["containerDefinitions"].append({"name": "xray", "image": "amazon/aws-xray-daemon"})
    assert diff_task_definition(desired, live_task_definition()) == (
        FieldChange(
            "containerDefinitions[xray]",
            None,
            {"cpu": 0, "essential": True, "image": "amazon/aws-xray-daemon"},
        ),
    )


def test_a_task_definition_tag_change_shows_and_the_digest_tag_does_not() -> None:
    desired = desired_task_definition()
    desired["tags"] = [{"key": "team", "value": "checkout"}, {"key": "app", "value": "web"}]
    assert diff_task_definition(desired, live_task_definition()) == (
        FieldChange("tags[team]", "payments", "checkout"),
    )


def test_missing_live_task_definition_names_the_family() -> None:
    assert diff_task_definition(desired_task_definition(), None) == (
        FieldChange("taskDefinition", None, "staging-web"),
    )


@pytest.mark.parametrize(
    "name", ["DB_PASSWORD", "API_TOKEN", "stripe_secret_key", "AWS_SECRET_ACCESS_KEY"]
)
def test_secret_looking_environment_values_are_redacted(name: str) -> None:
    live = desired_task_definition()
    desired = copy.deepcopy(live)
    container(live, "web")["environment"].append({"name": name, "value": "hunter2"})
    container(desired, "web")["environment"].append({"name": name, "value": "correct-horse"})
    changes = diff_task_definition(desired, live)
    assert changes == (
        FieldChange(f"containerDefinitions[web].environment[{name}]", REDACTED, REDACTED),
    )
    assert "hunter2" not in repr(changes) and "correct-horse" not in repr(changes)


def test_secrets_are_redacted_inside_a_whole_added_container() -> None:
    desired = desired_task_definition()
    desired["containerDefinitions"].append(
        {
            "name": "job",
            "image": "job:1",
            "environment": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "MODE", "value": "fast"},
            ],
        }
    )
    (change,) = diff_task_definition(desired, desired_task_definition())
    assert change.new["environment"] == {"DB_PASSWORD": REDACTED, "MODE": "fast"}


# --- services ---------------------------------------------------------------------------


def test_recorded_service_is_in_sync_with_its_request() -> None:
    assert diff_service(desired_service(), live_service()) == ()


# (rule, one form of some fields, another form AWS treats as the same). A form is applied to
# the desired request or to the live DescribeServices item; None means "field absent".
SERVICE_EQUIVALENCES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "platformVersion defaults to LATEST",
        {"platformVersion": "LATEST"},
        {"platformVersion": None},
    ),
    (
        "schedulingStrategy defaults to REPLICA",
        {"schedulingStrategy": "REPLICA"},
        {"schedulingStrategy": None},
    ),
    (
        "deploymentController defaults to ECS",
        {"deploymentController": {"type": "ECS"}},
        {"deploymentController": None},
    ),
    (
        "deploymentConfiguration defaults 200/100, breaker off",
        {"deploymentConfiguration": {"maximumPercent": 200}},
        {
            "deploymentConfiguration": {
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "deploymentCircuitBreaker": {"enable": False, "rollback": False},
                "alarms": {"alarmNames": [], "enable": False, "rollback": False},
            }
        },
    ),
    (
        "deploymentConfiguration empty",
        {"deploymentConfiguration": {}},
        {"deploymentConfiguration": None},
    ),
    (
        "assignPublicIp defaults to DISABLED",
        {
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED"}
            }
        },
        {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}},
    ),
    (
        "subnets and security groups in any order",
        {
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": ["a", "b", "c"], "securityGroups": ["x", "y"]}
            }
        },
        {
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": ["c", "a", "b"], "securityGroups": ["y", "x"]}
            }
        },
    ),
    (
        "tags in any order",
        {"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]},
        {"tags": [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}]},
    ),
    (
        "role name vs ARN",
        {"role": "ecsServiceRole"},
        {"role": "arn:aws:iam::123456789012:role/ecsServiceRole"},
    ),
    ("empty placementConstraints", {"placementConstraints": []}, {"placementConstraints": None}),
    (
        "enableExecuteCommand defaults to false",
        {"enableExecuteCommand": False},
        {"enableExecuteCommand": None},
    ),
    ("propagateTags defaults to NONE", {"propagateTags": "NONE"}, {"propagateTags": None}),
    (
        "healthCheckGracePeriodSeconds as text",
        {"healthCheckGracePeriodSeconds": "30"},
        {"healthCheckGracePeriodSeconds": 30},
    ),
    (
        "capacity providers in any order, base defaults to 0",
        {
            "launchType": None,
            "capacityProviderStrategy": [
                {"capacityProvider": "FARGATE_SPOT", "weight": 1},
                {"capacityProvider": "FARGATE", "weight": 1},
            ],
        },
        {
            "launchType": None,
            "capacityProviderStrategy": [
                {"capacityProvider": "FARGATE", "weight": 1, "base": 0},
                {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0},
            ],
        },
    ),
    (
        "DAEMON defaults 100/0",
        {
            "schedulingStrategy": "DAEMON",
            "desiredCount": None,
            "deploymentConfiguration": {"maximumPercent": 100},
        },
        {
            "schedulingStrategy": "DAEMON",
            "desiredCount": None,
            "deploymentConfiguration": {"minimumHealthyPercent": 0},
        },
    ),
]


def _with(doc: dict[str, Any], form: dict[str, Any], *, live: bool) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for key, value in form.items():
        if key == "role" and live:
            # DescribeServices returns the role as roleArn, always an ARN.
            key = "roleArn"
            if not value.startswith("arn:"):
                value = f"arn:aws:iam::123456789012:role/{value}"
        doc.pop(key, None)
        if value is not None:
            doc[key] = value
    return doc


@pytest.mark.parametrize("direction", ["a desired, b live", "b desired, a live"])
@pytest.mark.parametrize(
    ("rule", "a", "b"), SERVICE_EQUIVALENCES, ids=[r[0] for r in SERVICE_EQUIVALENCES]
)
def test_equivalent_services_give_no_diff(
    rule: str, a: dict[str, Any], b: dict[str, Any], direction: str
) -> None:
    wanted, actual = (a, b) if direction == "a desired, b live" else (b, a)
    desired = _with(desired_service(), wanted, live=False)
    live = _with(live_service(), actual, live=True)
    assert diff_service(desired, live) == ()
    # ...and a real change on top still shows, alone.
    desired["desiredCount"] = 5
    if desired.get("schedulingStrategy") != "DAEMON":
        assert diff_service(desired, live) == (FieldChange("desiredCount", 2, 5),)


def test_a_real_service_change_shows_with_its_path() -> None:
    desired = desired_service()
    desired["desiredCount"] = 4
    desired["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] = "ENABLED"
    desired["tags"].append({"key": "cost-center", "value": "42"})
    assert diff_service(desired, live_service()) == (
        FieldChange("desiredCount", 2, 4),
        FieldChange(
            "networkConfiguration.awsvpcConfiguration.assignPublicIp", "DISABLED", "ENABLED"
        ),
        FieldChange("tags[cost-center]", None, "42"),
    )


def test_a_changed_subnet_set_shows_the_whole_sorted_list() -> None:
    desired = desired_service()
    desired["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = [
        "subnet-0ccc3333",
        "subnet-0aaa1111",
    ]
    assert diff_service(desired, live_service()) == (
        FieldChange(
            "networkConfiguration.awsvpcConfiguration.subnets",
            ["subnet-0aaa1111", "subnet-0bbb2222"],
            ["subnet-0aaa1111", "subnet-0ccc3333"],
        ),
    )


def test_circuit_breaker_change_shows() -> None:
    desired = desired_service()
    desired["deploymentConfiguration"] = {"minimumHealthyPercent": 50}
    assert diff_service(desired, live_service()) == (
        FieldChange("deploymentConfiguration.deploymentCircuitBreaker.enable", True, False),
        FieldChange("deploymentConfiguration.deploymentCircuitBreaker.rollback", True, False),
        FieldChange("deploymentConfiguration.minimumHealthyPercent", 100, 50),
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"launchType": "EC2"}, FieldChange("launchType", "FARGATE", "EC2", replace=True)),
        (
            {"schedulingStrategy": "DAEMON", "desiredCount": None},
            FieldChange("schedulingStrategy", "REPLICA", "DAEMON", replace=True),
        ),
        (
            {"deploymentController": {"type": "CODE_DEPLOY"}},
            FieldChange("deploymentController.type", "ECS", "CODE_DEPLOY", replace=True),
        ),
        (
            {"role": "myServiceRole"},
            FieldChange("role", "AWSServiceRoleForECS", "myServiceRole", replace=True),
        ),
        (
            {"healthCheckGracePeriodSeconds": 60},
            FieldChange("healthCheckGracePeriodSeconds", 30, 60),
        ),
    ],
)
def test_replace_flags(edit: dict[str, Any], expected: FieldChange) -> None:
    changes = diff_service(_with(desired_service(), edit, live=False), live_service())
    assert expected in changes
    assert [c for c in changes if c.replace] == ([expected] if expected.replace else [])


def test_desired_count_is_autoscalings_when_a_scalable_target_exists() -> None:
    desired = {**desired_service(), "desiredCount": 3}
    assert diff_service(desired, live_service(), autoscaled=True) == ()
    assert diff_service(desired, live_service()) == (FieldChange("desiredCount", 2, 3),)


def test_placeholder_target_group_is_not_compared() -> None:
    desired = desired_service()
    desired["loadBalancers"][0]["targetGroupArn"] = "<+targetGroupArn>"
    assert diff_service(desired, live_service()) == ()
    desired["loadBalancers"][0]["containerPort"] = 8080
    paths = [c.path for c in diff_service(desired, live_service())]
    assert paths == ["loadBalancers[web/80]", "loadBalancers[web/8080]"]


def test_a_real_target_group_change_shows() -> None:
    desired = desired_service()
    desired["loadBalancers"][0]["targetGroupArn"] = (
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/staging-web-green/1"
    )
    (change,) = diff_service(desired, live_service())
    assert change.path == "loadBalancers[web/80].targetGroupArn"
    assert change.new.endswith("staging-web-green/1")


def test_fields_the_manifest_leaves_out_are_not_compared() -> None:
    live = live_service()
    live["enableECSManagedTags"] = True
    live["availabilityZoneRebalancing"] = "DISABLED"
    live["desiredCount"] = 7
    desired = desired_service()
    del desired["desiredCount"]
    assert diff_service(desired, live) == ()


def test_missing_live_service_names_it() -> None:
    assert diff_service(desired_service(), None) == (FieldChange("service", None, "web"),)


# --- autoscaling ------------------------------------------------------------------------


def desired_target() -> dict[str, Any]:
    return load("register_scalable_target_web.json")


def live_target() -> dict[str, Any]:
    return load("describe_scalable_targets_web.json")["ScalableTargets"][0]


def desired_policies() -> list[dict[str, Any]]:
    return load("put_scaling_policy_web.json")


def live_policies() -> list[dict[str, Any]]:
    return load("describe_scaling_policies_web.json")["ScalingPolicies"]


def test_recorded_autoscaling_is_in_sync() -> None:
    assert (
        diff_autoscaling(desired_target(), desired_policies(), live_target(), live_policies()) == ()
    )


def test_autoscaling_changes() -> None:
    target = {**desired_target(), "MaxCapacity": 20}
    policies = desired_policies()
    policies[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] = 60
    policies.append(
        {**policies[0], "PolicyName": "memory80", "PolicyType": "TargetTrackingScaling"}
    )
    changes = diff_autoscaling(target, policies, live_target(), live_policies())
    assert changes[0] == FieldChange("scalableTarget.MaxCapacity", 10, 20)
    assert changes[1] == FieldChange(
        "scalingPolicies[cpu70].TargetTrackingScalingPolicyConfiguration.TargetValue", 70.0, 60
    )
    assert changes[2].path == "scalingPolicies[memory80]" and changes[2].old is None
    assert len(changes) == 3


def test_autoscaling_removed_in_git_shows_target_and_policies_going() -> None:
    changes = diff_autoscaling(None, (), live_target(), live_policies())
    assert [(c.path, c.new) for c in changes] == [
        ("scalableTarget", None),
        ("scalingPolicies[cpu70]", None),
    ]
    assert changes[0].old["MaxCapacity"] == 10


def test_autoscaling_added_in_git() -> None:
    changes = diff_autoscaling(desired_target(), desired_policies(), None, ())
    assert [(c.path, c.old) for c in changes] == [
        ("scalableTarget", None),
        ("scalingPolicies[cpu70]", None),
    ]
    assert changes[0].new == {
        "MaxCapacity": 10,
        "MinCapacity": 2,
        "SuspendedState": {
            "DynamicScalingInSuspended": False,
            "DynamicScalingOutSuspended": False,
            "ScheduledScalingSuspended": False,
        },
    }


BLUE, GREEN = (f"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/{c}/1" for c in ("b", "g"))


def _native(primary: str, alternate: str) -> dict[str, Any]:
    return {
        "serviceName": "web",
        "loadBalancers": [
            {
                "targetGroupArn": primary,
                "containerName": "web",
                "containerPort": 80,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": alternate,
                    "productionListenerRule": "arn:aws:elasticloadbalancing:rule/p",
                    "roleArn": "arn:aws:iam::1:role/ecs-blue-green",
                },
            }
        ],
    }


def test_target_groups_that_ecs_blue_green_traded_are_no_drift() -> None:
    # after a native blue/green deployment the alternate serves production: ECS's doing
    assert diff_service(_native(BLUE, GREEN), _native(GREEN, BLUE)) == ()
    # a really different target group is still a change
    other = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/o/1"
    assert diff_service(_native(BLUE, GREEN), _native(other, BLUE))
