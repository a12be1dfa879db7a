"""Normalisation rules: a manifest and an AWS answer that mean the same compare equal, both ways."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from controller.core.diff import diff_service, diff_task_definition, diff_unreported
from controller.core.normalize import (
    normalize_scalable_target,
    normalize_scaling_policy,
    normalize_service,
    normalize_task_definition,
)
from controller.core.plan import FieldChange

DATA = Path(__file__).parent.parent / "data" / "aws"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def base_task_definition() -> dict[str, Any]:
    """A small Fargate task definition, written as a user would write it."""
    return {
        "family": "web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "web",
                "image": "nginx:1.27",
                "essential": True,
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                "environment": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "REGION", "value": "eu-west-1"},
                ],
            },
            {"name": "sidecar", "image": "envoy:v1.29", "essential": False, "cpu": 64},
        ],
    }


Doc = dict[str, Any]
Edit = Callable[[Doc], None]


def _web(doc: Doc) -> Doc:
    return next(c for c in doc["containerDefinitions"] if c["name"] == "web")


def _set(path: str, value: Any) -> Edit:
    def edit(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = _web(target) if part == "web" else target[part]
        target[last] = value

    return edit


def _del(path: str) -> Edit:
    def edit(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = _web(target) if part == "web" else target[part]
        del target[last]

    return edit


def _edit_port(**changes: Any) -> Edit:
    def edit(doc: Doc) -> None:
        mapping = _web(doc)["portMappings"][0]
        for key, value in changes.items():
            if value is None:
                mapping.pop(key, None)
            else:
                mapping[key] = value

    return edit


def _reverse(path: str) -> Edit:
    def edit(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = _web(target) if part == "web" else target[part]
        target[last] = list(reversed(target[last]))

    return edit


def _add_read_only(doc: Doc) -> None:
    doc.update(
        {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4",
            "revision": 4,
            "status": "ACTIVE",
            "requiresAttributes": [{"name": "ecs.capability.task-eni"}],
            "compatibilities": ["EC2", "FARGATE"],
            "registeredAt": "2024-05-02T10:14:07+00:00",
            "registeredBy": "arn:aws:iam::123456789012:user/deployer",
            "deregisteredAt": "2024-06-02T10:14:07+00:00",
        }
    )


def _add_empty_lists(doc: Doc) -> None:
    doc.update({"volumes": [], "placementConstraints": [], "inferenceAccelerators": []})
    for container in doc["containerDefinitions"]:
        container.setdefault("environment", [])
        container.setdefault("portMappings", [])
        container.update(
            {"mountPoints": [], "volumesFrom": [], "systemControls": [], "secrets": []}
        )


def _bridge(doc: Doc) -> None:
    doc.pop("networkMode")
    doc["requiresCompatibilities"] = ["EC2"]
    _web(doc)["portMappings"] = [{"containerPort": 8080}]


def _bridge_as_aws_says(doc: Doc) -> None:
    doc["networkMode"] = "bridge"
    doc["requiresCompatibilities"] = ["EC2"]
    _web(doc)["portMappings"] = [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}]


def _tags(*keys: str) -> Edit:
    def edit(doc: Doc) -> None:
        doc["tags"] = [{"key": key, "value": f"v-{key}"} for key in keys]

    return edit


def _digest_tag(doc: Doc) -> None:
    doc["tags"] = [{"key": "ecs-gitops.digest", "value": "sha256:abc"}]


def _swap_containers(doc: Doc) -> None:
    doc["containerDefinitions"].reverse()


def _secrets(order: tuple[str, ...]) -> Edit:
    def edit(doc: Doc) -> None:
        _web(doc)["secrets"] = [
            {"name": name, "valueFrom": f"arn:aws:ssm:eu-west-1:123456789012:parameter/{name}"}
            for name in order
        ]

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(doc: Doc) -> None:
        for one in edits:
            one(doc)

    return edit


def _noop(doc: Doc) -> None:
    return None


# (rule, how a manifest may say it, how AWS may say the same thing)
TASK_DEFINITION_RULES: list[tuple[str, Edit, Edit]] = [
    ("read-only fields", _noop, _add_read_only),
    ("protocol defaults to tcp", _edit_port(protocol=None), _edit_port(protocol="tcp")),
    ("awsvpc hostPort = containerPort", _edit_port(hostPort=None), _edit_port(hostPort=80)),
    ("essential defaults to true", _del("web.essential"), _set("web.essential", True)),
    ("container cpu defaults to 0", _noop, _set("web.cpu", 0)),
    ("empty lists equal absent", _noop, _add_empty_lists),
    ("0.25 vCPU is 256", _set("cpu", "0.25 vCPU"), _set("cpu", "256")),
    (
        "1 vCPU is 1024",
        _both(_set("cpu", "1 vCPU"), _set("memory", "2048")),
        _both(_set("cpu", "1024"), _set("memory", "2048")),
    ),
    ("0.5 GB is 512", _set("memory", "0.5 GB"), _set("memory", "512")),
    ("1GB is 1024", _set("memory", "1GB"), _set("memory", "1024")),
    ("cpu int equals string", _set("cpu", 256), _set("cpu", "256")),
    ("memory int equals string", _set("memory", 512), _set("memory", "512")),
    ("container memory string equals int", _set("web.memory", "512"), _set("web.memory", 512)),
    ("environment order", _noop, _reverse("web.environment")),
    ("secrets order", _secrets(("A_TOKEN", "B_URL")), _secrets(("B_URL", "A_TOKEN"))),
    ("container order", _noop, _swap_containers),
    (
        "requiresCompatibilities order",
        _set("requiresCompatibilities", ["FARGATE", "EC2"]),
        _set("requiresCompatibilities", ["EC2", "FARGATE"]),
    ),
    ("tags order", _tags("app", "team"), _tags("team", "app")),
    ("digest tag is not content", _noop, _digest_tag),
    ("networkMode defaults to bridge; bridge hostPort 0 is dynamic", _bridge, _bridge_as_aws_says),
    ("enableFaultInjection defaults to false", _noop, _set("enableFaultInjection", False)),
    ("null equals absent", _set("taskRoleArn", None), _noop),
]


def _pair(manifest_edit: Edit, aws_edit: Edit) -> tuple[Doc, Doc]:
    manifest, aws = base_task_definition(), base_task_definition()
    manifest_edit(manifest)
    aws_edit(aws)
    return manifest, aws


@pytest.mark.parametrize("direction", ["rule on live side", "rule on desired side"])
@pytest.mark.parametrize(
    ("rule", "manifest_edit", "aws_edit"),
    TASK_DEFINITION_RULES,
    ids=[r[0] for r in TASK_DEFINITION_RULES],
)
def test_equivalent_task_definitions_give_no_diff(
    rule: str, manifest_edit: Edit, aws_edit: Edit, direction: str
) -> None:
    manifest, aws = _pair(manifest_edit, aws_edit)
    desired, live = (manifest, aws) if direction == "rule on live side" else (aws, manifest)
    assert normalize_task_definition(desired) == normalize_task_definition(live)
    assert diff_task_definition(desired, live) == ()


@pytest.mark.parametrize("direction", ["rule on live side", "rule on desired side"])
@pytest.mark.parametrize(
    ("rule", "manifest_edit", "aws_edit"),
    TASK_DEFINITION_RULES,
    ids=[r[0] for r in TASK_DEFINITION_RULES],
)
def test_a_real_change_on_top_of_an_equivalence_still_shows(
    rule: str, manifest_edit: Edit, aws_edit: Edit, direction: str
) -> None:
    manifest, aws = _pair(manifest_edit, aws_edit)
    desired, live = (manifest, aws) if direction == "rule on live side" else (aws, manifest)
    _web(desired)["image"] = "nginx:1.28"
    assert diff_task_definition(desired, live) == (
        FieldChange("containerDefinitions[web].image", "nginx:1.27", "nginx:1.28"),
    )


def test_the_recorded_aws_answer_equals_the_manifest_it_was_registered_from() -> None:
    manifest = load("register_task_definition_web.json")
    answer = load("describe_task_definition_web.json")
    live = {**answer["taskDefinition"], "tags": answer["tags"]}
    assert diff_task_definition(manifest, live) == ()


def test_the_recorded_bridge_answer_equals_its_manifest() -> None:
    manifest = load("register_task_definition_worker_bridge.json")
    answer = load("describe_task_definition_worker_bridge.json")
    assert diff_task_definition(manifest, answer["taskDefinition"]) == ()


def test_canonical_form_is_keyed_and_sorted() -> None:
    canonical = normalize_task_definition(base_task_definition())
    assert list(canonical["containerDefinitions"]) == ["sidecar", "web"]
    web = canonical["containerDefinitions"]["web"]
    assert web["environment"] == {"LOG_LEVEL": "info", "REGION": "eu-west-1"}
    assert web["portMappings"] == {"80/tcp": {"hostPort": 80}}
    assert "name" not in web


@pytest.mark.parametrize(
    ("network_mode", "host_port"), [("awsvpc", 8080), ("host", 8080), ("bridge", 0)]
)
def test_host_port_default_depends_on_network_mode(network_mode: str, host_port: int) -> None:
    doc = base_task_definition()
    doc["networkMode"] = network_mode
    _web(doc)["portMappings"] = [{"containerPort": 8080}]
    canonical = normalize_task_definition(doc)
    assert canonical["containerDefinitions"]["web"]["portMappings"]["8080/tcp"] == {
        "hostPort": host_port
    }


def test_recorded_service_answer_normalises_like_the_request_on_the_fields_it_sets() -> None:
    request = normalize_service(load("create_service_web.json"))
    live = normalize_service(load("describe_services_web.json")["services"][0])
    for key in request:
        assert request[key] == live[key], key
    # roleArn comes back renamed to the request's key, reduced to the role name.
    assert live["role"] == "AWSServiceRoleForECS"
    assert "deployments" not in live and "events" not in live


def test_daemon_services_default_to_100_and_0_percent() -> None:
    canonical = normalize_service({"serviceName": "agent", "schedulingStrategy": "DAEMON"})
    deployment = canonical["deploymentConfiguration"]
    assert (deployment["maximumPercent"], deployment["minimumHealthyPercent"]) == (100, 0)


def test_service_connect_is_read_from_the_primary_deployment() -> None:
    connect = {"enabled": True, "namespace": "staging"}
    live = {
        "serviceName": "web",
        "deployments": [
            {"status": "ACTIVE", "serviceConnectConfiguration": {"enabled": False}},
            {"status": "PRIMARY", "serviceConnectConfiguration": connect},
        ],
    }
    assert normalize_service(live)["serviceConnectConfiguration"] == connect


def test_autoscaling_documents_drop_identity_and_read_only_fields() -> None:
    target = normalize_scalable_target(
        load("describe_scalable_targets_web.json")["ScalableTargets"][0]
    )
    assert (
        target["MinCapacity"] == 2 and "CreationTime" not in target and "ResourceId" not in target
    )
    policy = normalize_scaling_policy(
        load("describe_scaling_policies_web.json")["ScalingPolicies"][0]
    )
    assert "Alarms" not in policy and "PolicyARN" not in policy
    assert normalize_scaling_policy(load("put_scaling_policy_web.json")[0]) == policy


def test_normalising_does_not_modify_its_input() -> None:
    doc = base_task_definition()
    before = copy.deepcopy(doc)
    normalize_task_definition(doc)
    normalize_service({"serviceName": "x", "schedulingStrategy": "DAEMON"})
    assert doc == before


def test_normalising_never_changes_the_document_it_is_given() -> None:
    from controller.core.normalize import normalize_service, normalize_task_definition

    task_definition = {
        "family": "web",
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}]}
        ],
        "tags": [{"key": "ecs-gitops.digest", "value": "sha256:x"}],
    }
    service = {
        "serviceName": "web",
        "schedulingStrategy": "DAEMON",
        "deployments": [{"status": "PRIMARY", "platformVersion": "1.4.0"}],
    }
    before = copy.deepcopy((task_definition, service))
    normalized = normalize_task_definition(task_definition)
    normalize_service(service)
    assert (task_definition, service) == before
    assert normalized["containerDefinitions"]["web"]["portMappings"]["80/tcp"]["hostPort"] == 80


# ---- members DescribeServices reports on deployments, with ECS's defaults, both directions -----

NAMESPACE = "corpus.local"


def _service(**members: Any) -> Doc:
    """A CreateService request as git renders it."""
    return {"cluster": "staging", "serviceName": "web", "desiredCount": 1, **members}


def _described(*, primary: Doc, active: Doc | None = None, **members: Any) -> Doc:
    """A DescribeServices item: ``primary`` (and ``active``) hold the deployment-only members."""
    deployments = [{"id": "ecs-svc/2", "status": "PRIMARY", **primary}]
    if active is not None:
        deployments.append({"id": "ecs-svc/1", "status": "ACTIVE", **active})
    return {
        "serviceName": "web",
        "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/staging/web",
        "status": "ACTIVE",
        "desiredCount": 1,
        "deployments": deployments,
        **members,
    }


def _connect(**service: Any) -> Doc:
    return {
        "enabled": True,
        "namespace": NAMESPACE,
        "services": [{"portName": "http", "clientAliases": [{"port": 80}], **service}],
    }


def _filled_connect(**service: Any) -> Doc:
    """What ECS answers for _connect(): its naming defaults written out."""
    connect = _connect(discoveryName="http", **service)
    connect["services"][0]["clientAliases"] = [{"port": 80, "dnsName": f"http.{NAMESPACE}"}]
    return connect


def _volume(**managed: Any) -> Doc:
    return {
        "name": "data",
        "managedEBSVolume": {
            "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole",
            "sizeInGiB": 20,
            **managed,
        },
    }


# (rule, the member as git may write it, the same member as ECS may report it on the deployment)
DEPLOYMENT_EQUIVALENCES: list[tuple[str, str, Any, Any]] = [
    (
        "discoveryName and dnsName default from portName and namespace",
        "serviceConnectConfiguration",
        _connect(),
        _filled_connect(),
    ),
    (
        "access logs leave out query parameters by default",
        "serviceConnectConfiguration",
        {**_connect(), "accessLogConfiguration": {"format": "JSON"}},
        {
            **_filled_connect(),
            "accessLogConfiguration": {"format": "JSON", "includeQueryParameters": "DISABLED"},
        },
    ),
    (
        "the proxy's log level defaults to info",
        "serviceConnectConfiguration",
        {**_connect(), "containerConfigurations": [{}]},
        {**_filled_connect(), "containerConfigurations": [{"logLevel": "info"}]},
    ),
    (
        "services and aliases in another order",
        "serviceConnectConfiguration",
        {
            **_connect(),
            "services": [
                {"portName": "http", "clientAliases": [{"port": 80}, {"port": 8080}]},
                {"portName": "grpc", "clientAliases": [{"port": 9090}]},
            ],
        },
        {
            **_connect(),
            "services": [
                {"portName": "grpc", "clientAliases": [{"port": 9090}]},
                {"portName": "http", "clientAliases": [{"port": 8080}, {"port": 80}]},
            ],
        },
    ),
    (
        "an EBS volume is xfs by default",
        "volumeConfigurations",
        [_volume()],
        [_volume(filesystemType="xfs")],
    ),
    (
        "EBS tags are not propagated by default",
        "volumeConfigurations",
        [_volume(tagSpecifications=[{"resourceType": "volume"}])],
        [_volume(tagSpecifications=[{"resourceType": "volume", "propagateTags": "NONE"}])],
    ),
    (
        "VPC Lattice configurations in another order",
        "vpcLatticeConfigurations",
        [
            {"roleArn": "arn:r", "targetGroupArn": "arn:tg/a", "portName": "http"},
            {"roleArn": "arn:r", "targetGroupArn": "arn:tg/b", "portName": "http"},
        ],
        [
            {"roleArn": "arn:r", "targetGroupArn": "arn:tg/b", "portName": "http"},
            {"roleArn": "arn:r", "targetGroupArn": "arn:tg/a", "portName": "http"},
        ],
    ),
]


@pytest.mark.parametrize("direction", ["rule on live side", "rule on desired side"])
@pytest.mark.parametrize(
    ("rule", "member", "written", "reported"),
    DEPLOYMENT_EQUIVALENCES,
    ids=[r[0] for r in DEPLOYMENT_EQUIVALENCES],
)
def test_a_deployment_only_member_is_read_from_the_primary_deployment_with_ecs_defaults(
    rule: str, member: str, written: Any, reported: Any, direction: str
) -> None:
    git_side, aws_side = (
        (written, reported)
        if direction == "rule on live side"
        else (
            reported,
            written,
        )
    )
    desired = _service(**{member: git_side})
    live = _described(primary={member: aws_side})
    assert diff_service(desired, live) == ()


@pytest.mark.parametrize(
    ("member", "written", "changed", "path"),
    [
        (
            "serviceConnectConfiguration",
            _connect(),
            _connect(discoveryName="web"),
            "serviceConnectConfiguration.services[http].discoveryName",
        ),
        (
            "serviceConnectConfiguration",
            _connect(),
            {**_connect(), "services": [{"portName": "http", "clientAliases": [{"port": 81}]}]},
            "serviceConnectConfiguration.services[http].clientAliases[80]",
        ),
        (
            "serviceConnectConfiguration",
            _connect(),
            {**_connect(), "namespace": "other.local"},
            "serviceConnectConfiguration.namespace",
        ),
        (
            "volumeConfigurations",
            [_volume()],
            [_volume(sizeInGiB=40)],
            "volumeConfigurations[data].managedEBSVolume.sizeInGiB",
        ),
        (
            "volumeConfigurations",
            [_volume()],
            [_volume(filesystemType="ext4")],
            "volumeConfigurations[data].managedEBSVolume.filesystemType",
        ),
    ],
)
def test_a_real_change_of_a_deployment_only_member_shows(
    member: str, written: Any, changed: Any, path: str
) -> None:
    changes = diff_service(_service(**{member: changed}), _described(primary={member: written}))
    assert path in [c.path for c in changes], changes


def test_only_the_primary_deployment_carries_the_desired_state() -> None:
    live = _described(primary={}, active={"serviceConnectConfiguration": _filled_connect()})
    (change,) = diff_service(_service(serviceConnectConfiguration=_connect()), live)
    assert (change.path, change.old) == ("serviceConnectConfiguration", None)

    back = _described(primary={"serviceConnectConfiguration": _filled_connect()}, active={})
    assert diff_service(_service(serviceConnectConfiguration=_connect()), back) == ()


@pytest.mark.parametrize(
    ("member", "written", "reported"),
    [
        # the cluster's default namespace, its dnsName
        (
            "serviceConnectConfiguration",
            {"enabled": True},
            {"enabled": True, "namespace": NAMESPACE},
        ),
        (
            "serviceConnectConfiguration",
            {"enabled": True, "services": [{"portName": "http", "clientAliases": [{"port": 80}]}]},
            {**_filled_connect(), "namespace": NAMESPACE},
        ),
        # a namespace given by ARN: the dnsName ECS derives cannot be known here
        (
            "serviceConnectConfiguration",
            {**_connect(), "namespace": "arn:aws:servicediscovery:us-east-1:1:namespace/ns-1"},
            {
                **_connect(discoveryName="http"),
                "namespace": "arn:aws:servicediscovery:us-east-1:1:namespace/ns-1",
                "services": [
                    {
                        "portName": "http",
                        "discoveryName": "http",
                        "clientAliases": [{"port": 80, "dnsName": "http.corp"}],
                        "ingressPortOverride": 8080,
                        "timeout": {"idleTimeoutSeconds": 300},
                    }
                ],
            },
        ),
        # the account's EBS encryption, the volume type's performance
        (
            "volumeConfigurations",
            [_volume()],
            [
                _volume(
                    volumeType="gp3",
                    iops=3000,
                    throughput=125,
                    encrypted=True,
                    kmsKeyId="arn:aws:kms:us-east-1:1:key/k",
                )
            ],
        ),
    ],
)
def test_a_member_ecs_fills_in_from_elsewhere_is_compared_only_when_git_sets_it(
    member: str, written: Any, reported: Any
) -> None:
    assert diff_service(_service(**{member: written}), _described(primary={member: reported})) == ()


def test_a_member_ecs_would_fill_in_is_compared_when_git_sets_it() -> None:
    written = [_volume(volumeType="io2", iops=4000)]
    reported = [_volume(volumeType="gp3", iops=3000)]
    changes = diff_service(
        _service(volumeConfigurations=written),
        _described(primary={"volumeConfigurations": reported}),
    )
    assert {c.path: (c.old, c.new) for c in changes} == {
        "volumeConfigurations[data].managedEBSVolume.iops": (3000, 4000),
        "volumeConfigurations[data].managedEBSVolume.volumeType": ("gp3", "io2"),
    }


def test_members_describe_services_never_reports_are_no_drift() -> None:
    monitoring = {"metricConfigurations": [{"metricNames": ["CPU"], "resolutionSeconds": 1}]}
    desired = _service(monitoring=monitoring, gatewayConnectors=[{"portName": "http"}])
    assert diff_service(desired, _described(primary={})) == ()


@pytest.mark.parametrize(
    ("applied", "expected"),
    [
        (None, ()),  # nothing recorded: nothing to compare with
        ("sha256:now", ()),  # git unchanged since it was applied
        (
            "sha256:before",
            (
                FieldChange("gatewayConnectors", "(not reported by ECS)", [{"portName": "http"}]),
                FieldChange("monitoring", "(not reported by ECS)", {"metricConfigurations": []}),
            ),
        ),
    ],
)
def test_unreported_members_change_only_with_what_was_last_applied(
    applied: str | None, expected: tuple[FieldChange, ...]
) -> None:
    desired = _service(
        gatewayConnectors=[{"portName": "http"}], monitoring={"metricConfigurations": []}
    )
    assert diff_unreported(desired, applied_state=applied, desired_state="sha256:now") == expected


# ---- task definitions: defaults ECS writes into DescribeTaskDefinition's answer ----------------


def _efs(**config: Any) -> Edit:
    def edit(doc: Doc) -> None:
        doc["volumes"] = [
            {"name": "content", "efsVolumeConfiguration": {"fileSystemId": "fs-1", **config}}
        ]

    return edit


def _health(**check: Any) -> Edit:
    return _set("web.healthCheck", {"command": ["CMD", "true"], **check})


MORE_TASK_DEFINITION_RULES: list[tuple[str, Edit, Edit]] = [
    ("EFS rootDirectory defaults to /", _efs(), _efs(rootDirectory="/")),
    (
        "EFS transit encryption and IAM default to DISABLED",
        _efs(authorizationConfig={"accessPointId": "fsap-1"}),
        _efs(
            transitEncryption="DISABLED",
            authorizationConfig={"accessPointId": "fsap-1", "iam": "DISABLED"},
        ),
    ),
    (
        "health check timings default to 30/5/3",
        _health(),
        _health(interval=30, timeout=5, retries=3),
    ),
    (
        "resource requirements in another order",
        _set(
            "web.resourceRequirements",
            [{"type": "GPU", "value": "1"}, {"type": "InferenceAccelerator", "value": "a"}],
        ),
        _set(
            "web.resourceRequirements",
            [{"type": "InferenceAccelerator", "value": "a"}, {"type": "GPU", "value": "1"}],
        ),
    ),
    (
        "App Mesh proxy properties in another order",
        _set(
            "proxyConfiguration",
            {
                "type": "APPMESH",
                "containerName": "envoy",
                "properties": [
                    {"name": "AppPorts", "value": "80"},
                    {"name": "IgnoredUID", "value": "1337"},
                ],
            },
        ),
        _set(
            "proxyConfiguration",
            {
                "type": "APPMESH",
                "containerName": "envoy",
                "properties": [
                    {"name": "IgnoredUID", "value": "1337"},
                    {"name": "AppPorts", "value": "80"},
                ],
            },
        ),
    ),
]


@pytest.mark.parametrize("direction", ["rule on live side", "rule on desired side"])
@pytest.mark.parametrize(
    ("rule", "manifest_edit", "aws_edit"),
    MORE_TASK_DEFINITION_RULES,
    ids=[r[0] for r in MORE_TASK_DEFINITION_RULES],
)
def test_task_definition_defaults_ecs_writes_give_no_diff(
    rule: str, manifest_edit: Edit, aws_edit: Edit, direction: str
) -> None:
    manifest, aws = _pair(manifest_edit, aws_edit)
    desired, live = (manifest, aws) if direction == "rule on live side" else (aws, manifest)
    assert diff_task_definition(desired, live) == ()


def test_an_efs_root_directory_that_is_not_the_root_is_a_change() -> None:
    manifest, aws = _pair(_efs(rootDirectory="/wp"), _efs())
    (change,) = diff_task_definition(manifest, aws)
    assert (change.path, change.old, change.new) == (
        "volumes[content].efsVolumeConfiguration.rootDirectory",
        "/",
        "/wp",
    )


def test_defaults_are_filled_into_a_request_shaped_document() -> None:
    from controller.core.fields import SERVICE_DEFAULTS
    from controller.core.normalize import with_defaults

    given = [_volume(tagSpecifications=[{"resourceType": "volume"}])]
    filled = with_defaults(given, SERVICE_DEFAULTS, at="volumeConfigurations")
    managed = filled[0]["managedEBSVolume"]
    assert managed["filesystemType"] == "xfs"
    assert managed["tagSpecifications"] == [{"resourceType": "volume", "propagateTags": "NONE"}]
    assert "filesystemType" not in given[0]["managedEBSVolume"]  # the input is left alone
