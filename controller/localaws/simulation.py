"""The ECS deployment lifecycle that moto leaves out: tasks start, deployments complete, fail, roll back.

moto keeps ECS resources but nothing ever happens to them. This module is the heart of what
local-aws adds on top: an :class:`EcsSimulation` that owns the lifecycle of service and run-task
tasks. ``native_rollout`` runs native (blue/green, linear, canary) deployments for it and
``service_deployments`` keeps the service deployments API's records;
``controller.localaws.handlers`` (moto's request handlers) calls it, and
``controller.localaws.install`` puts those handlers into moto. Everything else stays moto's.

No I/O, no patching and no clock of its own: its data are moto's model objects (what local-aws
serves), changed in memory; every call takes the time it happens at (``now`` or ``t``, seconds
since the epoch), and :meth:`EcsSimulation.advance` replays every task transition due up to ``now``
in order, so event timestamps are what a real cluster would have written, however rarely it is
asked, and a test can drive it with a fake clock without waiting.

What is simulated, as real ECS does it:

- CreateService, and UpdateService changing the task definition, network configuration, platform
  version, load balancers, or a member ECS reports on deployments (Service Connect, EBS volume and
  VPC Lattice configurations), or setting forceNewDeployment, start a new PRIMARY deployment
  (rolloutState IN_PROGRESS); the previous PRIMARY becomes ACTIVE. A new desiredCount alone scales
  the PRIMARY. The deployment-only members are shown on each deployment (never on the service),
  with ECS's defaults and the cluster's default Service Connect namespace filled in.
- Tasks go PROVISIONING -> PENDING -> RUNNING, taking ``task_start_seconds``; the scheduler keeps at
  most maximumPercent of desiredCount tasks alive and at least minimumHealthyPercent healthy while
  it stops the tasks of older deployments. When the PRIMARY runs desiredCount healthy tasks and the
  others are drained, they disappear and the PRIMARY is COMPLETED ("has reached a steady state.").
- Tasks of images matching a fail glob start, then exit 1 ("Essential container in task exited");
  they never count as healthy. The deployment's failedTasks grows; with the circuit breaker on, the
  rollout goes FAILED at 0.5 x desiredCount failures (at least 3, at most 200) and stops launching;
  with rollback on, a new PRIMARY on the last COMPLETED deployment's task definition starts.
  Without the breaker the service replaces failed tasks forever.
- Tasks of images matching a pull-fail glob stop in PENDING with stopCode TaskFailedToStart and
  "CannotPullContainerError: ..." as their (and the container's) reason, no exit code; for the
  deployment they are failed tasks like those of a failing image.
- Each new deployment is also a service deployment to a new service revision, recorded in
  ``controller.localaws.service_deployments`` and served by ``service_deployment_api``: PENDING,
  IN_PROGRESS at the scheduler's first pass, SUCCESSFUL when COMPLETED; a circuit-breaker rollback
  or StopServiceDeployment(ROLLBACK) is the same service deployment rolling back to the last
  completed revision. DescribeServices shows currentServiceDeployment/currentServiceRevisions.
- deploymentConfiguration.strategy BLUE_GREEN, LINEAR, CANARY: ``controller.localaws.native_rollout``;
  their lifecycleHooks run at their stages: Lambda hooks answer at once (FAILED for a fail_hooks
  glob, which rolls back), PAUSE hooks wait for ContinueServiceDeployment or their timeout.
- deploymentConfiguration.alarms: a named alarm in ALARM in moto's CloudWatch while a deployment is
  in progress (a native one's bake time included) fails it; with ``rollback`` it rolls back.
- Tasks of images matching a stuck glob stay PENDING forever.
- RunTask (Fargate, task-level cpu/memory only is fine): the job runs ``task_start_seconds`` and
  stops with its containers' exit codes (0, or 1 for a failing image). ListTasks honours cluster,
  family, serviceName, startedBy, desiredStatus (default RUNNING) and launchType.
- Services with loadBalancers register their running tasks' IPs in the target groups (healthy, or
  unhealthy for failing images) and deregister them when they stop.
- DeleteService: DRAINING, tasks stopped, INACTIVE after ``task_start_seconds``; the name can be
  reused. Settings given at CreateService/UpdateService are kept and returned, with ECS's defaults.
- Stopped tasks stay visible to DescribeTasks/ListTasks for an hour, then are forgotten; a stopped
  Fargate task's network interface is deleted.
- Task definitions carry registeredAt, registeredBy, requiresAttributes, protocol tcp and, under
  awsvpc, hostPort = containerPort, the defaults of ``controller.core.fields`` (EFS rootDirectory
  "/", health check timings) and every member they were registered with; an EC2 container may
  reserve memory without a hard limit; lookup by family returns the newest ACTIVE revision;
  ListTaskDefinitions honours familyPrefix, status, sort and pagination.

What is not simulated: container instances and placement (EC2 launch-type service tasks start as if
capacity were unlimited), health checks and grace periods (a task is healthy once RUNNING unless its
image fails), deregistration delays, task-level throttling/backoff, invoking Lambda hooks,
CODE_DEPLOY/EXTERNAL deployment controllers and task sets (left to moto), service auto scaling
acting on desiredCount, and the periodic repeat of steady-state events.
"""

from __future__ import annotations

import heapq
import itertools
import math
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ecs import models as ecs_models
from moto.ecs.exceptions import (
    ECSException,
)
from moto.elbv2.models import elbv2_backends

from controller.localaws import blue_green, native_rollout
from controller.localaws.options import SimulationOptions
from controller.localaws.service_deployments import (
    RevisionCounts,
    ServiceDeployment,
    ServiceDeployments,
    image_digest,
    revision_members,
)

# What CreateService fills in when a field is not given, as real ECS does.
DEFAULT_DEPLOYMENT_CONFIGURATION: dict[str, Any] = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
MAX_EVENTS = 100  # DescribeServices returns the latest 100 events
FARGATE_PLATFORM_VERSION = "1.4.0"  # what "LATEST" resolves to on a running Fargate task
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
STOPPED_TASK_RETENTION_SECONDS = 3600.0  # ECS shows stopped tasks for about an hour
EXITED = "Essential container in task exited"


def pull_error(image: str) -> str:
    """The stoppedReason (and container reason) ECS gives a task whose image cannot be pulled."""
    # Fargate's wording for a tag the registry does not have
    return (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
        f"failed to resolve ref {image}: {image}: not found"
    )


@dataclass
class _Deployment:
    id: str
    task_definition: str
    created_at: float
    rollout_state: str = "IN_PROGRESS"
    rollout_state_reason: str = ""
    failed_tasks: int = 0
    desired_count: int = 0
    updated_at: float = 0.0
    rollback: bool = False  # started by the circuit breaker: a failed rollback is not rolled back
    # serviceConnectConfiguration, volumeConfigurations...: ECS reports them per deployment
    settings: dict[str, Any] = field(default_factory=dict)
    revision: str = ""  # the service revision it runs (a rollback runs an older one)
    record: ServiceDeployment | None = None  # the service deployment it belongs to
    blue_green: bool = False  # a native BLUE_GREEN deployment (see controller.localaws.blue_green)
    stage: str = ""  # its lifecycle stage
    bake_until: float | None = None
    step: int = 0  # production traffic steps taken (linear, canary)
    hooks_stage: str = ""  # the stage whose lifecycle hooks have been started
    rejected_at: str = ""  # ContinueServiceDeployment(ROLLBACK) answered a PAUSE hook at this stage
    step_until: float | None = None  # the bake between two steps ends


@dataclass
class _TaskSim:
    task: Any  # moto's Task: what DescribeTasks and ListTasks serve
    backend: Any
    launched_at: float
    # "serve" (stays RUNNING), "exit0" (a job), "exit1" (failing image), "stuck", "no-pull"
    # (an image that cannot be pulled: the task stops before it runs)
    outcome: str
    due: float | None  # when the next transition happens; None: never on its own
    seq: int  # launch order: transitions due at the same moment happen in this order
    service: _ServiceSim | None = None
    deployment: _Deployment | None = None
    targets: list[tuple[str, str, int]] = field(default_factory=list)
    failing_containers: frozenset[str] = frozenset()  # decided at launch: options may change later
    unpullable: tuple[str, ...] = ()  # images whose pull fails, decided at launch too

    @property
    def status(self) -> str:
        return str(self.task.last_status)

    @property
    def healthy(self) -> bool:
        return self.status == "RUNNING" and self.outcome != "exit1"


@dataclass
class _ServiceSim:
    service: Any  # moto's Service: what DescribeServices serves
    backend: Any
    seq: int  # creation order: the scheduler visits services in this order
    deployments: list[_Deployment]  # [0] is the PRIMARY
    tasks: list[_TaskSim] = field(default_factory=list)  # desiredStatus RUNNING
    last_completed: _Deployment | None = None
    steady: bool = False
    inactive_at: float | None = None
    # the deployment-only settings the next deployment starts with (see DEPLOYMENT_SETTINGS)
    settings: dict[str, Any] = field(default_factory=dict)
    record: ServiceDeployment | None = None  # its current service deployment

    @property
    def primary(self) -> _Deployment:
        return self.deployments[0]


def datetime_at(t: float) -> datetime:
    """A simulated time as the UTC datetime moto's answers carry."""
    return datetime.fromtimestamp(t, tz=UTC)


def _new_deployment_id() -> str:
    return f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"


def platform_family(task_definition: Any) -> str:
    """The platformFamily Fargate reports: the task definition's operating system family."""
    runtime = getattr(task_definition, "runtime_platform", None) or {}
    family = runtime.get("operatingSystemFamily")
    return "Linux" if family in (None, "LINUX") else str(family)


def _circuit_breaker_threshold(desired: int) -> int:
    # ECS: "0.5 * desired task count", with a minimum of 3 and a maximum of 200.
    return min(200, max(3, math.ceil(0.5 * desired)))


class EcsSimulation:
    """The lifecycle state of every ECS service and task, advanced to the time it is given.

    Advancing costs what changes, not what exists: due transitions wait in heaps, and the scheduler
    visits only the services something happened to (or that are not yet steady), so thousands of
    settled services add nothing to a request. Cluster counters are counted when an answer shows
    them.

    Not thread-safe: one caller at a time (the server holds a lock around each request).
    """

    def __init__(self, options: SimulationOptions) -> None:
        self.options = options
        self._seq = itertools.count()
        self._services: dict[int, _ServiceSim] = {}  # seq -> simulation, not yet INACTIVE
        self._tasks: dict[int, _TaskSim] = {}  # seq -> simulation, not yet STOPPED
        self._by_task: dict[int, _TaskSim] = {}  # id(moto task) -> simulation
        self._by_service: dict[int, _ServiceSim] = {}  # id(moto service) -> simulation
        # (due, seq, task): a task's entry is current while its due still equals the entry's
        self._task_due: list[tuple[float, int, _TaskSim]] = []
        self._inactive_due: list[tuple[float, int, _ServiceSim]] = []  # DRAINING -> INACTIVE
        self._wake: list[tuple[float, int, _ServiceSim]] = []  # a bake time ends
        # Services the scheduler must visit: something changed, or they are not steady yet.
        self._dirty: dict[int, _ServiceSim] = {}
        self._unhealthy_targets: set[tuple[str, str]] = set()
        self._stopped: deque[tuple[float, _TaskSim]] = deque()  # oldest first
        self._advanced_to = 0.0  # the time of the last advance: time never goes back
        self.service_deployments = ServiceDeployments()

    def reset(self) -> None:
        """Forget everything (moto's state is reset by the caller)."""
        self._services.clear()
        self._tasks.clear()
        self._by_task.clear()
        self._by_service.clear()
        self._task_due.clear()
        self._inactive_due.clear()
        self._wake.clear()
        self._dirty.clear()
        self._unhealthy_targets.clear()
        self._stopped.clear()
        self.service_deployments.reset()

    # ---- time -------------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Replay every transition due up to ``now`` in order, scheduling services after each."""
        now = max(now, self._advanced_to)
        while True:
            t = self._next_due()
            if t is None or t > now:
                break
            self._advanced_to = t
            # Everything due at t, tasks in launch order, then services in creation order.
            tasks = []
            while self._task_due and self._task_due[0][0] <= t:
                due, _, x = heapq.heappop(self._task_due)
                if x.due == due:
                    tasks.append(x)
            for x in tasks:
                self._transition(x, t)
            services = []
            while self._inactive_due and self._inactive_due[0][0] <= t:
                when, _, s = heapq.heappop(self._inactive_due)
                if s.inactive_at == when:
                    services.append(s)
            for s in services:
                self._make_inactive(s)
            while self._wake and self._wake[0][0] <= t:
                self.touch(heapq.heappop(self._wake)[2])
            self._schedule_dirty(t)
        self._advanced_to = now
        self._schedule_dirty(now)
        self._forget_stopped(now)

    def _next_due(self) -> float | None:
        """The earliest pending transition, dropping heap entries that no longer apply."""
        # An entry goes stale when its task stops or its service goes INACTIVE first; neither
        # ever gets a due time again, so comparing the times is enough to tell.
        while self._task_due and self._task_due[0][2].due != self._task_due[0][0]:
            heapq.heappop(self._task_due)
        while (
            self._inactive_due and self._inactive_due[0][2].inactive_at != self._inactive_due[0][0]
        ):
            heapq.heappop(self._inactive_due)
        times = [heap[0][0] for heap in (self._task_due, self._inactive_due, self._wake) if heap]
        return min(times) if times else None

    def _set_due(self, x: _TaskSim, due: float | None) -> None:
        x.due = due
        if due is not None:
            heapq.heappush(self._task_due, (due, x.seq, x))

    def wake_at(self, t: float, s: _ServiceSim) -> None:
        """Have the scheduler visit ``s`` at ``t``: a bake, a step bake or a hook timeout ends."""
        heapq.heappush(self._wake, (t, next(self._seq), s))

    def services(self) -> list[_ServiceSim]:
        """The services not yet INACTIVE, in creation order."""
        return list(self._services.values())

    def touch(self, s: _ServiceSim | None) -> None:
        """Have the scheduler visit ``s`` at its next pass."""
        if s is not None and s.seq in self._services:
            self._dirty[s.seq] = s

    def _schedule_dirty(self, t: float) -> None:
        # A pass over a service that nothing happened to since its last pass changes nothing
        # (the scheduler acts on state, not on time), so only touched services are visited; a
        # service stays touched until it is steady.
        for seq in sorted(self._dirty):
            s = self._dirty[seq]
            self._schedule(s, t)
            if s.steady or (s.service.status == "DRAINING" and not s.tasks):
                del self._dirty[seq]

    # ---- tasks ------------------------------------------------------------------------------

    def launch(
        self,
        *,
        backend: Any,
        cluster: Any,
        task_definition: Any,
        now: float,
        launch_type: str,
        network_configuration: dict[str, Any] | None,
        started_by: str = "",
        group: str | None = None,
        tags: list[dict[str, str]] | None = None,
        overrides: dict[str, Any] | None = None,
        platform_version: str | None = None,
        capacity_provider_name: str | None = None,
        enable_execute_command: bool = False,
        service: _ServiceSim | None = None,
        deployment: _Deployment | None = None,
    ) -> _TaskSim:
        """Start one task in PROVISIONING; it reaches PENDING at once, RUNNING after the start time."""
        task: Any = ecs_models.Task(
            cluster=cluster,
            task_definition=task_definition,
            container_instance_arn=None,
            resource_requirements=None,
            backend=backend,
            group=group or f"family:{task_definition.family}",
            launch_type=launch_type,
            overrides=overrides or {},
            started_by=started_by,
            tags=tags or [],
            networking_configuration=_with_security_groups(network_configuration),
            platform_version=None,
            capacity_provider_name=capacity_provider_name,
        )
        # moto's own state machine would run a RUNNING task straight to STOPPED; this one decides.
        task._transitions = []
        task.last_status = "PROVISIONING"
        fargate = launch_type == "FARGATE" or capacity_provider_name in FARGATE_PROVIDERS
        task.platform_version = (
            (FARGATE_PLATFORM_VERSION if platform_version in (None, "LATEST") else platform_version)
            if fargate
            else None
        )
        task.platform_family = platform_family(task_definition) if fargate else None
        task.cpu = task_definition.cpu
        task.memory = task_definition.memory
        task.created_at = datetime_at(now)
        task.version = 1
        task.connectivity = "CONNECTED"
        task.connectivity_at = datetime_at(now)
        task.health_status = "UNKNOWN"
        task.stopped_reason = None
        task.enable_execute_command = enable_execute_command
        task.availability_zone = self._availability_zone(backend, network_configuration)
        ip = self._private_ip(task)
        images = [str(c.get("image", "")) for c in task_definition.container_definitions]
        task.containers = [
            {
                "containerArn": f"{task.task_arn.replace(':task/', ':container/')}/{uuid.uuid4()}",
                "taskArn": task.task_arn,
                "name": c.get("name"),
                "image": c.get("image"),
                "lastStatus": "PENDING",
                "healthStatus": "UNKNOWN",
                "cpu": str(c.get("cpu", 0)),
                **({"memory": str(c["memory"])} if c.get("memory") is not None else {}),
                "networkInterfaces": (
                    [{"attachmentId": task.attachments[0]["id"], "privateIpv4Address": ip}]
                    if ip
                    else []
                ),
            }
            for c in task_definition.container_definitions
        ]
        unpullable = [i for i in images if self.options.pull_fails(i)]
        if any(self.options.stuck(i) for i in images):
            outcome = "stuck"
        elif unpullable:
            outcome = "no-pull"
        elif any(self.options.fails(i) for i in images):
            outcome = "exit1"
        elif service is None:
            outcome = "exit0"
        else:
            outcome = "serve"
        backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        x = _TaskSim(
            task=task,
            backend=backend,
            launched_at=now,
            outcome=outcome,
            due=None,
            seq=next(self._seq),
            service=service,
            deployment=deployment,
            failing_containers=frozenset(
                str(c.get("name"))
                for c in task_definition.container_definitions
                if self.options.fails(str(c.get("image", "")))
            ),
            unpullable=tuple(unpullable),
        )
        self._tasks[x.seq] = x
        self._set_due(x, now)
        self._by_task[id(task)] = x
        if service is not None:
            service.tasks.append(x)
        return x

    def _transition(self, x: _TaskSim, t: float) -> None:
        task = x.task
        self.touch(x.service)
        start = self.options.task_start_seconds
        if x.status == "PROVISIONING":
            task.last_status = "PENDING"
            task.pull_started_at = datetime_at(t)
            self._set_due(x, None if x.outcome == "stuck" else x.launched_at + start)
        elif x.status == "PENDING" and x.outcome == "no-pull":
            # ECS stops the task where the pull failed; no container ever ran (no exit code)
            reason = pull_error(x.unpullable[0])
            for c in task.containers:
                if c["image"] in x.unpullable:
                    c["reason"] = pull_error(str(c["image"]))
            self._stop(x, t, reason=reason, code="TaskFailedToStart", keep_exit_codes=True)
            if x.deployment is not None and x.service is not None:
                self._task_failed(x.service, x.deployment, t)
        elif x.status == "PENDING":
            task.last_status = "RUNNING"
            task.pull_stopped_at = datetime_at(t)
            task.started_at = datetime_at(t)
            task.health_status = "UNKNOWN"
            for c in task.containers:
                c["lastStatus"] = "RUNNING"
                # the image was pulled: ECS records what the reference resolved to
                c["imageDigest"] = image_digest(c.get("image"))
            self._register_targets(x)
            # A job or a failing image runs as long as it took to start, then its essential
            # container exits.
            self._set_due(x, t + start if x.outcome in ("exit0", "exit1") else None)
        elif x.status == "RUNNING":
            for c in task.containers:
                c["exitCode"] = 1 if c["name"] in x.failing_containers else 0
            self._stop(x, t, reason=EXITED, code="EssentialContainerExited", keep_exit_codes=True)
            if x.outcome == "exit1" and x.deployment is not None and x.service is not None:
                self._task_failed(x.service, x.deployment, t)

    def stop(self, x: _TaskSim, t: float, *, reason: str, code: str) -> None:
        """Stop a task now (StopTask, scheduler, service deletion)."""
        self._stop(x, t, reason=reason, code=code, keep_exit_codes=False)

    def _stop(
        self, x: _TaskSim, t: float, *, reason: str, code: str, keep_exit_codes: bool
    ) -> None:
        task = x.task
        if x.status == "STOPPED":
            return
        was_running = x.status == "RUNNING"
        task.desired_status = "STOPPED"
        task.last_status = "STOPPED"
        task.stopping_at = task.execution_stopped_at = task.stopped_at = datetime_at(t)
        task.stopped_reason = reason
        task.stop_code = code
        task.connectivity = None
        for c in task.containers:
            c["lastStatus"] = "STOPPED"
            if not keep_exit_codes and was_running:
                c["exitCode"] = 0
        x.due = None
        self._stopped.append((t, x))
        self._deregister_targets(x)
        self._release_network_interface(x)
        self._tasks.pop(x.seq, None)
        if x.service is not None and x in x.service.tasks:
            x.service.tasks.remove(x)
            x.service.steady = False
            self.touch(x.service)

    def _forget_stopped(self, now: float) -> None:
        while self._stopped and self._stopped[0][0] < now - STOPPED_TASK_RETENTION_SECONDS:
            _, x = self._stopped.popleft()
            x.backend.tasks.get(x.task.cluster_name, {}).pop(x.task.task_arn, None)
            self._by_task.pop(id(x.task), None)

    def task_sim(self, task: Any) -> _TaskSim | None:
        return self._by_task.get(id(task))

    # ---- services ---------------------------------------------------------------------------

    def create_service(
        self, service: Any, backend: Any, now: float, *, settings: dict[str, Any] | None = None
    ) -> None:
        """Track a service moto just created: its first deployment starts now.

        ``settings``: the deployment-only members the request gave (see ``_deployment_settings``).
        """
        s = _ServiceSim(service=service, backend=backend, seq=next(self._seq), deployments=[])
        s.settings = dict(settings or {})
        self._services[s.seq] = s
        self._by_service[id(service)] = s
        self._new_deployment(s, now, task_definition=service.task_definition)
        self._render(s)

    def service_sim(self, service: Any) -> _ServiceSim | None:
        return self._by_service.get(id(service))

    def update_service(
        self,
        s: _ServiceSim,
        now: float,
        *,
        new_deployment: bool,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Apply an UpdateService: a new PRIMARY deployment, or a new desiredCount for the PRIMARY.

        ``settings``: deployment-only members the request gave; they take effect with the next
        deployment, as in ECS.
        """
        s.settings.update(settings or {})
        if new_deployment:
            self._new_deployment(s, now, task_definition=s.service.task_definition)
        s.primary.desired_count = s.service.desired_count
        s.primary.updated_at = now
        s.steady = False
        self.touch(s)
        self._render(s)

    def delete_service(self, s: _ServiceSim, now: float) -> None:
        """DRAINING now; tasks stop at the next scheduling pass, INACTIVE after the start time."""
        s.service.status = "DRAINING"
        s.service.desired_count = 0
        if s.deployments and s.primary.record is not None:
            s.primary.record.stop(now, reason="The service was deleted.")
        s.inactive_at = now + self.options.task_start_seconds
        heapq.heappush(self._inactive_due, (s.inactive_at, s.seq, s))
        self.touch(s)
        self._render(s)

    def _make_inactive(self, s: _ServiceSim) -> None:
        t = s.inactive_at or self._advanced_to
        for x in list(s.tasks):
            self.stop(x, t, reason="Service deleted", code="ServiceSchedulerInitiated")
        s.service.status = "INACTIVE"
        s.inactive_at = None
        s.deployments = []
        self._render(s)
        del self._services[s.seq]
        self._dirty.pop(s.seq, None)
        self._by_service.pop(id(s.service), None)

    def _new_deployment(
        self,
        s: _ServiceSim,
        t: float,
        *,
        task_definition: str,
        reason: str = "",
        rollback_to: _Deployment | None = None,
    ) -> _Deployment:
        """A new PRIMARY; ``rollback_to``: it runs that deployment's revision again, as a rollback."""
        d = _Deployment(
            id=_new_deployment_id(),
            task_definition=task_definition,
            created_at=t,
            updated_at=t,
            desired_count=s.service.desired_count,
            settings=dict(s.settings if rollback_to is None else rollback_to.settings),
        )
        d.rollout_state_reason = reason or f"ECS deployment {d.id} in progress."
        if rollback_to is None:
            # the first deployment has no blue tasks to shift traffic from
            d.blue_green = bool(s.deployments) and blue_green.applies(s.service)
            self._record_service_deployment(s, d, t)
        else:
            # ECS: a rollback is the failed service deployment going back to its source revision
            d.revision, d.record, d.rollback = rollback_to.revision, s.primary.record, True
        s.deployments.insert(0, d)
        s.steady = False
        self.touch(s)
        return d

    def _record_service_deployment(self, s: _ServiceSim, d: _Deployment, t: float) -> None:
        """The service revision ``d`` targets and its service deployment, from the revisions live."""
        service = s.service
        revision = self.service_deployments.new_revision(
            t,
            service_arn=service.arn,
            cluster_arn=s.backend._get_cluster(service.cluster_name).arn,
            members=revision_members(
                service,
                task_definition=s.backend.describe_task_definition(d.task_definition),
                settings=d.settings,
            ),
        )
        breaker = service.deployment_configuration.get("deploymentCircuitBreaker") or {}
        d.revision = revision.arn
        d.record = s.record = self.service_deployments.new_deployment(
            t,
            target=revision,
            sources=[old.revision for old in s.deployments],
            deployment_configuration=dict(service.deployment_configuration),
            breaker_threshold=(
                _circuit_breaker_threshold(int(service.desired_count or 0))
                if breaker.get("enable")
                else None
            ),
        )

    def stop_service_deployment(self, arn: str, t: float, *, stop_type: str) -> None:
        """StopServiceDeployment: ROLLBACK to the last completed revision, or ABORT where it is.

        Raises ECS's ConflictException when the deployment is not in progress.
        """
        s = next(
            (
                s
                for s in self._services.values()
                if s.deployments
                and s.primary.record is not None
                and s.primary.record.arn == arn
                and not s.primary.rollback
            ),
            None,
        )
        record = self.service_deployments.deployment(arn)
        if s is None or record is None or record.status not in ("PENDING", "IN_PROGRESS"):
            raise ECSException(
                "ConflictException", f"The service deployment {arn} is not in progress."
            )
        d = s.primary
        d.rollout_state = "FAILED"
        d.updated_at = t
        target = s.last_completed
        reason = "Service deployment rolled back by StopServiceDeployment."
        if stop_type == "ROLLBACK" and d.blue_green:
            d.rollout_state_reason = "Service deployment stopped: rolling back."
            native_rollout.roll_back(self, s, d, t, reason=reason)
        elif stop_type == "ROLLBACK" and target is not None:
            d.rollout_state_reason = "Service deployment stopped: rolling back."
            self.roll_back_to(
                s,
                t,
                target=target,
                reason=reason,
                deployment_reason="ECS deployment stopped",
            )
        else:
            # ABORT (or nothing to go back to): the service stays as it is, nothing more launches
            d.rollout_state_reason = "Service deployment stopped by request."
            record.stop(t, reason="Service deployment stopped by request.")
        self.touch(s)
        self._render(s)

    def roll_back_to(
        self, s: _ServiceSim, t: float, *, target: _Deployment, reason: str, deployment_reason: str
    ) -> None:
        """Start a PRIMARY on ``target``'s revision; the failed service deployment rolls back."""
        failed = s.primary
        self.event(s, t, f"(service {s.service.name}) rolling back to deployment {target.id}.")
        s.service.task_definition = target.task_definition
        if failed.record is not None:
            failed.record.roll_back(t, reason=reason, to_revision=target.revision)
        self._new_deployment(
            s,
            t,
            task_definition=target.task_definition,
            reason=f"{deployment_reason}: rolling back to deploymentId {target.id}.",
            rollback_to=target,
        )

    def _schedule(self, s: _ServiceSim, t: float) -> None:
        """One pass of the service scheduler: stop what may stop, launch what may launch."""
        service = s.service
        if service.status == "DRAINING":
            if s.tasks:
                self.stop_batch(s, list(s.tasks), t, reason="Service deleted")
            self._render(s)
            return
        primary = s.primary
        if primary.record is not None and not primary.rollback:
            primary.record.start(t)
        native_rollout.check_alarms(self, s, primary, t)
        primary = s.primary  # an alarm's rollback may have changed it
        if primary.blue_green and primary.rollout_state != "COMPLETED":
            # a native deployment stopped (ABORT, an alarm without rollback) stays as it was left:
            # both revisions keep their tasks and the listener rules their weights
            if primary.rollout_state == "IN_PROGRESS":
                native_rollout.schedule(self, s, t)
            self._render(s)
            return
        desired = int(service.desired_count or 0)
        primary.desired_count = desired
        config = service.deployment_configuration
        max_alive = desired * int(config.get("maximumPercent", 200)) // 100
        min_healthy = math.ceil(desired * int(config.get("minimumHealthyPercent", 100)) / 100)

        to_stop: list[_TaskSim] = []
        old = [x for x in s.tasks if x.deployment is not primary]
        # Old tasks that serve nobody go at once; serving ones only while enough stay healthy.
        to_stop += [x for x in old if not x.healthy]
        healthy = sum(1 for x in s.tasks if x.healthy)
        for x in old:
            if x.healthy and healthy - 1 >= min_healthy:
                to_stop.append(x)
                healthy -= 1
        mine = [x for x in s.tasks if x.deployment is primary]
        surplus = len(mine) - desired
        if surplus > 0:
            # Scale in: the ones not yet running go first.
            to_stop += sorted(mine, key=lambda x: x.status == "RUNNING")[:surplus]
        if to_stop:
            self.stop_batch(
                s, to_stop, t, reason=f"Scaling activity initiated by (deployment {primary.id})"
            )

        # The circuit breaker "stops launching new tasks" once it has failed the deployment.
        if primary.rollout_state != "FAILED":
            mine = [x for x in s.tasks if x.deployment is primary]
            count = min(desired - len(mine), max_alive - len(s.tasks))
            if count > 0:
                self.launch_batch(s, primary, count, t)
        self._check_steady(s, t)
        self._render(s)

    def launch_batch(self, s: _ServiceSim, d: _Deployment, count: int, t: float) -> None:
        service = s.service
        backend = s.backend
        task_definition = backend.describe_task_definition(d.task_definition)
        cluster = backend._get_cluster(service.cluster_name)
        tags: list[dict[str, str]] = []
        if service.propagate_tags == "SERVICE":
            tags = list(service.tags)
        elif service.propagate_tags == "TASK_DEFINITION":
            tags = list(task_definition.tags)
        capacity = (service.capacity_provider_strategy or [{}])[0].get("capacityProvider")
        launched = [
            self.launch(
                backend=backend,
                cluster=cluster,
                task_definition=task_definition,
                now=t,
                launch_type=service.launch_type or "",
                network_configuration=service.network_configuration or None,
                started_by=d.id,
                group=f"service:{service.name}",
                tags=tags,
                platform_version=service.platform_version,
                capacity_provider_name=capacity,
                enable_execute_command=bool(service.enable_execute_command),
                service=s,
                deployment=d,
            )
            for _ in range(count)
        ]
        ids = " ".join(f"(task {x.task.id})" for x in launched)
        self.event(s, t, f"(service {service.name}) has started {count} tasks: {ids}.")
        d.updated_at = t

    def stop_batch(self, s: _ServiceSim, tasks: list[_TaskSim], t: float, *, reason: str) -> None:
        ids = " ".join(f"(task {x.task.id})" for x in tasks)
        for x in tasks:
            self.stop(x, t, reason=reason, code="ServiceSchedulerInitiated")
        self.event(
            s, t, f"(service {s.service.name}) has stopped {len(tasks)} running tasks: {ids}."
        )

    def _task_failed(self, s: _ServiceSim, d: _Deployment, t: float) -> None:
        d.failed_tasks += 1
        d.updated_at = t
        if d.record is not None and not d.rollback and d.record.target == d.revision:
            d.record.failure_count = d.failed_tasks
        breaker = s.service.deployment_configuration.get("deploymentCircuitBreaker") or {}
        if d is not s.primary or d.rollout_state != "IN_PROGRESS" or not breaker.get("enable"):
            return
        if d.failed_tasks < _circuit_breaker_threshold(int(s.service.desired_count or 0)):
            return
        name = s.service.name
        d.rollout_state = "FAILED"
        d.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start."
        self.event(
            s, t, f"(service {name}) deployment {d.id} deployment failed: tasks failed to start."
        )
        target = s.last_completed
        if d.record is not None and not d.rollback:
            d.record.breaker_triggered = True
        reason = (
            "Service deployment rolled back because the circuit breaker threshold was exceeded."
        )
        if d.blue_green:
            native_rollout.roll_back(self, s, d, t, reason=reason)
        elif breaker.get("rollback") and target is not None and not d.rollback:
            self.roll_back_to(
                s,
                t,
                target=target,
                reason=reason,
                deployment_reason="ECS deployment circuit breaker",
            )
        elif d.record is not None:
            d.record.stop(t, reason=d.rollout_state_reason, failed_rollback=d.rollback)

    def _check_steady(self, s: _ServiceSim, t: float) -> None:
        primary = s.primary
        if primary.rollout_state == "FAILED":
            return
        desired = int(s.service.desired_count or 0)
        if len(s.tasks) != desired or not all(
            x.deployment is primary and x.healthy for x in s.tasks
        ):
            return
        if s.record is not None and s.record.status == "ROLLBACK_IN_PROGRESS":
            s.record.succeed(t)  # a blue/green rollback: the blue tasks serve alone again
        s.deployments = [primary]
        if primary.rollout_state == "IN_PROGRESS":
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
            primary.updated_at = t
            s.last_completed = primary
            if primary.record is not None:
                primary.record.succeed(t)
        if not s.steady:
            s.steady = True
            self.event(s, t, f"(service {s.service.name}) has reached a steady state.")

    def event(self, s: _ServiceSim, t: float, message: str) -> None:
        events = s.service.events
        events.insert(0, {"id": str(uuid.uuid4()), "createdAt": datetime_at(t), "message": message})
        del events[MAX_EVENTS:]

    def _render(self, s: _ServiceSim) -> None:
        """Write counts and deployments onto moto's Service, which DescribeServices serves."""
        service = s.service
        service.running_count = sum(1 for x in s.tasks if x.status == "RUNNING")
        service.pending_count = sum(1 for x in s.tasks if x.status in ("PROVISIONING", "PENDING"))
        deployments = []
        for i, d in enumerate(s.deployments):
            mine = [x for x in s.tasks if x.deployment is d]
            deployments.append(
                {
                    "id": d.id,
                    "status": "PRIMARY" if i == 0 else "ACTIVE",
                    "taskDefinition": d.task_definition,
                    "desiredCount": d.desired_count if i == 0 else len(mine),
                    "pendingCount": sum(1 for x in mine if x.status in ("PROVISIONING", "PENDING")),
                    "runningCount": sum(1 for x in mine if x.status == "RUNNING"),
                    "failedTasks": d.failed_tasks,
                    "createdAt": datetime_at(d.created_at),
                    "updatedAt": datetime_at(d.updated_at),
                    "launchType": service.launch_type,
                    "platformVersion": service.platform_version,
                    "platformFamily": service.platform_family,
                    "networkConfiguration": service.network_configuration or None,
                    "rolloutState": d.rollout_state,
                    "rolloutStateReason": d.rollout_state_reason,
                    # reported on the deployment only, never on the service
                    **d.settings,
                }
            )
        service.deployments = deployments
        self._render_revisions(s)

    def _render_revisions(self, s: _ServiceSim) -> None:
        """Task counts per service revision, on the service and on its current service deployment."""
        counts: dict[str, RevisionCounts] = {}
        for i, d in enumerate(s.deployments):
            mine = [x for x in s.tasks if x.deployment is d]
            seen = counts.get(d.revision, RevisionCounts())
            counts[d.revision] = RevisionCounts(
                requested=seen.requested + (d.desired_count if i == 0 else len(mine)),
                running=seen.running + sum(1 for x in mine if x.status == "RUNNING"),
                pending=seen.pending
                + sum(1 for x in mine if x.status in ("PROVISIONING", "PENDING")),
            )
        # only the current service deployment follows the tasks; older ones keep how they ended
        record = s.record if s.deployments else None
        if record is not None:
            record.counts = {
                arn: counts.get(arn, RevisionCounts()) for arn in (record.target, *record.sources)
            }
        s.service.current_service_deployment = record.arn if record is not None else None
        s.service.current_service_revisions = [c.answer(arn) for arn, c in counts.items() if arn]

    # ---- network, load balancers, cluster counters ------------------------------------------

    @staticmethod
    def _private_ip(task: Any) -> str | None:
        for attachment in task.attachments:
            for detail in attachment.get("details", []):
                if detail["name"] == "privateIPv4Address":
                    return str(detail["value"])
        return None

    @staticmethod
    def _availability_zone(
        backend: Any, network_configuration: dict[str, Any] | None
    ) -> str | None:
        subnets = ((network_configuration or {}).get("awsvpcConfiguration") or {}).get(
            "subnets"
        ) or []
        if not subnets:
            return None
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        try:
            return str(ec2.get_subnet(subnets[0]).availability_zone)
        except Exception:  # a subnet moto does not know: the task still runs, just without an AZ
            return None

    def _release_network_interface(self, x: _TaskSim) -> None:
        # ECS deletes a Fargate task's ENI when the task stops.
        ec2 = ec2_backends[x.backend.account_id][x.backend.region_name]
        for attachment in x.task.attachments:
            for detail in attachment.get("details", []):
                if detail["name"] == "networkInterfaceId":
                    ec2.enis.pop(detail["value"], None)
            attachment["status"] = "DELETED"

    def _register_targets(self, x: _TaskSim) -> None:
        ip = self._private_ip(x.task)
        if x.service is None or ip is None:
            return
        elbv2 = elbv2_backends[x.backend.account_id][x.backend.region_name]
        d = x.deployment
        green = d is not None and d.blue_green and d.rollout_state == "IN_PROGRESS"
        for lb in x.service.service.load_balancers or []:
            arn = blue_green.target_group(lb, green=green)
            group = elbv2.target_groups.get(arn) if arn else None
            if arn is None or group is None:
                continue
            port = int(lb.get("containerPort") or group.port or 80)
            group.register([{"Id": ip, "Port": port}])
            x.targets.append((arn, ip, port))
            if x.outcome == "exit1":
                self._unhealthy_targets.add((arn, ip))

    def _deregister_targets(self, x: _TaskSim) -> None:
        elbv2 = elbv2_backends[x.backend.account_id][x.backend.region_name]
        for arn, ip, port in x.targets:
            group = elbv2.target_groups.get(arn)
            if group is not None and ip in group.targets:
                group.deregister([{"Id": ip, "Port": port}])
            self._unhealthy_targets.discard((arn, ip))
        x.targets.clear()

    def target_unhealthy(self, target_group_arn: str, target_id: str) -> bool:
        return (target_group_arn, target_id) in self._unhealthy_targets

    def count_clusters(self) -> None:
        """Write task and service counts onto moto's clusters, for an answer that shows them."""
        backends = {id(s.backend): s.backend for s in self._services.values()}
        backends.update({id(x.backend): x.backend for x in self._tasks.values()})
        for backend in backends.values():
            for cluster in backend.clusters.values():
                cluster.running_tasks_count = 0
                cluster.pending_tasks_count = 0
                cluster.active_services_count = sum(
                    1
                    for s in backend.services.values()
                    if s.cluster_name == cluster.name and s.status == "ACTIVE"
                )
        for x in self._tasks.values():
            cluster = x.backend.clusters.get(x.task.cluster_name)
            if cluster is None:
                continue
            if x.status == "RUNNING":
                cluster.running_tasks_count += 1
            else:
                cluster.pending_tasks_count += 1


def _with_security_groups(network_configuration: dict[str, Any] | None) -> dict[str, Any] | None:
    # securityGroups may be left out (ECS then uses the VPC's default group); moto's ENI needs a list.
    if not network_configuration:
        return None
    vpc = {"securityGroups": [], **(network_configuration.get("awsvpcConfiguration") or {})}
    return {**network_configuration, "awsvpcConfiguration": vpc}
