"""moto's ECS request handlers, answered through the ECS simulation.

:class:`EcsHandlers` answers the requests for services, tasks and task definitions (and, with
``controller.localaws.service_deployment_api``, the service deployments API) as ECS does: it checks
them as ECS checks them, lets moto keep the resources, and hands the lifecycle to one
:class:`~controller.localaws.simulation.EcsSimulation`, telling it the time from the clock it was
given. It also holds the lookups moto gets wrong (a task definition by bare family, ELBv2 target
health of a failing task). It patches nothing: ``controller.localaws.install`` puts
:meth:`EcsHandlers.replacements` into moto. No I/O of its own: moto's in-memory backends only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore import xform_name
from moto.core.responses import ActionResult
from moto.ecs import models as ecs_models
from moto.ecs.exceptions import (
    EcsClientException,
    ECSException,
    InvalidParameterException,
    TaskDefinitionMemoryError,
    TaskDefinitionMissingPropertyError,
    TaskDefinitionNotFoundException,
)
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

from controller.core.fields import (
    SERVICE_DEFAULTS,
    SERVICE_REQUEST,
    TASK_DEFINITION_DEFAULTS,
    TASK_DEFINITION_REQUEST,
    Reported,
    with_service_connect_defaults,
)
from controller.core.normalize import with_defaults
from controller.localaws import blue_green, service_deployment_api
from controller.localaws.simulation import (
    DEFAULT_DEPLOYMENT_CONFIGURATION,
    FARGATE_PROVIDERS,
    EcsSimulation,
    datetime_at,
    platform_family,
)


def _merged_deployment_configuration(
    current: dict[str, Any] | None, given: dict[str, Any] | None
) -> dict[str, Any]:
    merged = {
        k: (dict(v) if isinstance(v, dict) else v)
        for k, v in (current or DEFAULT_DEPLOYMENT_CONFIGURATION).items()
    }
    for key, value in (given or {}).items():
        merged[key] = dict(value) if isinstance(value, dict) else value
    return merged


def _network_configuration(given: dict[str, Any] | None) -> dict[str, Any] | None:
    if not given:
        return None
    vpc = dict(given.get("awsvpcConfiguration") or {})
    vpc.setdefault("assignPublicIp", "DISABLED")
    return {**given, "awsvpcConfiguration": vpc}


def _payload(result: ActionResult) -> dict[str, Any]:
    payload = result.result
    assert isinstance(payload, dict)
    return payload


# Service members ECS reports only on the deployments (controller.core.fields decides which).
DEPLOYMENT_SETTINGS = tuple(
    name for name, spec in SERVICE_REQUEST.items() if spec.reported is Reported.DEPLOYMENT
)


def _deployment_settings(request: EC2ContainerServiceResponse, cluster: Any) -> dict[str, Any]:
    """The deployment-only members a CreateService/UpdateService gives, as ECS reports them.

    ECS fills in its defaults (controller.core.fields), the namespace of a Service Connect
    service that names none (the cluster's default), and a managed EBS volume's type.
    """
    given: dict[str, Any] = {}
    for name in DEPLOYMENT_SETTINGS:
        value = request._get_param(name)
        if value is None:
            continue
        if name == "serviceConnectConfiguration":
            value = _service_connect(value, cluster)
        if name == "volumeConfigurations":
            value = [_ebs_volume(v) for v in value]
        given[name] = with_defaults(value, SERVICE_DEFAULTS, at=name)
    return given


def _service_connect(config: dict[str, Any], cluster: Any) -> dict[str, Any]:
    if not config.get("enabled") or config.get("namespace"):
        return with_service_connect_defaults(config)
    # "any new services with Service Connect turned on that are created in the cluster are added
    # as client services in the [cluster's default] namespace"
    namespace = (getattr(cluster, "service_connect_defaults", None) or {}).get("namespace")
    if not namespace:
        raise InvalidParameterException(
            "Service Connect namespace must be specified: the cluster has no default namespace."
        )
    return with_service_connect_defaults({**config, "namespace": namespace})


def _ebs_volume(volume: dict[str, Any]) -> dict[str, Any]:
    managed = volume.get("managedEBSVolume")
    if not isinstance(managed, dict) or managed.get("volumeType"):
        return volume
    return {**volume, "managedEBSVolume": {**managed, "volumeType": "gp3"}}  # ECS's choice


# The answers that show a cluster's runningTasksCount, pendingTasksCount and activeServicesCount.
_CLUSTER_ACTIONS = (
    "create_cluster",
    "describe_clusters",
    "update_cluster",
    "put_cluster_capacity_providers",
    "delete_cluster",
)


def _kept(td: Any, name: str) -> Any:
    """What moto kept of the request member ``name`` (under its own or a snake_case name)."""
    return getattr(td, name, getattr(td, xform_name(name), None))


def _validate_container_defs(
    memory: str | None,
    container_definitions: list[dict[str, Any]],
    requires_compatibilities: list[str] | None,
) -> None:
    """RegisterTaskDefinition's container checks, as ECS makes them.

    moto also refuses an EC2 container with only memoryReservation; ECS accepts it: "If a
    task-level memory value is not specified, you must specify a non-zero integer for one or both
    of memory or memoryReservation in a container definition."
    """
    for cd in container_definitions:
        if "name" not in cd:
            raise TaskDefinitionMissingPropertyError("name")
        if "image" not in cd:
            raise TaskDefinitionMissingPropertyError("image")
        if not memory and not cd.get("memory") and not cd.get("memoryReservation"):
            raise TaskDefinitionMemoryError(cd["name"])


def _required_attributes(td: Any) -> list[str]:
    """The capabilities ECS derives from a task definition (the common ones)."""
    names = ["com.amazonaws.ecs.capability.docker-remote-api.1.18"]
    if td.network_mode == "awsvpc":
        names += ["ecs.capability.task-eni"]
    if getattr(td, "task_role_arn", None):
        names += ["com.amazonaws.ecs.capability.task-iam-role"]
    for c in td.container_definitions:
        if (c.get("logConfiguration") or {}).get("logDriver") == "awslogs":
            names += [
                "com.amazonaws.ecs.capability.logging-driver.awslogs",
                "com.amazonaws.ecs.capability.docker-remote-api.1.19",
            ]
            if getattr(td, "execution_role_arn", None):
                names += ["ecs.capability.execution-role-awslogs"]
        if c.get("healthCheck"):
            names += ["ecs.capability.container-health-check"]
        for secret in c.get("secrets") or []:
            kind = "ssm" if ":ssm:" in str(secret.get("valueFrom", "")) else "asm"
            names += [f"ecs.capability.secrets.{kind}.environment-variables"]
    return list(dict.fromkeys(names))


def _page(items: list[str], max_results: Any, token: Any, key: str) -> dict[str, Any]:
    start = int(token) if token else 0
    size = int(max_results) if max_results else 100
    page: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return page


def _describe_task_definition_backend(self: Any, task_definition_str: str) -> Any:
    """Backend lookup: family:revision (or ARN) as given, a bare family to its newest ACTIVE one."""
    name = task_definition_str.split("/")[-1]
    if ":" in name:
        family, rev = name.rsplit(":", 1)
        try:
            revision = int(rev)
        except ValueError:
            raise EcsClientException(f"Invalid revision number. Number: {rev}") from None
        revisions = self.task_definitions.get(family, {})
        if revision in revisions:
            return revisions[revision]
        raise TaskDefinitionNotFoundException()
    active = [td for td in self.task_definitions.get(name, {}).values() if td.status == "ACTIVE"]
    if not active:
        raise TaskDefinitionNotFoundException()
    return max(active, key=lambda td: td.revision)


class EcsHandlers:
    """moto's ECS request handlers as local-aws answers them, bound to one simulation and clock.

    Each public method answers one request: ``request`` is moto's response object, which parses it.
    ``moto``: moto's own methods by (class, name), for the requests moto answers well; the
    installation fills it in before the first request. :meth:`replacements` gives every handler as
    the method it replaces on moto's classes.
    """

    def __init__(
        self,
        simulation: EcsSimulation,
        clock: Callable[[], float],
        *,
        moto: Mapping[tuple[type, str], Any],
    ) -> None:
        self._simulation = simulation
        self._clock = clock
        self._moto_methods = moto

    def replacements(self) -> dict[tuple[type, str], Any]:
        """What to set on moto's classes, by (class, attribute name)."""
        answers: dict[str, Callable[[EC2ContainerServiceResponse], ActionResult]] = {
            "create_service": self.create_service,
            "update_service": self.update_service,
            "delete_service": self.delete_service,
            "list_services": self.list_services,
            "run_task": self.run_task,
            "stop_task": self.stop_task,
            "list_tasks": self.list_tasks,
            "register_task_definition": self.register_task_definition,
            "list_task_definitions": self.list_task_definitions,
            **{action: self._counting_clusters(action) for action in _CLUSTER_ACTIONS},
            **service_deployment_api.handlers(lambda: self._simulation, self._clock),
        }
        backend = ecs_models.EC2ContainerServiceBackend
        return {
            **{
                (EC2ContainerServiceResponse, action): _as_method(answer)
                for action, answer in answers.items()
            },
            (backend, "describe_task_definition"): _describe_task_definition_backend,
            (backend, "_validate_container_defs"): staticmethod(_validate_container_defs),
            (FakeTargetGroup, "health_for"): _as_method(self.target_health),
        }

    def _moto(self, request: EC2ContainerServiceResponse, action: str) -> Any:
        """moto's own handler for ``action``, for the requests where it does the right thing."""
        return self._moto_methods[(EC2ContainerServiceResponse, action)](request)

    def create_service(self, request: EC2ContainerServiceResponse) -> ActionResult:
        backend = request.ecs_backend
        cluster = backend._get_cluster(request._get_param("cluster", "default"))
        name = request._get_param("serviceName")
        existing = backend.services.get(f"{cluster.name}:{name}")
        if existing is not None and existing.status != "INACTIVE":
            raise InvalidParameterException("Creation of service was not idempotent.")
        task_definition = request._get_param("taskDefinition")
        settings = _deployment_settings(request, cluster)
        deployment_controller = (request._get_param("deploymentController") or {}).get(
            "type", "ECS"
        )
        blue_green.refuse_unsupported(
            backend,
            deployment_configuration=request._get_param("deploymentConfiguration"),
            load_balancers=request._get_param("loadBalancers") or [],
            deployment_controller=deployment_controller,
        )
        if task_definition and deployment_controller == "ECS":
            td = backend.describe_task_definition(task_definition)
            if td.network_mode == "awsvpc" and not request._get_param("networkConfiguration"):
                raise InvalidParameterException(
                    "Network Configuration must be provided when networkMode 'awsvpc' is specified."
                )
        result: ActionResult = self._moto(request, "create_service")
        service: Any = _payload(result)["service"]
        now = self._clock()
        service.created_at = datetime_at(now)
        service.created_by = f"arn:aws:iam::{backend.account_id}:root"
        service.deployment_configuration = _merged_deployment_configuration(
            None, request._get_param("deploymentConfiguration")
        )
        service.network_configuration = (
            _network_configuration(request._get_param("networkConfiguration")) or {}
        )
        service.health_check_grace_period_seconds = request._get_param(
            "healthCheckGracePeriodSeconds"
        )
        service.enable_execute_command = bool(request._get_param("enableExecuteCommand", False))
        service.enable_ecs_managed_tags = bool(request._get_param("enableECSManagedTags", False))
        service.capacity_provider_strategy = request._get_param("capacityProviderStrategy") or []
        service.placement_constraints = request._get_param("placementConstraints") or []
        service.placement_strategy = request._get_param("placementStrategy") or []
        if service.capacity_provider_strategy and not request._get_param("launchType"):
            service.launch_type = None  # moto defaults it to EC2; ECS leaves it out with a strategy
        providers = {p.get("capacityProvider") for p in service.capacity_provider_strategy}
        fargate = service.launch_type == "FARGATE" or bool(providers & set(FARGATE_PROVIDERS))
        service.platform_family = (
            platform_family(backend.describe_task_definition(service.task_definition))
            if fargate and service.task_definition
            else None
        )
        if fargate and not service.platform_version:
            service.platform_version = "LATEST"
        if service.deployment_controller.get("type", "ECS") == "ECS" and service.task_definition:
            self._simulation.create_service(service, backend, now, settings=settings)
        return result

    def update_service(self, request: EC2ContainerServiceResponse) -> ActionResult:
        backend = request.ecs_backend
        service: Any = backend._get_service(
            request._get_param("cluster", "default"), request._get_param("service")
        )
        if service.status != "ACTIVE":
            raise ECSException("ServiceNotActiveException", "Service was not ACTIVE.")
        # ECS refuses a request as a whole: everything is checked before anything is changed, so a
        # refused UpdateService (a bad subnet, an unknown revision) leaves the service as it was
        new_deployment = bool(request._get_param("forceNewDeployment", False))
        task_definition = request._get_param("taskDefinition")
        arn = backend.describe_task_definition(task_definition).arn if task_definition else None
        desired = request._get_param("desiredCount")
        if desired is not None and int(desired) < 0:
            raise InvalidParameterException("desiredCount must be greater than or equal to 0.")
        network = _network_configuration(request._get_param("networkConfiguration"))
        if network is not None:
            service._validate_network(network)
        settings = _deployment_settings(request, backend._get_cluster(service.cluster_name))
        blue_green.refuse_unsupported(
            backend,
            deployment_configuration=_merged_deployment_configuration(
                service.deployment_configuration, request._get_param("deploymentConfiguration")
            ),
            load_balancers=request._get_param("loadBalancers") or service.load_balancers or [],
            deployment_controller=service.deployment_controller.get("type", "ECS"),
        )
        # nothing below may fail
        if arn is not None:
            new_deployment |= arn != service.task_definition
            service.task_definition = arn
        if desired is not None:
            service.desired_count = int(desired)
        if request._get_param("deploymentConfiguration") is not None:
            service.deployment_configuration = _merged_deployment_configuration(
                service.deployment_configuration, request._get_param("deploymentConfiguration")
            )
        if network is not None:
            new_deployment |= network != service.network_configuration
            service.network_configuration = network
        for param, attribute, deploys in (
            ("platformVersion", "platform_version", True),
            ("loadBalancers", "load_balancers", True),
            ("healthCheckGracePeriodSeconds", "health_check_grace_period_seconds", False),
            ("enableExecuteCommand", "enable_execute_command", False),
            ("enableECSManagedTags", "enable_ecs_managed_tags", False),
            ("propagateTags", "propagate_tags", False),
            ("capacityProviderStrategy", "capacity_provider_strategy", False),
            ("placementConstraints", "placement_constraints", False),
            ("placementStrategy", "placement_strategy", False),
            ("serviceRegistries", "service_registries", False),
        ):
            value = request._get_param(param)
            if value is not None:
                new_deployment |= deploys and value != getattr(service, attribute, None)
                setattr(service, attribute, value)
        s = self._simulation.service_sim(service)
        if s is not None:
            # a new Service Connect, volume or VPC Lattice configuration takes a new deployment
            new_deployment |= any(s.settings.get(k) != v for k, v in settings.items())
            self._simulation.update_service(
                s, self._clock(), new_deployment=new_deployment, settings=settings
            )
        return ActionResult({"service": service})

    def delete_service(self, request: EC2ContainerServiceResponse) -> ActionResult:
        backend = request.ecs_backend
        service = backend._get_service(
            request._get_param("cluster", "default"), request._get_param("service")
        )
        s = self._simulation.service_sim(service)
        if s is None or service.status != "ACTIVE":
            deleted: ActionResult = self._moto(request, "delete_service")
            return deleted
        if service.desired_count > 0 and not request._get_param("force", False):
            raise InvalidParameterException(
                "The service cannot be stopped while it is scaled above 0."
            )
        self._simulation.delete_service(s, self._clock())
        return ActionResult({"service": service})

    def list_services(self, request: EC2ContainerServiceResponse) -> ActionResult:
        result: ActionResult = self._moto(request, "list_services")
        backend = request.ecs_backend
        inactive = {s.arn for s in backend.services.values() if s.status == "INACTIVE"}
        arns = [arn for arn in _payload(result)["serviceArns"] if arn not in inactive]
        return ActionResult({"serviceArns": arns})

    def run_task(self, request: EC2ContainerServiceResponse) -> ActionResult:
        backend = request.ecs_backend
        cluster = backend._get_cluster(request._get_param("cluster", "default"))
        task_definition = backend.describe_task_definition(request._get_param("taskDefinition"))
        launch_type = request._get_param("launchType")
        strategy = (
            request._get_param("capacityProviderStrategy")
            or cluster.default_capacity_provider_strategy
            or []
        )
        if launch_type and request._get_param("capacityProviderStrategy"):
            raise InvalidParameterException(
                "Specify either Launch Type or Capacity Provider Strategy, but not both."
            )
        capacity = strategy[0]["capacityProvider"] if strategy and not launch_type else None
        launch_type = launch_type or ("" if capacity else "EC2")
        fargate = launch_type == "FARGATE" or capacity in FARGATE_PROVIDERS
        if not fargate and not backend.container_instances.get(cluster.name):
            return ActionResult(
                {
                    "tasks": [],
                    "failures": [{"reason": "No Container Instances were found in your cluster."}],
                }
            )
        network = _network_configuration(request._get_param("networkConfiguration"))
        if task_definition.network_mode == "awsvpc" and not network:
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )
        now = self._clock()
        launched = [
            self._simulation.launch(
                backend=backend,
                cluster=cluster,
                task_definition=task_definition,
                now=now,
                launch_type=launch_type,
                network_configuration=network,
                started_by=request._get_param("startedBy") or "",
                group=request._get_param("group"),
                tags=request._get_param("tags"),
                overrides=request._get_param("overrides"),
                platform_version=request._get_param("platformVersion"),
                capacity_provider_name=capacity,
                enable_execute_command=bool(request._get_param("enableExecuteCommand", False)),
            )
            for _ in range(int(request._get_param("count", 1) or 1))
        ]
        return ActionResult({"tasks": [x.task for x in launched], "failures": []})

    def stop_task(self, request: EC2ContainerServiceResponse) -> ActionResult:
        backend = request.ecs_backend
        cluster = backend._get_cluster(request._get_param("cluster", "default"))
        task_id = request._get_param("task").split("/")[-1]
        for task in backend.tasks.get(cluster.name, {}).values():
            if task.id == task_id:
                x = self._simulation.task_sim(task)
                if x is None:
                    break
                if task.last_status != "STOPPED":
                    reason = request._get_param("reason") or "Task stopped by user"
                    self._simulation.stop(x, self._clock(), reason=reason, code="UserInitiated")
                return ActionResult({"task": task})
        stopped: ActionResult = self._moto(request, "stop_task")
        return stopped

    def list_tasks(self, request: EC2ContainerServiceResponse) -> ActionResult:
        backend = request.ecs_backend
        cluster = backend._get_cluster(request._get_param("cluster", "default"))
        family = request._get_param("family")
        started_by = request._get_param("startedBy")
        service_name = request._get_param("serviceName")
        instance = request._get_param("containerInstance")
        launch_type = request._get_param("launchType")
        # ECS: "The default status filter is RUNNING."
        desired = request._get_param("desiredStatus") or "RUNNING"
        if service_name:
            backend._get_service(
                cluster.name, service_name
            )  # ServiceNotFoundException, as ECS answers
        arns = []
        for task in backend.tasks.get(cluster.name, {}).values():
            td_family = task.task_definition_arn.split("/")[-1].rsplit(":", 1)[0]
            if (
                (family and td_family != family)
                or (started_by and task.started_by != started_by)
                or (service_name and task.group != f"service:{service_name.split('/')[-1]}")
                or (instance and instance not in (task.container_instance_arn or ""))
                or (launch_type and task.launch_type != launch_type)
                or task.desired_status != desired
            ):
                continue
            arns.append(task.task_arn)
        return ActionResult(
            _page(
                arns, request._get_param("maxResults"), request._get_param("nextToken"), "taskArns"
            )
        )

    def register_task_definition(self, request: EC2ContainerServiceResponse) -> ActionResult:
        result: ActionResult = self._moto(request, "register_task_definition")
        td: Any = _payload(result)["taskDefinition"]
        backend = request.ecs_backend
        td.registered_at = datetime_at(self._clock())
        td.registered_by = f"arn:aws:iam::{backend.account_id}:root"
        for c in td.container_definitions:
            c.setdefault("systemControls", [])
            for mapping in c.get("portMappings") or []:
                mapping.setdefault("protocol", "tcp")
                # Under awsvpc "hostPort" can be left blank or it must be the same value as
                # containerPort.
                if td.network_mode == "awsvpc" and "containerPort" in mapping:
                    mapping.setdefault("hostPort", mapping["containerPort"])
        td.requires_attributes = [{"name": name} for name in _required_attributes(td)]
        for name, spec in TASK_DEFINITION_REQUEST.items():
            # members moto does not keep (enableFaultInjection, trustedExecutionConfiguration...)
            value = request._get_param(name)
            if spec.reported is Reported.SAME and value is not None and _kept(td, name) is None:
                setattr(td, name, value)
        # ECS answers with its defaults filled in (EFS rootDirectory "/", health check timings...)
        td.container_definitions = with_defaults(
            td.container_definitions, TASK_DEFINITION_DEFAULTS, at="containerDefinitions"
        )
        td.volumes = with_defaults(td.volumes, TASK_DEFINITION_DEFAULTS, at="volumes")
        if td.tags:
            _payload(result).setdefault("tags", td.tags)
        return result

    def list_task_definitions(self, request: EC2ContainerServiceResponse) -> ActionResult:
        backend = request.ecs_backend
        family = request._get_param("familyPrefix")
        status = request._get_param("status") or "ACTIVE"
        definitions = [
            td
            for revisions in backend.task_definitions.values()
            for td in revisions.values()
            if (family is None or td.family == family) and td.status == status
        ]
        # ECS: lexicographically by family, ascending by revision; DESC reverses both.
        definitions.sort(
            key=lambda td: (td.family, td.revision), reverse=request._get_param("sort") == "DESC"
        )
        arns = [td.arn for td in definitions]
        return ActionResult(
            _page(
                arns,
                request._get_param("maxResults"),
                request._get_param("nextToken"),
                "taskDefinitionArns",
            )
        )

    def _counting_clusters(
        self, action: str
    ) -> Callable[[EC2ContainerServiceResponse], ActionResult]:
        """moto's handler for ``action``, with the cluster counters brought up to date first."""

        def handler(request: EC2ContainerServiceResponse) -> ActionResult:
            self._simulation.count_clusters()
            answered: ActionResult = self._moto(request, action)
            return answered

        return handler

    def target_health(
        self, group: FakeTargetGroup, target: dict[str, Any], ec2_backend: Any
    ) -> FakeHealthStatus:
        """ELBv2's health of ``target``: unhealthy when its task's image fails."""
        health: FakeHealthStatus = self._moto_methods[(FakeTargetGroup, "health_for")](
            group, target, ec2_backend
        )
        if health.status == "healthy" and self._simulation.target_unhealthy(
            group.arn, target["Id"]
        ):
            return FakeHealthStatus(
                health.instance_id,
                health.port,
                group.health_check_port,
                "unhealthy",
                "Target.FailedHealthChecks",
                "Health checks failed",
            )
        return health


def _as_method(answer: Callable[..., Any]) -> Callable[..., Any]:
    """``answer`` as a function moto's class can hold: its instance comes as the first argument."""

    def method(owner: Any, *args: Any) -> Any:
        return answer(owner, *args)

    return method
