"""Turn AWS documents into a canonical form in which "means the same" is "is equal".

ECS answers with documents that differ from the requests it was sent: it adds read-only
fields, fills defaults, converts units and returns lists in its own order. Each rule that
undoes one of those differences is one line of data in a ``Rules`` table below; the walk
that applies them is shared by every document kind.

The canonical form is a plain JSON value: dict keys sorted, ``None`` and empty lists and
maps dropped, and lists whose order AWS does not keep turned into maps keyed by their
identity (containers by ``name``, environment by ``name``, tags by ``key``...), so the
diff can name ``containerDefinitions[web].environment[LOG_LEVEL]``.

Purely computational.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core.model import JsonDict
from controller.core.ownership import without_owner

# The tag the controller puts on every task definition revision it registers: never content.
DIGEST_TAG = "ecs-gitops.digest"


@dataclass(frozen=True)
class Keyed:
    """A list whose order does not matter and whose items have an identity.

    ``fields`` make the identity (joined with "/"); ``value`` names the single field an item
    maps to (environment ``name`` -> ``value``), or None to keep the rest of the item.
    """

    fields: tuple[str, ...]
    value: str | None = None

    def key(self, item: JsonDict) -> str:
        return "/".join(str(item[f]) for f in self.fields if f in item)


@dataclass(frozen=True)
class Rules:
    """The normalisation rules of one document kind, indexed by schema path.

    A schema path names a place in the document: ``containerDefinitions.*.portMappings.*``
    is any port mapping of any container (``*`` is one list item).
    """

    drop: Mapping[str, frozenset[str]] = field(default_factory=dict)
    rename: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    coerce: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    keyed: Mapping[str, Keyed] = field(default_factory=dict)
    unordered: frozenset[str] = frozenset()


def _task_cpu(value: Any) -> str:
    """Task-level cpu as the API returns it: a string of CPU units ("0.25 vCPU" -> "256")."""
    text = str(value).strip()
    match = re.fullmatch(r"(?i)([0-9.]+)\s*vcpu", text)
    if match:
        return str(round(float(match.group(1)) * 1024))
    return _int_text(text)


def _task_memory(value: Any) -> str:
    """Task-level memory as the API returns it: a string of MiB ("1 GB" -> "1024")."""
    text = str(value).strip()
    match = re.fullmatch(r"(?i)([0-9.]+)\s*gb", text)
    if match:
        return str(round(float(match.group(1)) * 1024))
    match = re.fullmatch(r"(?i)([0-9.]+)\s*mi?b", text)
    if match:
        return _int_text(match.group(1))
    return _int_text(text)


def _int_text(text: str) -> str:
    try:
        return str(int(float(text)))
    except ValueError:
        return text


def _int(value: Any) -> Any:
    """Integers written as strings in a manifest ("512") equal the API's numbers (512)."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _role_name(value: Any) -> Any:
    """CreateService takes a role name or ARN; DescribeServices returns the ARN."""
    return str(value).rsplit("/", 1)[-1] if isinstance(value, str) else value


_CONTAINER = "containerDefinitions.*"

TASK_DEFINITION_RULES = Rules(
    drop={
        # Read-only fields DescribeTaskDefinition adds to what was registered.
        "": frozenset(
            {
                "taskDefinitionArn",
                "revision",
                "status",
                "requiresAttributes",
                "compatibilities",
                "registeredAt",
                "registeredBy",
                "deregisteredAt",
            }
        ),
    },
    defaults={
        # RegisterTaskDefinition: networkMode defaults to bridge (Linux).
        "": {"networkMode": "bridge", "enableFaultInjection": False},
        # A container is essential unless it says otherwise; cpu defaults to 0 units.
        _CONTAINER: {"essential": True, "cpu": 0},
        # A port mapping's protocol defaults to tcp.
        f"{_CONTAINER}.portMappings.*": {"protocol": "tcp"},
    },
    coerce={
        "cpu": _task_cpu,
        "memory": _task_memory,
        f"{_CONTAINER}.cpu": _int,
        f"{_CONTAINER}.memory": _int,
        f"{_CONTAINER}.memoryReservation": _int,
        f"{_CONTAINER}.portMappings.*.containerPort": _int,
        f"{_CONTAINER}.portMappings.*.hostPort": _int,
        "ephemeralStorage.sizeInGiB": _int,
    },
    keyed={
        "containerDefinitions": Keyed(("name",)),
        f"{_CONTAINER}.environment": Keyed(("name",), "value"),
        f"{_CONTAINER}.secrets": Keyed(("name",), "valueFrom"),
        f"{_CONTAINER}.portMappings": Keyed(("containerPort", "containerPortRange", "protocol")),
        f"{_CONTAINER}.mountPoints": Keyed(("containerPath",)),
        f"{_CONTAINER}.volumesFrom": Keyed(("sourceContainer",)),
        f"{_CONTAINER}.ulimits": Keyed(("name",)),
        f"{_CONTAINER}.dependsOn": Keyed(("containerName",)),
        f"{_CONTAINER}.extraHosts": Keyed(("hostname",), "ipAddress"),
        f"{_CONTAINER}.systemControls": Keyed(("namespace",), "value"),
        "volumes": Keyed(("name",)),
        "inferenceAccelerators": Keyed(("deviceName",)),
        "tags": Keyed(("key",), "value"),
    },
    unordered=frozenset({"requiresCompatibilities", "placementConstraints"}),
)

_AWSVPC = "networkConfiguration.awsvpcConfiguration"

SERVICE_RULES = Rules(
    drop={
        # Identity and runtime state DescribeServices adds; taskDefinition is diffed on its own.
        "": frozenset(
            {
                "cluster",
                "clusterArn",
                "serviceName",
                "serviceArn",
                "taskDefinition",
                "clientToken",
                "status",
                "runningCount",
                "pendingCount",
                "deployments",
                "taskSets",
                "events",
                "createdAt",
                "createdBy",
                "platformFamily",
                "currentServiceDeployment",
                "currentServiceRevisions",
            }
        ),
    },
    # DescribeServices returns the service role as roleArn; CreateService takes role.
    rename={"": {"roleArn": "role"}},
    defaults={
        "": {
            "schedulingStrategy": "REPLICA",
            # Fargate services run the LATEST platform version unless told otherwise.
            "platformVersion": "LATEST",
            "deploymentController": {"type": "ECS"},
            "deploymentConfiguration": {},
            "enableECSManagedTags": False,
            "enableExecuteCommand": False,
            "propagateTags": "NONE",
        },
        # REPLICA services: maximumPercent 200, minimumHealthyPercent 100, circuit breaker off.
        "deploymentConfiguration": {
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {},
            "alarms": {},
            "strategy": "ROLLING",
        },
        "deploymentConfiguration.deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "deploymentConfiguration.alarms": {"enable": False, "rollback": False},
        # awsvpc: assignPublicIp defaults to DISABLED.
        _AWSVPC: {"assignPublicIp": "DISABLED"},
        "capacityProviderStrategy.*": {"base": 0, "weight": 0},
    },
    coerce={"role": _role_name, "desiredCount": _int, "healthCheckGracePeriodSeconds": _int},
    keyed={
        "tags": Keyed(("key",), "value"),
        "loadBalancers": Keyed(("containerName", "containerPort", "loadBalancerName")),
        "capacityProviderStrategy": Keyed(("capacityProvider",)),
        "serviceRegistries": Keyed(("registryArn",)),
    },
    unordered=frozenset(
        {f"{_AWSVPC}.subnets", f"{_AWSVPC}.securityGroups", "placementConstraints"}
    ),
)

# DAEMON services default to maximumPercent 100 and minimumHealthyPercent 0.
_DAEMON_DEPLOYMENT_DEFAULTS: Mapping[str, Any] = {"maximumPercent": 100, "minimumHealthyPercent": 0}

# Fields of a primary deployment that DescribeServices reports only there, not on the service.
_DEPLOYMENT_ONLY_FIELDS = ("serviceConnectConfiguration", "volumeConfigurations")

SCALABLE_TARGET_RULES = Rules(
    drop={
        "": frozenset(
            {
                "ServiceNamespace",
                "ResourceId",
                "ScalableDimension",
                "CreationTime",
                "ScalableTargetARN",
                "Tags",
            }
        )
    },
    defaults={
        "": {"SuspendedState": {}},
        "SuspendedState": {
            "DynamicScalingInSuspended": False,
            "DynamicScalingOutSuspended": False,
            "ScheduledScalingSuspended": False,
        },
    },
    coerce={"MinCapacity": _int, "MaxCapacity": _int},
)

SCALING_POLICY_RULES = Rules(
    drop={
        "": frozenset(
            {
                "PolicyARN",
                "ServiceNamespace",
                "ResourceId",
                "ScalableDimension",
                "Alarms",
                "CreationTime",
            }
        )
    },
    # PutScalingPolicy: PolicyType defaults to StepScaling; scale-in is enabled by default.
    defaults={
        "": {"PolicyType": "StepScaling"},
        "TargetTrackingScalingPolicyConfiguration": {"DisableScaleIn": False},
    },
    keyed={"StepScalingPolicyConfiguration.StepAdjustments": Keyed(("MetricIntervalLowerBound",))},
)


def child_schema(schema: str, key: str) -> str:
    """The schema path of a map entry below ``schema``."""
    return f"{schema}.{key}" if schema else key


def normalize(doc: JsonDict, rules: Rules) -> JsonDict:
    """Apply ``rules`` to a whole document (the top-level schema path is "")."""
    result = _walk(doc, "", rules)
    return result if isinstance(result, dict) else {}


def _walk(value: Any, schema: str, rules: Rules) -> Any:
    if isinstance(value, dict):
        return _walk_map(value, schema, rules)
    if isinstance(value, list):
        items = [_walk(item, f"{schema}.*", rules) for item in value]
        items = [item for item in items if not _is_empty(item)]
        keyed = rules.keyed.get(schema)
        if keyed is not None:
            return _keyed_map(items, keyed)
        if schema in rules.unordered:
            return sorted(items, key=canonical_json)
        return items
    return value


def _walk_map(value: Mapping[str, Any], schema: str, rules: Rules) -> JsonDict:
    renames = rules.rename.get(schema, {})
    dropped = rules.drop.get(schema, frozenset())
    present: JsonDict = {}
    for key, item in value.items():
        key = renames.get(key, key)
        if key not in dropped and item is not None:
            present[key] = item
    for key, default in rules.defaults.get(schema, {}).items():
        present.setdefault(key, copy.deepcopy(default))
    result: JsonDict = {}
    for key in sorted(present):
        child = child_schema(schema, key)
        item = present[key]
        coerce = rules.coerce.get(child)
        if coerce is not None:
            item = coerce(item)
        item = _walk(item, child, rules)
        if not _is_empty(item):
            result[key] = item
    return result


def _keyed_map(items: list[Any], keyed: Keyed) -> JsonDict:
    result: JsonDict = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        key = keyed.key(item)
        if keyed.value is not None:
            result[key] = item.get(keyed.value, "")
        else:
            rest = {k: v for k, v in item.items() if k not in keyed.fields}
            result[key] = rest
    return dict(sorted(result.items()))


def _is_empty(value: Any) -> bool:
    # AWS returns [] / {} for lists and maps that were never set: the same as absent.
    return value is None or (isinstance(value, list | dict) and not value)


def canonical_json(value: Any) -> str:
    """One JSON text per canonical value: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def normalize_task_definition(doc: JsonDict) -> JsonDict:
    """RegisterTaskDefinition request or DescribeTaskDefinition ``taskDefinition`` -> canonical.

    The controller's digest tag is not content and is dropped.
    """
    # copies only of what is changed below: the walk builds a new document anyway
    doc = dict(doc)
    network_mode = doc.get("networkMode") or "bridge"
    if isinstance(doc.get("containerDefinitions"), list):
        doc["containerDefinitions"] = [
            _with_host_ports(container, network_mode) if isinstance(container, dict) else container
            for container in doc["containerDefinitions"]
        ]
    if isinstance(doc.get("tags"), list):
        doc["tags"] = [t for t in doc["tags"] if t.get("key") != DIGEST_TAG]
    return normalize(doc, TASK_DEFINITION_RULES)


def _with_host_ports(container: JsonDict, network_mode: str) -> JsonDict:
    mappings = container.get("portMappings")
    if not isinstance(mappings, list):
        return container
    filled = []
    for mapping in mappings:
        if (
            isinstance(mapping, dict)
            and "containerPort" in mapping
            and mapping.get("hostPort") is None
        ):
            if network_mode in ("awsvpc", "host"):
                # Under awsvpc and host networking, hostPort defaults to containerPort.
                mapping = {**mapping, "hostPort": mapping["containerPort"]}
            elif network_mode == "bridge":
                # Under bridge networking, an absent hostPort and hostPort 0 both mean dynamic.
                mapping = {**mapping, "hostPort": 0}
        filled.append(mapping)
    return {**container, "portMappings": filled}


def normalize_service(doc: JsonDict) -> JsonDict:
    """CreateService request or DescribeServices ``services[]`` item -> canonical form.

    The controller's owner tag is not desired state and is dropped.
    """
    doc = dict(doc)  # only top-level keys are set below: the walk builds a new document
    if isinstance(doc.get("tags"), list):
        doc["tags"] = without_owner(doc["tags"])
    for deployment in doc.get("deployments") or ():
        if deployment.get("status") != "PRIMARY":
            continue
        for name in _DEPLOYMENT_ONLY_FIELDS:
            if name not in doc and deployment.get(name) is not None:
                doc[name] = deployment[name]
    if doc.get("schedulingStrategy") == "DAEMON":
        deployment_configuration = doc.get("deploymentConfiguration") or {}
        doc["deploymentConfiguration"] = {**_DAEMON_DEPLOYMENT_DEFAULTS, **deployment_configuration}
    return normalize(doc, SERVICE_RULES)


def normalize_scalable_target(doc: JsonDict) -> JsonDict:
    """RegisterScalableTarget request or DescribeScalableTargets item -> canonical form."""
    return normalize(doc, SCALABLE_TARGET_RULES)


def normalize_scaling_policy(doc: JsonDict) -> JsonDict:
    """PutScalingPolicy request or DescribeScalingPolicies item -> canonical form."""
    return normalize(doc, SCALING_POLICY_RULES)
