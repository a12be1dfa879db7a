"""ECS's rules for the deployments it runs itself (BLUE_GREEN, LINEAR, CANARY), at FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.core import ecs_deployment_rules
from controller.core.documents import parse_document
from controller.core.layout import load_repo
from controller.source.tree import read_tree

DATA = Path(__file__).resolve().parent.parent / "data"
MINIMAL = read_tree(DATA / "repos" / "minimal")

SVC = "staging/web/service.yaml"
DEPLOY = "staging/web/deploy.yaml"

BASE = """\
launchType: FARGATE
desiredCount: 2
networkConfiguration:
  awsvpcConfiguration:
    subnets: [subnet-1]
"""
BALANCER = """\
loadBalancers:
  - targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1
    containerName: web
    containerPort: 80
"""
ADVANCED = """\
    advancedConfiguration:
      alternateTargetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2
      productionListenerRule: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lb/1/2/3
      roleArn: arn:aws:iam::123456789012:role/ecs-infrastructure
"""


def configuration(strategy: str, extra: str = "") -> str:
    return f"deploymentConfiguration:\n  strategy: {strategy}\n{extra}"


def problems(service: str, *, deploy: str = "strategy: ecs\nimage: nginx:1.27\n") -> list[str]:
    """What ``validate`` reports for staging/web with this service.yaml and deploy.yaml."""
    state = load_repo({**MINIMAL, SVC: service, DEPLOY: deploy})
    return [str(p) for p in state.problems]


def test_a_blue_green_service_on_strategy_ecs_passes() -> None:
    service = BASE + configuration("BLUE_GREEN", "  bakeTimeInMinutes: 5\n") + BALANCER + ADVANCED
    assert problems(service) == []
    # and with the test listener rule (optional), hooks and alarms
    hooks = (
        "  lifecycleHooks:\n"
        "    - targetType: PAUSE\n"
        "      lifecycleStages: [POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT]\n"
        "  alarms: {alarmNames: [web-5xx], enable: true, rollback: true}\n"
    )
    test_rule = "      testListenerRule: arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/t\n"
    assert (
        problems(BASE + configuration("BLUE_GREEN", hooks) + BALANCER + ADVANCED + test_rule) == []
    )


@pytest.mark.parametrize("deploy_strategy", ["rolling", "canary", "blue-green"])
@pytest.mark.parametrize("native", ["BLUE_GREEN", "LINEAR", "CANARY"])
def test_a_native_strategy_with_the_controller_s_own_is_refused(
    deploy_strategy: str, native: str
) -> None:
    service = BASE + configuration(native) + BALANCER + ADVANCED
    found = problems(service, deploy=f"strategy: {deploy_strategy}\nimage: nginx:1.27\n")
    # (blue-green's own needs, its blueGreen block, are reported besides)
    assert [p for p in found if p.startswith(f"{SVC}:7:")] == [
        f"{SVC}:7: deploymentConfiguration.strategy {native} makes ECS run the deployment "
        f"itself, and deploy.yaml's strategy {deploy_strategy} would run its own: the two would "
        "fight over the service's tasks and traffic; set 'strategy: ecs' in deploy.yaml to let "
        "ECS deploy (or drop deploymentConfiguration.strategy)"
    ]


def test_rolling_stays_the_controller_s_to_run() -> None:
    assert (
        problems(
            BASE + configuration("ROLLING") + BALANCER,
            deploy="strategy: rolling\nimage: nginx:1.27\n",
        )
        == []
    )


@pytest.mark.parametrize("controller", ["CODE_DEPLOY", "EXTERNAL"])
def test_a_native_strategy_needs_the_ecs_deployment_controller(controller: str) -> None:
    service = (
        BASE
        + configuration("CANARY")
        + f"deploymentController:\n  type: {controller}\n"
        + BALANCER
        + ADVANCED
    )
    assert problems(service) == [
        f"{SVC}:9: deploymentConfiguration.strategy CANARY is run by the ECS deployment "
        f"controller, and this service's is {controller}: set deploymentController.type to ECS "
        "(or leave it out) to use ECS's own deployments"
    ]


@pytest.mark.parametrize(
    ("strategy", "member", "owner"),
    [
        ("BLUE_GREEN", "linearConfiguration", "LINEAR"),
        ("CANARY", "linearConfiguration", "LINEAR"),
        ("LINEAR", "canaryConfiguration", "CANARY"),
        ("ROLLING", "canaryConfiguration", "CANARY"),
    ],
)
def test_each_configuration_goes_with_its_strategy(strategy: str, member: str, owner: str) -> None:
    key = "stepPercent" if owner == "LINEAR" else "canaryPercent"
    service = (
        BASE + configuration(strategy, f"  {member}:\n    {key}: 10.0\n") + BALANCER + ADVANCED
    )
    assert problems(service) == [
        f"{SVC}:8: {member} is only valid with deploymentConfiguration.strategy {owner}; the "
        f"strategy is {strategy}"
    ]


def test_without_a_strategy_a_configuration_is_held_to_rolling() -> None:
    service = BASE + "deploymentConfiguration:\n  linearConfiguration:\n    stepPercent: 10.0\n"
    assert problems(service, deploy="strategy: rolling\nimage: nginx:1.27\n") == [
        f"{SVC}:7: linearConfiguration is only valid with deploymentConfiguration.strategy "
        "LINEAR; the strategy is ROLLING"
    ]


def test_every_load_balancer_needs_advanced_configuration() -> None:
    second = (
        "  - targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/3\n"
        "    containerName: web\n    containerPort: 80\n"
    )
    service = BASE + configuration("LINEAR") + BALANCER + ADVANCED + second
    assert problems(service) == [
        f"{SVC}:16: deploymentConfiguration.strategy LINEAR needs advancedConfiguration on every "
        "load balancer: alternateTargetGroupArn, productionListenerRule and roleArn "
        "(testListenerRule optional), so that ECS can shift traffic between the two target groups"
    ]


def test_advanced_configuration_needs_its_three_members() -> None:
    partial = (
        "    advancedConfiguration:\n"
        "      alternateTargetGroupArn: arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/g/2\n"
        "      testListenerRule: arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/t\n"
    )
    service = BASE + configuration("BLUE_GREEN") + BALANCER + partial
    assert problems(service) == [
        f"{SVC}:12: advancedConfiguration lacks productionListenerRule, roleArn: "
        "deploymentConfiguration.strategy BLUE_GREEN needs alternateTargetGroupArn, "
        "productionListenerRule and roleArn"
    ]


def test_a_native_strategy_without_a_load_balancer_is_not_held_to_advanced_configuration() -> None:
    # Service Connect services run blue/green without a load balancer
    assert problems(BASE + configuration("BLUE_GREEN")) == []


@pytest.mark.parametrize("stage", ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"])
def test_pause_hooks_are_refused_at_the_traffic_shifts(stage: str) -> None:
    hooks = (
        "  lifecycleHooks:\n"
        "    - targetType: PAUSE\n"
        f"      lifecycleStages:\n        - POST_SCALE_UP\n        - {stage}\n"
    )
    service = BASE + configuration("BLUE_GREEN", hooks) + BALANCER + ADVANCED
    assert problems(service) == [
        f"{SVC}:12: a PAUSE hook cannot be configured at {stage} (only AWS_LAMBDA hooks can): "
        "pause at POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT or "
        "POST_PRODUCTION_TRAFFIC_SHIFT instead"
    ]


def test_lambda_hooks_may_run_at_the_traffic_shifts_with_any_hook_details() -> None:
    hooks = (
        "  lifecycleHooks:\n"
        "    - targetType: AWS_LAMBDA\n"
        "      hookTargetArn: arn:aws:lambda:us-east-1:123456789012:function:check\n"
        "      roleArn: arn:aws:iam::123456789012:role/hooks\n"
        "      lifecycleStages: [TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT]\n"
        "      hookDetails:\n"
        "        anything: [1, {nested: true}, null, 2.5]\n"
        "        'with spaces': yes\n"
    )
    assert problems(BASE + configuration("BLUE_GREEN", hooks) + BALANCER + ADVANCED) == []


@pytest.mark.parametrize(
    ("strategy", "member", "key", "value", "shown"),
    [
        (
            "LINEAR",
            "linearConfiguration",
            "stepPercent",
            "2.9",
            "multiples of 0.1 from 3.0 to 100.0",
        ),
        (
            "LINEAR",
            "linearConfiguration",
            "stepPercent",
            "100.5",
            "multiples of 0.1 from 3.0 to 100.0",
        ),
        (
            "LINEAR",
            "linearConfiguration",
            "stepPercent",
            "12.25",
            "multiples of 0.1 from 3.0 to 100.0",
        ),
        ("LINEAR", "linearConfiguration", "stepBakeTimeInMinutes", "1441", "0 to 1440"),
        ("LINEAR", "linearConfiguration", "stepBakeTimeInMinutes", "-1", "0 to 1440"),
        (
            "CANARY",
            "canaryConfiguration",
            "canaryPercent",
            "0.05",
            "multiples of 0.1 from 0.1 to 100.0",
        ),
        (
            "CANARY",
            "canaryConfiguration",
            "canaryPercent",
            "101",
            "multiples of 0.1 from 0.1 to 100.0",
        ),
        ("CANARY", "canaryConfiguration", "canaryBakeTimeInMinutes", "2000", "0 to 1440"),
    ],
)
def test_ranges_ecs_enforces(strategy: str, member: str, key: str, value: str, shown: str) -> None:
    extra = f"  {member}:\n    {key}: {value}\n"
    service = BASE + configuration(strategy, extra) + BALANCER + ADVANCED
    assert problems(service) == [
        f"{SVC}:9: {member}.{key} {value} is not valid in ECS: valid values are {shown}"
    ]


@pytest.mark.parametrize(
    ("member", "values"),
    [
        ("linearConfiguration", "stepPercent: 3.0, stepBakeTimeInMinutes: 0"),
        ("linearConfiguration", "stepPercent: 100, stepBakeTimeInMinutes: 1440"),
        ("linearConfiguration", "stepPercent: 33.3"),
        ("canaryConfiguration", "canaryPercent: 0.1, canaryBakeTimeInMinutes: 1440"),
        ("canaryConfiguration", "canaryPercent: 100.0, canaryBakeTimeInMinutes: 0"),
    ],
)
def test_the_ends_of_the_ranges_are_valid(member: str, values: str) -> None:
    strategy = "LINEAR" if member == "linearConfiguration" else "CANARY"
    extra = f"  {member}: {{{values}}}\n"
    assert problems(BASE + configuration(strategy, extra) + BALANCER + ADVANCED) == []


# --- total bake time -----------------------------------------------------------------------------


def bake(service: str) -> float:
    doc, found = parse_document(SVC, service)
    assert doc is not None and not found
    assert isinstance(doc.value, dict)
    return ecs_deployment_rules.bake_minutes(doc.value)


def test_total_bake_time_by_strategy() -> None:
    assert bake(configuration("BLUE_GREEN", "  bakeTimeInMinutes: 15\n")) == 15
    # LINEAR 25%: four steps, three waits between them, then the bake
    linear = "  bakeTimeInMinutes: 5\n  linearConfiguration: {stepPercent: 25.0, stepBakeTimeInMinutes: 2}\n"
    assert bake(configuration("LINEAR", linear)) == 5 + 3 * 2
    # ECS's defaults: 10% steps (nine waits of 6 minutes), a 10-minute canary
    assert bake(configuration("LINEAR")) == 9 * 6
    assert bake(configuration("CANARY", "  bakeTimeInMinutes: 1\n")) == 10 + 1
    assert bake(configuration("ROLLING", "  bakeTimeInMinutes: 30\n")) == 0


def timeout_warnings(service: str, deploy: str, *, timeout_seconds: float) -> list[str]:
    documents = {}
    for kind, path, text in (("service", SVC, service), ("deploy", DEPLOY, deploy)):
        doc, found = parse_document(path, text)
        assert doc is not None and not found
        documents[kind] = doc
    assert isinstance(documents["service"].value, dict)
    return [
        str(p)
        for p in ecs_deployment_rules.timeout_warnings(
            documents, documents["service"].value, timeout_seconds=timeout_seconds
        )
    ]


def test_a_timeout_shorter_than_the_bake_time_is_a_warning_at_the_timeout() -> None:
    service = BASE + configuration("BLUE_GREEN", "  bakeTimeInMinutes: 15\n")
    deploy = "strategy: ecs\nimage: nginx:1.27\ntimeout: 10m\n"
    assert timeout_warnings(service, deploy, timeout_seconds=600) == [
        f"{DEPLOY}:3: warning: deploy.yaml's timeout (10 minutes) is shorter than the BLUE_GREEN "
        "deployment's total bake time (15 minutes): the controller would roll back every "
        "deployment while ECS is still baking; make timeout longer than the bake time"
    ]
    assert timeout_warnings(service, deploy, timeout_seconds=20 * 60) == []


def test_the_default_timeout_is_warned_of_at_the_deployment_configuration() -> None:
    service = BASE + configuration("CANARY", "  bakeTimeInMinutes: 5\n")
    assert timeout_warnings(service, "strategy: ecs\nimage: x\n", timeout_seconds=600) == [
        f"{SVC}:6: warning: deploy.yaml's timeout (the default, 10 minutes) is shorter than the "
        "CANARY deployment's total bake time (15 minutes): the controller would roll back every "
        "deployment while ECS is still baking; make timeout longer than the bake time"
    ]


def test_a_warning_holds_no_service_back() -> None:
    service = BASE + configuration("LINEAR", "  bakeTimeInMinutes: 5\n")  # 54 + 5 minutes
    files = {**MINIMAL, SVC: service, DEPLOY: "strategy: ecs\nimage: nginx:1.27\ntimeout: 30m\n"}
    state = load_repo(files)
    assert state.problems == () and "staging/web" in state.services
    assert [str(w) for w in ecs_deployment_rules.warnings(files, state)] == [
        f"{DEPLOY}:3: warning: deploy.yaml's timeout (30 minutes) is shorter than the LINEAR "
        "deployment's total bake time (59 minutes): the controller would roll back every "
        "deployment while ECS is still baking; make timeout longer than the bake time"
    ]


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        pytest.param(
            "    - lifecycleStages: [POST_SCALE_UP]\n",
            "an AWS_LAMBDA lifecycle hook (the default targetType) needs hookTargetArn, the "
            "Lambda function's ARN; set targetType: PAUSE for an approval gate",
            id="a Lambda hook without its function",
        ),
        pytest.param(
            "    - targetType: PAUSE\n",
            "a lifecycle hook needs lifecycleStages: the stages it runs at",
            id="a hook without stages",
        ),
    ],
)
def test_a_hook_names_its_stages_and_a_lambda_hook_its_function(hook: str, expected: str) -> None:
    service = BASE + configuration("BLUE_GREEN", "  lifecycleHooks:\n" + hook) + BALANCER + ADVANCED
    assert problems(service) == [f"{SVC}:9: {expected}"]
