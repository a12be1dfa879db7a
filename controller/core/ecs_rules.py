"""ECS's own rules for a service's requests: what botocore's model allows but ECS refuses.

RegisterTaskDefinition, CreateService and RunTask check more than their API shapes say: a
container's memory, Fargate's sizes, which fields go with which network mode, names, secret
references. Sent as they are, such requests fail on every pass (or start tasks that cannot
run); checked here, each is a problem at its FILE:LINE that ``validate`` reports and that
keeps the service from being deployed. Each rule quotes the AWS documentation it implements,
and each message quotes ECS's own answer where its wording is known.

Only what ECS is documented (or known) to refuse is checked: a false rejection blocks a
deploy that would have worked. Names of families and services are checked with the other
ECS bounds in ``controller.core.limits``; unique container names and load balancer targets
in ``controller.core.render``; the deployments ECS runs itself (BLUE_GREEN, LINEAR, CANARY)
in ``controller.core.ecs_deployment_rules``, called from here.

Purely computational.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from controller.core import ecs_deployment_rules
from controller.core.documents import Document, Path, format_path
from controller.core.model import JsonDict, Problem

Issue = tuple[Path, str]

MAX_CONTAINERS = 10
"""Service Quotas, ECS "Containers per task definition": 10, not adjustable."""

# The capacity providers every account has, that run tasks on Fargate (and Fargate Spot).
FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})

# ContainerDefinition name: "Up to 255 letters (uppercase and lowercase), numbers, underscores,
# and hyphens are allowed."
_CONTAINER_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
# PortMapping name: "The name can include up to 64 characters. The characters can include
# lowercase letters, numbers, underscores (_), and hyphens (-). The name can't start with a
# hyphen."
_PORT_NAME = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")
# Secret valueFrom: "either the full ARN of the Secrets Manager secret or the full ARN of the
# parameter in the SSM Parameter Store ... If the SSM Parameter Store parameter exists in the
# same Region as the task you're launching, then you can use either the full ARN or name of the
# parameter." A Secrets Manager ARN may end in :json-key:version-stage:version-id.
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+")
_PARAMETER_ARN = re.compile(r"arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/.+")
# SSM parameter names: "a-zA-Z0-9_.-", and "/" for hierarchies.
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.\-/]+")

# Task size, Amazon ECS Developer Guide ("Task CPU and memory"): the memory (MiB) Fargate
# offers with each task cpu (CPU units).
FARGATE_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),  # 1 GB to 4 GB in 1 GB steps
    1024: tuple(range(2048, 8192 + 1, 1024)),  # 2 GB to 8 GB in 1 GB steps
    2048: tuple(range(4096, 16384 + 1, 1024)),  # 4 GB to 16 GB in 1 GB steps
    4096: tuple(range(8192, 30720 + 1, 1024)),  # 8 GB to 30 GB in 1 GB steps
    8192: tuple(range(16384, 61440 + 1, 4096)),  # 16 GB to 60 GB in 4 GB steps
    16384: tuple(range(32768, 122880 + 1, 8192)),  # 32 GB to 120 GB in 8 GB steps
}


def check(
    documents: Mapping[str, Document],
    *,
    task_definition: JsonDict,
    service: JsonDict | None = None,
    run_task: JsonDict | None = None,
) -> list[Problem]:
    """Every ECS rule the rendered requests break, at its line in the file it comes from.

    ``service`` and ``run_task`` are the rendered CreateService and RunTask requests, when the
    folder has them and they are otherwise valid; the rules between them and the task
    definition (network configuration and network mode) are checked only then.
    """
    problems = [
        documents["task-definition"].problem(path, message)
        for rule in TASK_DEFINITION_RULES
        for path, message in rule(task_definition)
    ]
    for kind, request in (("service", service), ("run-task", run_task)):
        if request is not None and kind in documents:
            problems.extend(
                documents[kind].problem(path, message)
                for rule in REQUEST_RULES
                for path, message in rule(task_definition, request, kind=kind)
            )
    if service is not None and "service" in documents:
        # deployments ECS runs itself (BLUE_GREEN, LINEAR, CANARY) have rules of their own
        problems.extend(ecs_deployment_rules.check(documents, service))
    return problems


def _containers(task_definition: JsonDict) -> list[tuple[Path, JsonDict]]:
    containers = task_definition.get("containerDefinitions", [])
    return [
        (("containerDefinitions", index), container)
        for index, container in enumerate(containers)
        if isinstance(container, dict)
    ]


def _compatibilities(task_definition: JsonDict) -> set[str]:
    return {str(c) for c in task_definition.get("requiresCompatibilities", [])}


def _container_count(task_definition: JsonDict) -> Iterable[Issue]:
    containers = task_definition.get("containerDefinitions", [])
    if len(containers) > MAX_CONTAINERS:
        yield (
            ("containerDefinitions", MAX_CONTAINERS),
            f"a task definition holds at most {MAX_CONTAINERS} containers (an ECS quota that "
            f"cannot be raised); this one has {len(containers)}",
        )


def _container_names(task_definition: JsonDict) -> Iterable[Issue]:
    for path, container in _containers(task_definition):
        name = container.get("name")
        if isinstance(name, str) and not _CONTAINER_NAME.fullmatch(name):
            yield (
                (*path, "name"),
                f"container name {name!r} is not valid in ECS: up to 255 letters, digits, "
                "'-' and '_'",
            )


def _container_memory(task_definition: JsonDict) -> Iterable[Issue]:
    """Memory of each container against the task's; the EC2 rule when the task sets none."""
    task_memory = memory_mib(task_definition.get("memory"))
    compatibilities = _compatibilities(task_definition)
    # "If using the EC2 launch type, you must specify either a task-level memory value or a
    # container-level memory value" (also EXTERNAL, and EC2 is what ECS validates against when
    # requiresCompatibilities is absent). Fargate needs task memory: see _fargate.
    ec2_rule = (
        "memory" not in task_definition
        and "FARGATE" not in compatibilities
        and (not compatibilities or bool(compatibilities & {"EC2", "EXTERNAL"}))
    )
    for path, container in _containers(task_definition):
        name = container.get("name", format_path(path))
        memory = container.get("memory")
        reservation = container.get("memoryReservation")
        if ec2_rule and memory is None and reservation is None:
            yield (
                path,
                f"ECS answers \"Invalid setting for container '{name}'. At least one of 'memory' "
                "or 'memoryReservation' must be specified.\": set one of them, or the task-level "
                "memory",
            )
        # "If you specify both, memory must be greater than memoryReservation" (or equal to it)
        if isinstance(memory, int) and isinstance(reservation, int) and reservation > memory:
            yield (
                (*path, "memoryReservation"),
                f"memoryReservation {reservation} of container '{name}' is more than its memory "
                f"{memory}: the soft limit must not exceed the hard limit",
            )
        if isinstance(memory, int) and task_memory is not None and memory > task_memory:
            yield (
                (*path, "memory"),
                f"ECS answers \"The 'memory' setting for container '{name}' is greater than for "
                f'the task.": {memory} MiB, the task has {task_memory}',
            )


def _fargate(task_definition: JsonDict) -> Iterable[Issue]:
    """A task definition that requires FARGATE: task-level cpu and memory, awsvpc, a Fargate size."""
    if "FARGATE" not in _compatibilities(task_definition):
        return
    where: Path = ("requiresCompatibilities",)
    for key in ("cpu", "memory"):
        if key not in task_definition:
            yield (
                where,
                f"ECS answers \"Fargate requires that '{key}' be defined at the task level.\"",
            )
    mode = task_definition.get("networkMode")
    if mode != "awsvpc":
        yield (
            ("networkMode",) if mode is not None else where,
            f"ECS answers \"Fargate only supports network mode 'awsvpc'.\" (networkMode is "
            f"{mode or 'not set'})",
        )
    cpu = cpu_units(task_definition.get("cpu"))
    memory = memory_mib(task_definition.get("memory"))
    if cpu is None or memory is None:
        return  # absent (said above) or in a form ECS converts that is not read here
    refusal = f'ECS answers "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory."'
    if cpu not in FARGATE_SIZES:
        sizes = ", ".join(str(c) for c in FARGATE_SIZES)
        yield ("cpu",), f"{refusal}: Fargate's task cpu is one of {sizes}"
    elif memory not in FARGATE_SIZES[cpu]:
        yield (
            ("memory",),
            f"{refusal}: with {cpu} CPU units Fargate offers memory {_sizes(FARGATE_SIZES[cpu])}",
        )


def _sizes(memory: tuple[int, ...]) -> str:
    if len(memory) <= 3:
        return ", ".join(str(m) for m in memory[:-1]) + f" or {memory[-1]}"
    return f"{memory[0]} to {memory[-1]} in steps of {memory[1] - memory[0]}"


def _host_ports(task_definition: JsonDict) -> Iterable[Issue]:
    """hostPort: "If you use containers in a task with the awsvpc or host network mode, the
    hostPort can either be left blank or set to the same value as the containerPort." (Under
    bridge any host port, or 0 for a dynamic one, is fine.)"""
    mode = task_definition.get("networkMode")
    if mode not in ("awsvpc", "host"):
        return
    for path, container in _containers(task_definition):
        for index, mapping in enumerate(container.get("portMappings", [])):
            host, port = mapping.get("hostPort"), mapping.get("containerPort")
            if isinstance(host, int) and isinstance(port, int) and host != port:
                yield (
                    (*path, "portMappings", index, "hostPort"),
                    f'ECS answers "When networkMode={mode}, the host ports and container ports in '
                    f'port mappings must match.": leave hostPort out or make it {port}',
                )


def _port_names(task_definition: JsonDict) -> Iterable[Issue]:
    """Port mapping names: Service Connect and VPC Lattice find a port by its name alone."""
    seen: dict[str, Path] = {}
    for path, container in _containers(task_definition):
        for index, mapping in enumerate(container.get("portMappings", [])):
            name = mapping.get("name")
            if not isinstance(name, str):
                continue
            where: Path = (*path, "portMappings", index, "name")
            if not _PORT_NAME.fullmatch(name):
                yield (
                    where,
                    f"port mapping name {name!r} is not valid in ECS: up to 64 lowercase letters, "
                    "digits, '_' and '-', not starting with '-'",
                )
            elif name in seen:
                yield (
                    where,
                    f"port mapping name '{name}' is already used by {format_path(seen[name])}: "
                    "a name must be unique in the task definition",
                )
            else:
                seen[name] = where[:-1]


def _secrets(task_definition: JsonDict) -> Iterable[Issue]:
    for path, container in _containers(task_definition):
        log = container.get("logConfiguration")
        places: list[tuple[Path, Any]] = [((*path, "secrets"), container.get("secrets"))]
        if isinstance(log, dict):
            places.append(((*path, "logConfiguration", "secretOptions"), log.get("secretOptions")))
        for where, secrets in places:
            for index, secret in enumerate(secrets if isinstance(secrets, list) else []):
                value = secret.get("valueFrom") if isinstance(secret, dict) else None
                if isinstance(value, str) and not is_secret_reference(value):
                    yield (
                        (*where, index, "valueFrom"),
                        f"valueFrom {value!r} is no secret ECS can read: it takes a Secrets "
                        "Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), "
                        "an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME) or an "
                        "SSM parameter name",
                    )


def is_secret_reference(value: str) -> bool:
    """Whether ``value`` is what a secret's ``valueFrom`` may hold."""
    if value.startswith("arn:"):
        return bool(_SECRET_ARN.fullmatch(value) or _PARAMETER_ARN.fullmatch(value))
    return _PARAMETER_NAME.fullmatch(value) is not None


def _launch_type(task_definition: JsonDict, request: JsonDict, *, kind: str) -> Iterable[Issue]:
    """The launch type a CreateService or RunTask asks for, against the task definition's.

    ECS runs a task definition only on the launch types it validated it for at registration
    (DescribeTaskDefinition's ``compatibilities``), and answers "Task definition does not
    support launch_type FARGATE." otherwise. Those are requiresCompatibilities' and EC2 besides:
    [FARGATE] is described as [EC2, FARGATE], [EC2] as [EXTERNAL, EC2], and without
    requiresCompatibilities ECS validates for EC2. So FARGATE must be asked for to launch on
    Fargate, EXTERNAL is refused to a Fargate-only task definition, and EC2 is not refused here.
    A capacity provider strategy launches on Fargate through the FARGATE and FARGATE_SPOT
    providers; what a custom provider (an Auto Scaling group) runs on is the cluster's, and is
    not checked.
    """
    required = _compatibilities(task_definition)
    given = task_definition.get("requiresCompatibilities")
    shown = (
        f"requiresCompatibilities is [{', '.join(str(c) for c in given)}]"
        if isinstance(given, list) and given
        else "requiresCompatibilities is not set, which ECS takes as [EC2]"
    )
    launch_type = request.get("launchType")
    if launch_type == "FARGATE" and "FARGATE" not in required:
        yield (
            ("launchType",),
            f'ECS answers "Task definition does not support launch_type FARGATE.": {shown}; '
            "add FARGATE to it in the task definition",
        )
    elif launch_type == "EXTERNAL" and required and required <= {"FARGATE"}:
        yield (
            ("launchType",),
            f"the task definition does not support launch type EXTERNAL: {shown}, which ECS "
            "validates for EC2 and FARGATE only; add EXTERNAL (or EC2) to it",
        )
    strategy = request.get("capacityProviderStrategy")
    for index, item in enumerate(strategy if isinstance(strategy, list) else []):
        provider = item.get("capacityProvider") if isinstance(item, dict) else None
        if provider in FARGATE_PROVIDERS and "FARGATE" not in required:
            yield (
                ("capacityProviderStrategy", index, "capacityProvider"),
                f"capacity provider {provider} runs tasks on Fargate, which the task definition "
                f"does not support ({shown}): add FARGATE to its requiresCompatibilities",
            )


def _network_configuration(
    task_definition: JsonDict, request: JsonDict, *, kind: str
) -> Iterable[Issue]:
    """networkConfiguration goes with awsvpc, and only with it (CreateService and RunTask)."""
    controller = request.get("deploymentController")
    if isinstance(controller, dict) and controller.get("type") == "EXTERNAL":
        return  # an external controller's task sets carry the network configuration
    awsvpc = task_definition.get("networkMode") == "awsvpc"
    if "networkConfiguration" in request and not awsvpc:
        mode = task_definition.get("networkMode") or "not set (bridge)"
        yield (
            ("networkConfiguration",),
            'ECS answers "Network Configuration is not valid for the given networkMode of this '
            f'task definition.": networkConfiguration needs networkMode awsvpc (it is {mode})',
        )
    elif awsvpc and "networkConfiguration" not in request:
        yield (
            (),
            "ECS answers \"Network Configuration must be provided when networkMode 'awsvpc' is "
            f'specified.": the task definition uses awsvpc, so this {kind} file needs '
            "networkConfiguration.awsvpcConfiguration (subnets, securityGroups)",
        )


def cpu_units(value: Any) -> int | None:
    """Task cpu in CPU units: ``"1024"``, 1024 or ``"1 vCPU"`` (None when absent or unread)."""
    return _units(value, unit="vcpu", scale=1024)


def memory_mib(value: Any) -> int | None:
    """Task memory in MiB: ``"2048"``, 2048 or ``"2 GB"`` (None when absent or unread)."""
    return _units(value, unit="gb", scale=1024)


def _units(value: Any, *, unit: str, scale: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    match = re.fullmatch(rf"(?i)(\d+(?:\.\d+)?)\s*{unit}", text)
    if match is None:
        return None
    return round(float(match.group(1)) * scale)


TASK_DEFINITION_RULES: tuple[Callable[[JsonDict], Iterable[Issue]], ...] = (
    _container_count,
    _container_names,
    _container_memory,
    _fargate,
    _host_ports,
    _port_names,
    _secrets,
)


class _RequestRule(Protocol):
    """A rule between a CreateService or RunTask request (``kind``) and its task definition."""

    def __call__(
        self, task_definition: JsonDict, request: JsonDict, *, kind: str
    ) -> Iterable[Issue]: ...


REQUEST_RULES: tuple[_RequestRule, ...] = (
    _launch_type,
    _network_configuration,
)
