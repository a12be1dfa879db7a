"""Turn AWS documents into a canonical form in which "means the same" is "is equal".

ECS answers with documents that differ from the requests it was sent: it adds read-only
fields, fills defaults, converts units and returns lists in its own order. Each rule that
undoes one of those differences is one line of data in a ``Rules`` table below; the walk
that applies them is shared by every document kind. What ECS reports where, and which
defaults it fills, is ``controller.core.fields``: the tables here are built from it.

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

from controller.core.fields import (
    DAEMON_DEPLOYMENT_DEFAULTS,
    SERVICE_CHOSEN,
    SERVICE_DEFAULTS,
    SERVICE_REQUEST,
    SERVICE_STATE,
    TASK_DEFINITION_CHOSEN,
    TASK_DEFINITION_DEFAULTS,
    TASK_DEFINITION_STATE,
    Reported,
    with_dependent_task_definition_defaults,
    with_service_connect_defaults,
)
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
    is any port mapping of any container (``*`` is one list item). ``chosen`` paths are ECS's
    to fill when a request leaves them out: a diff compares them only where the desired document
    has a value.
    """

    drop: Mapping[str, frozenset[str]] = field(default_factory=dict)
    rename: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    coerce: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    keyed: Mapping[str, Keyed] = field(default_factory=dict)
    unordered: frozenset[str] = frozenset()
    chosen: frozenset[str] = frozenset()


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
    # Read-only fields DescribeTaskDefinition adds to what was registered.
    drop={"": TASK_DEFINITION_STATE},
    defaults=TASK_DEFINITION_DEFAULTS,
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
        f"{_CONTAINER}.resourceRequirements": Keyed(("type",), "value"),
        f"{_CONTAINER}.logConfiguration.secretOptions": Keyed(("name",), "valueFrom"),
        "proxyConfiguration.properties": Keyed(("name",), "value"),
        "volumes": Keyed(("name",)),
        "inferenceAccelerators": Keyed(("deviceName",)),
        "tags": Keyed(("key",), "value"),
    },
    unordered=frozenset({"requiresCompatibilities", "placementConstraints"}),
    chosen=frozenset(TASK_DEFINITION_CHOSEN),
)

_AWSVPC = "networkConfiguration.awsvpcConfiguration"
_SERVICE_CONNECT = "serviceConnectConfiguration"
_EBS = "volumeConfigurations.*.managedEBSVolume"

SERVICE_RULES = Rules(
    drop={
        # ECS's own state, the service's address, and what is diffed on its own (taskDefinition)
        # or is no setting at all: nothing of it is desired state.
        "": SERVICE_STATE
        | {
            name
            for name, spec in SERVICE_REQUEST.items()
            if spec.reported in (Reported.ADDRESS, Reported.OWN_DIFF, Reported.INSTRUCTION)
        },
    },
    # DescribeServices answers some request members under another name (role -> roleArn).
    rename={
        "": {
            str(spec.live_name): name
            for name, spec in SERVICE_REQUEST.items()
            if spec.reported is Reported.RENAMED
        }
    },
    defaults=SERVICE_DEFAULTS,
    coerce={"role": _role_name, "desiredCount": _int, "healthCheckGracePeriodSeconds": _int},
    keyed={
        "tags": Keyed(("key",), "value"),
        "loadBalancers": Keyed(("containerName", "containerPort", "loadBalancerName")),
        "capacityProviderStrategy": Keyed(("capacityProvider",)),
        "serviceRegistries": Keyed(("registryArn",)),
        f"{_SERVICE_CONNECT}.services": Keyed(("portName",)),
        f"{_SERVICE_CONNECT}.services.*.clientAliases": Keyed(("port",)),
        f"{_SERVICE_CONNECT}.logConfiguration.secretOptions": Keyed(("name",), "valueFrom"),
        "volumeConfigurations": Keyed(("name",)),
        f"{_EBS}.tagSpecifications": Keyed(("resourceType",)),
        f"{_EBS}.tagSpecifications.*.tags": Keyed(("key",), "value"),
        "vpcLatticeConfigurations": Keyed(("targetGroupArn", "portName")),
    },
    unordered=frozenset(
        {
            f"{_AWSVPC}.subnets",
            f"{_AWSVPC}.securityGroups",
            "placementConstraints",
            "deploymentConfiguration.alarms.alarmNames",
            "deploymentConfiguration.lifecycleHooks.*.lifecycleStages",
        }
    ),
    chosen=frozenset(SERVICE_CHOSEN),
)

# Service members DescribeServices reports only on its deployments.
_DEPLOYMENT_ONLY_FIELDS = tuple(
    name for name, spec in SERVICE_REQUEST.items() if spec.reported is Reported.DEPLOYMENT
)

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


def with_defaults(value: Any, defaults: Mapping[str, Mapping[str, Any]], *, at: str = "") -> Any:
    """``value`` (found at schema path ``at``) in its request shape, with ``defaults`` filled in.

    What ECS answers for a member it filled in: the defaults of ``controller.core.fields`` put
    into the document itself, lists kept as lists. Only what changes is copied.
    """
    if isinstance(value, list):
        return [with_defaults(item, defaults, at=f"{at}.*") for item in value]
    if not isinstance(value, dict):
        return value
    # a default that is itself a map gets its own defaults (deploymentCircuitBreaker: {} -> ...)
    return {
        key: with_defaults(item, defaults, at=child_schema(at, key))
        for key, item in {**defaults.get(at, {}), **value}.items()
    }


def canonical_json(value: Any) -> str:
    """One JSON text per canonical value: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def normalize_task_definition(doc: JsonDict) -> JsonDict:
    """RegisterTaskDefinition request or DescribeTaskDefinition ``taskDefinition`` -> canonical.

    The controller's digest tag is not content and is dropped.
    """
    # copies only of what is changed below: the walk builds a new document anyway
    doc = with_dependent_task_definition_defaults(doc)
    if isinstance(doc.get("tags"), list):
        doc = {**doc, "tags": [t for t in doc["tags"] if t.get("key") != DIGEST_TAG]}
    return normalize(doc, TASK_DEFINITION_RULES)


def normalize_service(doc: JsonDict) -> JsonDict:
    """CreateService request or DescribeServices ``services[]`` item -> canonical form.

    The members ECS reports only on deployments are read from the PRIMARY one, the deployment of
    the desired state. The controller's owner tag is not desired state and is dropped.
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
    if isinstance(doc.get(_SERVICE_CONNECT), dict):
        doc[_SERVICE_CONNECT] = with_service_connect_defaults(doc[_SERVICE_CONNECT])
    if doc.get("schedulingStrategy") == "DAEMON":
        deployment_configuration = doc.get("deploymentConfiguration") or {}
        doc["deploymentConfiguration"] = {**DAEMON_DEPLOYMENT_DEFAULTS, **deployment_configuration}
    return normalize(doc, SERVICE_RULES)


def normalize_scalable_target(doc: JsonDict) -> JsonDict:
    """RegisterScalableTarget request or DescribeScalableTargets item -> canonical form."""
    return normalize(doc, SCALABLE_TARGET_RULES)


def normalize_scaling_policy(doc: JsonDict) -> JsonDict:
    """PutScalingPolicy request or DescribeScalingPolicies item -> canonical form."""
    return normalize(doc, SCALING_POLICY_RULES)
