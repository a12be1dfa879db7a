"""Where ECS reports each field the controller sends it, and what ECS fills in when one is left out.

The controller compares what git asks for (CreateService, RegisterTaskDefinition requests) with
what ECS describes (DescribeServices, DescribeTaskDefinition). The two shapes differ: some request
members come back under another name, some only on the service's deployments, some never; ECS
adds read-only state, and fills in defaults. Every such fact is one entry of the tables below,
each with the AWS rule it follows, and ``controller.core.normalize`` builds its rules from them.
tests/core/test_fields.py holds the tables against botocore's ECS model: a member the model gains
and the tables do not classify fails that test, so a new API field gets a decision instead of a
silent false drift.

Schema paths name places in a document: ``volumeConfigurations.*.managedEBSVolume`` is the
managed EBS volume of any volume configuration (``*`` is one list item).

Purely computational.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controller.core.model import JsonDict


class Reported(StrEnum):
    """Where the describe call answers with a request member's value."""

    # DescribeServices / DescribeTaskDefinition return it under the same name
    SAME = "same"
    # returned under another name (``Field.live_name``)
    RENAMED = "renamed"
    # DescribeServices returns it only on ``deployments[]`` (and on the service revision):
    # read from the PRIMARY deployment, the one that carries the desired state
    DEPLOYMENT = "deployment"
    # DescribeTaskDefinition(include=[TAGS]) returns it beside ``taskDefinition``
    BESIDE = "beside"
    # never returned by the describe call the controller reads: not compared with live state;
    # what the controller last applied stands for it (see ``diff.diff_unreported``)
    NEVER = "never"
    # names the resource rather than describing it (cluster, service name)
    ADDRESS = "address"
    # compared on its own: the service's revision is diffed as a whole task definition
    OWN_DIFF = "own-diff"
    # a one-off instruction to the call, not state (idempotency token, forced deployment)
    INSTRUCTION = "instruction"


@dataclass(frozen=True)
class Field:
    """One request member: where it is reported, and the AWS rule that says so."""

    reported: Reported
    rule: str
    live_name: str | None = None


_ON_SERVICE = Field(Reported.SAME, "a member of DescribeServices' Service")

# Every member of CreateServiceRequest and UpdateServiceRequest.
SERVICE_REQUEST: Mapping[str, Field] = {
    "cluster": Field(Reported.ADDRESS, "the cluster that hosts the service"),
    "serviceName": Field(Reported.ADDRESS, "CreateService: the name of the service"),
    "service": Field(Reported.ADDRESS, "UpdateService: the name of the service to update"),
    "taskDefinition": Field(Reported.OWN_DIFF, "the revision's content is diffed on its own"),
    "clientToken": Field(Reported.INSTRUCTION, "an idempotency token, not a setting"),
    "forceNewDeployment": Field(
        Reported.INSTRUCTION, "UpdateService: start a new deployment now; never a setting"
    ),
    "availabilityZoneRebalancing": _ON_SERVICE,
    "loadBalancers": _ON_SERVICE,
    "serviceRegistries": _ON_SERVICE,
    "desiredCount": _ON_SERVICE,
    "launchType": _ON_SERVICE,
    "capacityProviderStrategy": _ON_SERVICE,
    "platformVersion": _ON_SERVICE,
    "role": Field(
        Reported.RENAMED,
        "CreateService takes the role's name or ARN; DescribeServices answers roleArn",
        live_name="roleArn",
    ),
    "deploymentConfiguration": _ON_SERVICE,
    "placementConstraints": _ON_SERVICE,
    "placementStrategy": _ON_SERVICE,
    "networkConfiguration": _ON_SERVICE,
    "healthCheckGracePeriodSeconds": _ON_SERVICE,
    "schedulingStrategy": _ON_SERVICE,
    "deploymentController": _ON_SERVICE,
    "tags": Field(Reported.SAME, "DescribeServices(include=[TAGS]) returns them on the service"),
    "enableECSManagedTags": _ON_SERVICE,
    "propagateTags": _ON_SERVICE,
    "enableExecuteCommand": _ON_SERVICE,
    "serviceConnectConfiguration": Field(
        Reported.DEPLOYMENT,
        "Deployment.serviceConnectConfiguration: 'The details of the Service Connect "
        "configuration that's used by this deployment'",
    ),
    "volumeConfigurations": Field(
        Reported.DEPLOYMENT,
        "Deployment.volumeConfigurations: 'The details of the volume that was configuredAtLaunch'",
    ),
    "vpcLatticeConfigurations": Field(
        Reported.DEPLOYMENT,
        "Deployment.vpcLatticeConfigurations: 'The VPC Lattice configuration for the service "
        "deployment'",
    ),
    "gatewayConnectors": Field(
        Reported.NEVER, "only DescribeServiceRevisions returns it, on the service revision"
    ),
    "monitoring": Field(
        Reported.NEVER, "only DescribeServiceRevisions returns it, on the service revision"
    ),
}

# Members of DescribeServices' Service that are ECS's own state, never a request's.
SERVICE_STATE: frozenset[str] = frozenset(
    {
        "serviceArn",
        "clusterArn",
        "status",
        "runningCount",
        "pendingCount",
        "platformFamily",
        "taskSets",
        "deployments",
        "events",
        "createdAt",
        "createdBy",
        "currentServiceDeployment",
        "currentServiceRevisions",
        "resourceManagementType",
    }
)

_ON_TASK_DEFINITION = Field(Reported.SAME, "a member of DescribeTaskDefinition's TaskDefinition")

# Every member of RegisterTaskDefinitionRequest.
TASK_DEFINITION_REQUEST: Mapping[str, Field] = {
    "family": _ON_TASK_DEFINITION,
    "taskRoleArn": _ON_TASK_DEFINITION,
    "executionRoleArn": _ON_TASK_DEFINITION,
    "networkMode": _ON_TASK_DEFINITION,
    "containerDefinitions": _ON_TASK_DEFINITION,
    "volumes": _ON_TASK_DEFINITION,
    "placementConstraints": _ON_TASK_DEFINITION,
    "requiresCompatibilities": _ON_TASK_DEFINITION,
    "cpu": _ON_TASK_DEFINITION,
    "memory": _ON_TASK_DEFINITION,
    "tags": Field(
        Reported.BESIDE, "DescribeTaskDefinition(include=[TAGS]) answers them beside the revision"
    ),
    "pidMode": _ON_TASK_DEFINITION,
    "ipcMode": _ON_TASK_DEFINITION,
    "proxyConfiguration": _ON_TASK_DEFINITION,
    "inferenceAccelerators": _ON_TASK_DEFINITION,
    "ephemeralStorage": _ON_TASK_DEFINITION,
    "runtimePlatform": _ON_TASK_DEFINITION,
    "enableFaultInjection": _ON_TASK_DEFINITION,
    "trustedExecutionConfiguration": _ON_TASK_DEFINITION,
}

# Members of DescribeTaskDefinition's TaskDefinition that ECS adds to what was registered.
TASK_DEFINITION_STATE: frozenset[str] = frozenset(
    {
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
        "deleteRequestedAt",
    }
)

# ---- defaults: what ECS uses when a request leaves a member out ------------------------------
# A default is applied to both sides before comparing, so a member written with its default value
# and the same member left out compare equal, whichever side ECS answers with.

SERVICE_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "": {
        # "If no deployment controller is specified, the default value of ECS is used."
        "deploymentController": {"type": "ECS"},
        # REPLICA "is the default scheduling strategy"
        "schedulingStrategy": "REPLICA",
        # Fargate services run the LATEST platform version unless told otherwise.
        "platformVersion": "LATEST",
        "deploymentConfiguration": {},
        "enableECSManagedTags": False,
        "enableExecuteCommand": False,
        # propagateTags: "The default is NONE."
        "propagateTags": "NONE",
        # "If you do not specify a health check grace period value, the default value of 0 is used."
        "healthCheckGracePeriodSeconds": 0,
    },
    "deploymentConfiguration": {
        # "The default maximumPercent value for a service using the REPLICA service scheduler is
        # 200%"; "The default value for a replica service for minimumHealthyPercent is 100%."
        # (DAEMON services: see DAEMON_DEPLOYMENT_DEFAULTS.)
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {},
        "alarms": {},
        # Rolling updates "are the default deployment strategy for services"
        "strategy": "ROLLING",
    },
    # The circuit breaker and alarms are off unless enabled; resetOnHealthyTask: "The default is
    # true."
    "deploymentConfiguration.deploymentCircuitBreaker": {
        "enable": False,
        "rollback": False,
        "resetOnHealthyTask": True,
    },
    "deploymentConfiguration.alarms": {"enable": False, "rollback": False},
    # lifecycle hook targetType: "If not specified, the default value is AWS_LAMBDA."
    "deploymentConfiguration.lifecycleHooks.*": {"targetType": "AWS_LAMBDA"},
    # "Default: 1440 (24 hours)", "Default: ROLLBACK"
    "deploymentConfiguration.lifecycleHooks.*.timeoutConfiguration": {
        "timeoutInMinutes": 1440,
        "action": "ROLLBACK",
    },
    # stepPercent "The default value is 10.0", stepBakeTimeInMinutes "The default value is 6."
    "deploymentConfiguration.linearConfiguration": {
        "stepPercent": 10.0,
        "stepBakeTimeInMinutes": 6,
    },
    # canaryPercent "The default value is 5.0", canaryBakeTimeInMinutes "The default value is 10."
    "deploymentConfiguration.canaryConfiguration": {
        "canaryPercent": 5.0,
        "canaryBakeTimeInMinutes": 10,
    },
    # earlySuccessCriteria.enable: "The default value is false."
    "deploymentConfiguration.earlySuccessCriteria": {"enable": False},
    # assignPublicIp: "When you use create-service or update-service, the default is DISABLED."
    "networkConfiguration.awsvpcConfiguration": {"assignPublicIp": "DISABLED"},
    # base and weight: "If no value is specified, the default value of 0 is used."
    "capacityProviderStrategy.*": {"base": 0, "weight": 0},
    # includeQueryParameters: "By default, this parameter is DISABLED."
    "serviceConnectConfiguration.accessLogConfiguration": {"includeQueryParameters": "DISABLED"},
    # logLevel: "If you don't specify a log level, the default is info."
    "serviceConnectConfiguration.containerConfigurations.*": {"logLevel": "info"},
    # filesystemType: "If no value is specified, the xfs filesystem type is used by default."
    "volumeConfigurations.*.managedEBSVolume": {"filesystemType": "xfs"},
    # EBS propagateTags: "If no value is specified, the tags aren't propagated."
    "volumeConfigurations.*.managedEBSVolume.tagSpecifications.*": {"propagateTags": "NONE"},
}

# DAEMON services: "The default minimumHealthyPercent value for a service using the DAEMON service
# schedule is 0%", and a daemon runs one task per instance: maximumPercent 100.
DAEMON_DEPLOYMENT_DEFAULTS: Mapping[str, Any] = {"maximumPercent": 100, "minimumHealthyPercent": 0}

# Members ECS picks a value for when the request leaves them out, from things the request does not
# say (the cluster, the account, the task definition): compared only when git sets them.
SERVICE_CHOSEN: Mapping[str, str] = {
    "serviceConnectConfiguration.namespace": (
        "the cluster's default Service Connect namespace: 'any new services with Service Connect "
        "turned on that are created in the cluster are added as client services in the namespace'"
    ),
    "serviceConnectConfiguration.services.*.clientAliases.*.dnsName": (
        "'the default value of discoveryName.namespace is used' (filled in below when the "
        "namespace is given by name; an ARN or the cluster's namespace leaves it to ECS)"
    ),
    "serviceConnectConfiguration.services.*.ingressPortOverride": (
        "'In awsvpc mode and Fargate, the default value is the container port number. In bridge "
        "mode, the default value is the ephemeral port of the Service Connect proxy.'"
    ),
    "serviceConnectConfiguration.services.*.timeout": (
        "'The idleTimeout default for HTTP/HTTP2/GRPC is 5 minutes. The idleTimeout default for "
        "TCP is 1 hour.' (the protocol is the task definition's)"
    ),
    "serviceConnectConfiguration.services.*.timeout.idleTimeoutSeconds": "as above",
    "serviceConnectConfiguration.services.*.timeout.perRequestTimeoutSeconds": "as above",
    "volumeConfigurations.*.managedEBSVolume.volumeType": "ECS's choice of volume type",
    "volumeConfigurations.*.managedEBSVolume.iops": (
        "'The default for gp3 volumes is 3,000 IOPS' (depends on the volume type)"
    ),
    "volumeConfigurations.*.managedEBSVolume.throughput": "the volume type's baseline",
    "volumeConfigurations.*.managedEBSVolume.encrypted": (
        "the Region's 'Amazon EBS encryption by default' setting of the account"
    ),
    "volumeConfigurations.*.managedEBSVolume.kmsKeyId": (
        "'Amazon EBS default encryption or any KMS key that you specified for cluster-level "
        "managed storage encryption'"
    ),
    "volumeConfigurations.*.managedEBSVolume.sizeInGiB": (
        "'If you specify a snapshot ID, the snapshot size is used for the volume size by default.'"
    ),
}

_CONTAINER = "containerDefinitions.*"

# Only defaults ECS is known to write into DescribeTaskDefinition's answer: a default added here
# changes the content digest of every revision it applies to (see controller.core.digest).
TASK_DEFINITION_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "": {
        # "If no network mode is specified, the default is bridge."
        "networkMode": "bridge",
        # enableFaultInjection: "The default value is false."
        "enableFaultInjection": False,
    },
    _CONTAINER: {
        # "If this parameter is omitted, a container is assumed to be essential."
        "essential": True,
        # a container without cpu gets 0 units (ECS answers "cpu": 0)
        "cpu": 0,
    },
    # protocol: "The default is tcp."
    f"{_CONTAINER}.portMappings.*": {"protocol": "tcp"},
    # interval "The default value is 30 seconds", timeout "The default value is 5", retries
    # "The default value is 3" (startPeriod "is off" by default: no value)
    f"{_CONTAINER}.healthCheck": {"interval": 30, "timeout": 5, "retries": 3},
    # rootDirectory: "If this parameter is omitted, the root of the Amazon EFS volume will be used.
    # Specifying / will have the same effect as omitting this parameter." transitEncryption: "If
    # this parameter is omitted, the default value of DISABLED is used."
    "volumes.*.efsVolumeConfiguration": {"rootDirectory": "/", "transitEncryption": "DISABLED"},
    # iam: "If this parameter is omitted, the default value of DISABLED is used."
    "volumes.*.efsVolumeConfiguration.authorizationConfig": {"iam": "DISABLED"},
}

TASK_DEFINITION_CHOSEN: Mapping[str, str] = {}


# ---- defaults that depend on other members of the same document ------------------------------


def with_dependent_task_definition_defaults(doc: JsonDict) -> JsonDict:
    """``doc`` (a RegisterTaskDefinition request or a described revision) with ECS's port defaults.

    Under awsvpc and host networking, hostPort defaults to containerPort ("it must be the same
    value as containerPort"); under bridge, an absent hostPort and hostPort 0 both mean a dynamic
    host port. Only what changes is copied.
    """
    containers = doc.get("containerDefinitions")
    if not isinstance(containers, list):
        return doc
    network_mode = doc.get("networkMode") or "bridge"
    return {
        **doc,
        "containerDefinitions": [
            _with_host_ports(c, network_mode) if isinstance(c, dict) else c for c in containers
        ],
    }


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
                mapping = {**mapping, "hostPort": mapping["containerPort"]}
            elif network_mode == "bridge":
                mapping = {**mapping, "hostPort": 0}
        filled.append(mapping)
    return {**container, "portMappings": filled}


def with_service_connect_defaults(config: JsonDict) -> JsonDict:
    """A serviceConnectConfiguration with ECS's naming defaults filled in.

    discoveryName: "If the discoveryName isn't specified, the port mapping name from the task
    definition is used"; a client alias's dnsName: "If this parameter isn't specified, the default
    value of discoveryName.namespace is used" (known here only when the namespace is written as a
    name, not an ARN, and not left to the cluster).
    """
    services = config.get("services")
    if not isinstance(services, list):
        return config
    namespace = config.get("namespace")
    by_name = isinstance(namespace, str) and bool(namespace) and not namespace.startswith("arn:")
    filled = []
    for service in services:
        if not isinstance(service, dict) or "portName" not in service:
            filled.append(service)
            continue
        discovery = service.get("discoveryName") or service["portName"]
        service = {**service, "discoveryName": discovery}
        aliases = service.get("clientAliases")
        if by_name and isinstance(aliases, list):
            service["clientAliases"] = [
                {**alias, "dnsName": f"{discovery}.{namespace}"}
                if isinstance(alias, dict) and not alias.get("dnsName")
                else alias
                for alias in aliases
            ]
        filled.append(service)
    return {**config, "services": filled}
