"""The blue-green strategy: a new service behind the stage listener, then a listener swap.

As in the seed tutorial ("ECS Blue Green deployments", "ECS Rollbacks"): each deploy creates a
new generation ``<name>__<N>`` on the target group the stage listener (or rule) forwards to,
waits for steady state and healthy targets, verifies, then swaps: the prod listener forwards to
the new target group and the stage listener to the old one. The new service is tagged
BG_VERSION=BLUE, the old GREEN; the old one is downsized to 0 (kept) unless
``downsizeOldService: false``, and older downsized generations are deleted. Autoscaling follows
production. A failure before the swap deletes the stage service (production never saw it); after
the swap, the listeners are swapped back and the old service scaled back up.

Every generation is created with the owner tag (``ecs-gitops.owner`` = the folder's key), and
only generations carrying it are scaled, tagged, swapped away from or deleted: a ``<name>__<N>``
without it is someone else's and is left alone (a new generation's number is past it too).

Does I/O through the rollout context's ``EcsApi`` and ``ElbApi``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.aws.elb import (
    BG_VERSION_TAG,
    BLUE,
    GREEN,
    attached_to,
    generation,
    routes,
    serving,
)
from controller.core.expressions import TARGET_GROUP_ARN
from controller.core.health import Health, HealthStatus, deployment_health, settled
from controller.core.outcome import Outcome, Result
from controller.core.ownership import not_owned, owned_by, with_owner
from controller.core.plan import Action
from controller.strategies.base import (
    PhasedRollout,
    Progress,
    RolloutContext,
    RolloutState,
    primary_deployment_id,
)
from controller.strategies.steps import desired_count, resolve_task_definition
from controller.strategies.verify import Verdict, verify_step

JsonDict = dict[str, Any]

# Phases, in order; ROLLBACK and ROLLBACK_WAIT are entered only on failure.
PREPARE, CREATE, WAIT, VERIFY, SWAP, CONFIRM, FINISH, ROLLBACK, ROLLBACK_WAIT = (
    "prepare",
    "create",
    "wait",
    "verify",
    "swap",
    "confirm",
    "finish",
    "rollback",
    "rollback-wait",
)

# Keys of DescribeScalableTargets/DescribeScalingPolicies answers worth keeping to restore them
# (the progress is journaled as JSON: timestamps and ARNs are left out).
_TARGET_KEYS = ("MinCapacity", "MaxCapacity", "SuspendedState")
_POLICY_KEYS = (
    "PolicyName", "PolicyType", "StepScalingPolicyConfiguration",
    "TargetTrackingScalingPolicyConfiguration",
)  # fmt: skip


@dataclass
class BlueGreenState(RolloutState):
    """Everything needed to resume or undo a blue-green deploy, beside the common progress."""

    # the generation this deploy creates, and the one production ran on before (if any)
    new_service: str | None = None
    old_service: str | None = None
    # the target groups the prod and stage routes forwarded to before the swap
    prod_target_group: str | None = None
    stage_target_group: str | None = None
    # set just before the swap: a rollback then swaps both routes back
    swapped: bool = False
    desired_count: int | None = None
    # the old generation's autoscaling, to restore it should the new one be rolled back
    old_scalable_target: JsonDict | None = None
    old_scaling_policies: list[JsonDict] = field(default_factory=list)


class BlueGreenRollout(PhasedRollout):
    """A blue-green deploy of one service, advanced one step per ``step()`` call."""

    first_phase = PREPARE
    acting_phases = frozenset({PREPARE, CREATE, SWAP, FINISH, ROLLBACK})
    state_type: type[RolloutState] = BlueGreenState

    def __init__(self, ctx: RolloutContext, progress: Progress | None = None) -> None:
        super().__init__(ctx, progress)
        self.elb = ctx.elb
        self.prod, self.stage = routes(ctx.desired.deploy.block("blueGreen"))

    # -- what the progress remembers ----------------------------------------------------------

    @property
    def state(self) -> BlueGreenState:
        return self.progress.state(BlueGreenState)

    @property
    def _base(self) -> str:
        return self.ctx.desired.service_name

    @property
    def _new(self) -> str:
        assert self.state.new_service is not None
        return self.state.new_service

    @property
    def _old(self) -> str | None:
        return self.state.old_service

    @property
    def _prod_group(self) -> str:
        """The target group production used before this rollout (the old service's)."""
        assert self.state.prod_target_group is not None
        return self.state.prod_target_group

    @property
    def _stage_group(self) -> str:
        """The target group the new service serves from."""
        assert self.state.stage_target_group is not None
        return self.state.stage_target_group

    @property
    def _count(self) -> int:
        assert self.state.desired_count is not None
        return self.state.desired_count

    def _resource_id(self, name: str) -> str:
        return f"service/{self._cluster}/{name}"

    def handlers(self) -> Mapping[str, Callable[[], Outcome | None]]:
        return {
            PREPARE: self._prepare,
            CREATE: self._create,
            WAIT: self._wait,
            VERIFY: self._verify,
            SWAP: self._swap,
            CONFIRM: self._confirm,
            FINISH: self._finish,
            ROLLBACK: self._rollback,
            ROLLBACK_WAIT: self._rollback_wait,
        }

    # -- the way forward ------------------------------------------------------------------------

    def _prepare(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        prod_group = self.elb.target_group_of(self.prod)
        stage_group = self.elb.target_group_of(self.stage)
        problem = self._port_problem()
        if stage_group == prod_group:
            problem = (
                f"the prod route ({self.prod}) and the stage route ({self.stage}) both "
                f"forward to {prod_group}: blue-green needs two target groups"
            )
        if problem is not None:
            # a configuration mistake: nothing has been created, nothing is undone
            return Outcome(
                Result.FAILED,
                f"blue-green deploy not started: {problem}",
                failure_reason=problem,
            )
        generations = self._generations()
        foreign = self._foreign_on(stage_group, generations)
        if foreign is not None:
            return Outcome(
                Result.FAILED, f"blue-green deploy not started: {foreign}", failure_reason=foreign
            )
        old = serving(self._ours(generations), prod_group, base=self._base)
        # past every generation, whoever owns it: the new name must be free
        number = max(
            (generation(str(s["serviceName"]), self._base) or 0 for s in generations), default=0
        )
        state = self.state
        state.new_service = f"{self._base}__{number + 1}"
        state.old_service = None if old is None else str(old["serviceName"])
        state.prod_target_group, state.stage_target_group = prod_group, stage_group
        state.swapped = False
        if old is not None:
            p.previous_task_definition_arn = old.get("taskDefinition")
            p.previous_desired_count = old.get("desiredCount")
            self._remember_autoscaling(str(old["serviceName"]))
        # the plan compared git with what fetch_live found; should that have been nothing, the
        # revision cannot be taken from the old service unseen
        p.task_definition_arn = resolve_task_definition(
            ctx, None if ctx.plan.action is Action.CREATE else old
        )
        state.desired_count = desired_count(ctx.desired, old)
        p.phase = CREATE
        return None

    def _port_problem(self) -> str | None:
        """Harness's check: the load balancer's container port must be one the container maps."""
        containers = {
            c.get("name"): {m.get("containerPort") for m in c.get("portMappings") or ()}
            for c in self.ctx.desired.task_definition.get("containerDefinitions", [])
        }
        for balancer in (self.ctx.desired.service or {}).get("loadBalancers", []):
            if balancer.get("targetGroupArn") != TARGET_GROUP_ARN:
                continue
            name, port = balancer.get("containerName"), balancer.get("containerPort")
            ports = containers.get(name, set())
            if port not in ports:
                mapped = ", ".join(str(x) for x in sorted(ports, key=str)) or "none"
                return (
                    f"no port mapping of container '{name}' matches the load balancer's "
                    f"containerPort {port} (it maps: {mapped})"
                )
        return None

    def _generations(self) -> list[JsonDict]:
        """The live ``<name>__<N>`` services, oldest first."""
        names = [
            n
            for n in self.ctx.api.list_service_names(cluster=self._cluster)
            if generation(n, self._base) is not None
        ]
        found = [self._describe(n) for n in names]
        return sorted(
            (s for s in found if s is not None),
            key=lambda s: generation(str(s["serviceName"]), self._base) or 0,
        )

    def _ours(self, generations: list[JsonDict]) -> list[JsonDict]:
        """The generations this folder created (tagged with its key)."""
        return [s for s in generations if owned_by(s, self.ctx.desired.key)]

    def _foreign_on(self, stage_group: str, generations: list[JsonDict]) -> str | None:
        """Why the new version cannot be tried alone behind the stage route, if it cannot.

        A running generation of someone else's on the stage target group would take the stage
        traffic (and, after the swap, production's), and it is not ours to scale down.
        """
        for other in generations:
            name = str(other["serviceName"])
            if (
                not owned_by(other, self.ctx.desired.key)
                and int(other.get("desiredCount") or 0) > 0
                and attached_to(other, stage_group)
            ):
                reason = not_owned(name, other, key=self.ctx.desired.key)
                return f"{reason}; it runs on the stage target group {stage_group}"
        return None

    def _remember_autoscaling(self, name: str) -> None:
        resource_id = self._resource_id(name)
        target = self.ctx.api.scalable_target(resource_id)
        policies = self.ctx.api.scaling_policies(resource_id)
        state = self.state
        if target is not None:
            state.old_scalable_target = {
                "ServiceNamespace": "ecs",
                "ScalableDimension": "ecs:service:DesiredCount",
                **{k: target[k] for k in _TARGET_KEYS if k in target},
            }
        if policies:
            state.old_scaling_policies = [
                {
                    "ServiceNamespace": "ecs",
                    "ScalableDimension": "ecs:service:DesiredCount",
                    **{k: policy[k] for k in _POLICY_KEYS if k in policy},
                }
                for policy in policies
            ]

    def _create(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        # None unless a restart came between creating and journaling
        existing = self._describe(self._new)
        if existing is not None and not owned_by(existing, ctx.desired.key):
            reason = not_owned(self._new, existing, key=ctx.desired.key)
            return Outcome(
                Result.FAILED,
                f"blue-green deploy not started: {reason}",
                task_definition_arn=p.previous_task_definition_arn,
                failure_reason=reason,
            )
        # the stage target group must serve the new version only: earlier stage generations go to 0
        for other in self._ours(self._generations()):
            name = str(other["serviceName"])
            running = int(other.get("desiredCount") or 0) > 0
            if (
                running
                and name not in (self._new, self._old)
                and attached_to(other, self._stage_group)
            ):
                ctx.report(f"scaling stage service {name} to 0 (it holds the stage target group)")
                ctx.api.update_service(cluster=self._cluster, name=name, fields={"desiredCount": 0})
        if existing is None:
            assert p.task_definition_arn is not None
            ctx.report(
                f"creating stage service {self._new} with {p.task_definition_arn} and desired "
                f"count {self._count} on target group {self._stage_group}"
            )
            existing = ctx.api.create_service(self._request())
        p.created = True
        p.deployment_id = primary_deployment_id(existing)
        p.phase = WAIT
        return None

    def _request(self) -> JsonDict:
        request = dict(self.ctx.desired.service or {})
        request["loadBalancers"] = [
            {**lb, "targetGroupArn": self._stage_group}
            if lb.get("targetGroupArn") == TARGET_GROUP_ARN
            else lb
            for lb in request.get("loadBalancers", [])
        ]
        tags = with_owner(
            [t for t in request.get("tags", []) if t.get("key") != BG_VERSION_TAG],
            self.ctx.desired.key,
        )
        return {
            **request,
            "serviceName": self._new,
            "taskDefinition": self.progress.task_definition_arn,
            "desiredCount": self._count,
            "tags": [*tags, {"key": BG_VERSION_TAG, "value": GREEN}],
        }

    def _targets_ready(self, group: str) -> tuple[bool, str]:
        counts = self.elb.target_health(group)
        ready = counts.healthy >= self._count and counts.unhealthy == 0
        return ready, f"target group {group}: {counts}"

    def _new_service_health(self) -> Health:
        """Whether the new service's deployment (ours) reached steady state."""
        p = self.progress
        assert p.task_definition_arn is not None
        return deployment_health(
            self._observe(self._new),
            deployment_id=p.deployment_id,
            task_definition_arn=p.task_definition_arn,
        )

    def _wait(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        health = self._new_service_health()
        if health.status in (HealthStatus.DEGRADED, HealthStatus.MISSING):
            return self._fail(f"stage service {self._new}: {health.message}")
        detail = health.message
        if health.status == HealthStatus.HEALTHY:
            ready, detail = self._targets_ready(self._stage_group)
            if ready:
                ctx.report(f"stage service {self._new} is steady and its targets are healthy")
                p.phase = VERIFY
                return self._verify()  # observe at once: no poll interval between the two
        if ctx.clock() >= p.deadline:
            timeout = ctx.desired.deploy.timeout_seconds
            return self._fail(f"timed out after {timeout:g}s waiting for {self._new} ({detail})")
        return None

    def _verify(self) -> Outcome | None:
        # deploy.yaml `verify` runs against the stage version, before production traffic moves
        verification = verify_step(self.ctx, self.progress)
        if verification.verdict == Verdict.FAILED:
            return self._fail(f"verification failed: {verification.message}")
        if verification.verdict == Verdict.PASSED:
            self.progress.phase = SWAP
        return None

    def _swap(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        # set first: should the swap fail half way, the rollback puts both listeners back
        self.state.swapped = True
        ctx.report(f"prod {self.prod} -> {self._stage_group} (new service {self._new})")
        self.elb.forward(self.prod, self._stage_group)
        ctx.report(f"stage {self.stage} -> {self._prod_group}")
        self.elb.forward(self.stage, self._prod_group)
        self._tag(self._new, BLUE)
        if self._old is not None:
            self._tag(self._old, GREEN)
        p.phase = CONFIRM
        return None

    def _tag(self, name: str, colour: str) -> None:
        service = self._describe(name)
        if service is not None and owned_by(service, self.ctx.desired.key):
            self.ctx.report(f"tagging {name} {BG_VERSION_TAG}={colour}")
            self.ctx.api.tag_service(
                arn=str(service["serviceArn"]), tags=[{"key": BG_VERSION_TAG, "value": colour}]
            )

    def _confirm(self) -> Outcome | None:
        """Production now reaches the new service: its listener says so and its targets are healthy."""
        ctx, p = self.ctx, self.progress
        health = self._new_service_health()
        if health.status in (HealthStatus.DEGRADED, HealthStatus.MISSING):
            return self._fail(f"after the swap, {self._new}: {health.message}")
        routed = self.elb.target_group_of(self.prod)
        if routed != self._stage_group:
            return self._fail(f"after the swap, the prod {self.prod} forwards to {routed}")
        ready, detail = self._targets_ready(self._stage_group)
        if ready and health.status == HealthStatus.HEALTHY:
            p.phase = FINISH
            return None
        if ctx.clock() >= p.deadline:
            return self._fail(f"after the swap, production targets never became healthy ({detail})")
        return None

    def _finish(self) -> Outcome | None:
        ctx, p, desired = self.ctx, self.progress, self.ctx.desired
        old = self._old
        if old is not None:
            # autoscaling follows production; left on the old service it would scale it back up
            ctx.api.remove_autoscaling(resource_id=self._resource_id(old))
        target, policies = self._autoscaling_for(self._new)
        ctx.api.apply_autoscaling(target=target, policies=policies)
        if old is not None and desired.deploy.block("blueGreen").get("downsizeOldService", True):
            ctx.report(f"downsizing old service {old} to 0 (kept, not deleted)")
            ctx.api.update_service(cluster=self._cluster, name=old, fields={"desiredCount": 0})
        for other in self._ours(self._generations()):
            name = str(other["serviceName"])
            if name not in (self._new, old):
                ctx.report(f"deleting older generation {name}")
                ctx.api.remove_autoscaling(resource_id=self._resource_id(name))
                ctx.api.delete_service(cluster=self._cluster, name=name)
        return Outcome(
            Result.SYNCED,
            f"deployed {p.task_definition_arn} as {self._new}, behind the prod listener"
            + (f"; {old} is the previous version" if old else ""),
            task_definition_arn=p.task_definition_arn,
            details=self._details(self._new, self._stage_group),
        )

    def _autoscaling_for(self, name: str) -> tuple[JsonDict | None, list[JsonDict]]:
        """The desired scalable target and policies, aimed at service ``name``."""
        resource_id = self._resource_id(name)
        target = self.ctx.desired.scalable_target
        policies = [{**p, "ResourceId": resource_id} for p in self.ctx.desired.scaling_policies]
        return (None if target is None else {**target, "ResourceId": resource_id}), policies

    def _details(self, name: str, group: str) -> dict[str, object]:
        return {"serviceName": name, "colour": BLUE, "targetGroup": group}

    # -- the way back --------------------------------------------------------------------------

    def changed_anything(self) -> bool:
        return self.progress.phase != PREPARE

    def fail(self, reason: str) -> Outcome | None:
        return self._fail(reason)

    def failing_service(self) -> str | None:
        # the stage service runs the new tasks
        return self._new

    def supersede(self) -> None:
        p = self.progress
        if p.phase == PREPARE:
            super().supersede()
        elif p.phase in (CREATE, WAIT, VERIFY) or (p.phase == SWAP and not self.state.swapped):
            # production never reached the superseded version: delete its stage service
            self._fail("superseded by a newer desired state before the swap")
        # after the swap it serves production: it is confirmed and finished as it is

    def _fail(self, reason: str) -> Outcome | None:
        self.progress.failure = reason
        self.progress.phase = ROLLBACK
        self.ctx.report(f"deploy failed: {reason}; rolling back")
        return None

    def _rollback(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        old = self._old
        if self.state.swapped:
            ctx.report(f"swapping back: prod {self.prod} -> {self._prod_group}")
            self.elb.forward(self.prod, self._prod_group)
            self.elb.forward(self.stage, self._stage_group)
            if old is not None:
                self._tag(old, BLUE)
                if p.previous_desired_count is not None:
                    ctx.report(f"scaling {old} back to {p.previous_desired_count}")
                    ctx.api.update_service(
                        cluster=self._cluster,
                        name=old,
                        fields={"desiredCount": p.previous_desired_count},
                    )
                ctx.api.restore_autoscaling(
                    target=self.state.old_scalable_target,
                    policies=self.state.old_scaling_policies,
                    resource_id=self._resource_id(old),
                )
            ctx.api.remove_autoscaling(resource_id=self._resource_id(self._new))
        stage = self._describe(self._new)
        if (
            stage is not None
            and stage.get("status") == "ACTIVE"  # DRAINING: already deleted
            and owned_by(stage, ctx.desired.key)
        ):
            # production never depended on it (before the swap) or no longer does (after)
            ctx.report(f"deleting stage service {self._new}")
            ctx.api.update_service(
                cluster=self._cluster, name=self._new, fields={"desiredCount": 0}
            )
            ctx.api.delete_service(cluster=self._cluster, name=self._new)
        # the rollback gets as long as the deploy had
        p.deadline = ctx.clock() + ctx.desired.deploy.timeout_seconds
        p.phase = ROLLBACK_WAIT
        return None

    def _rollback_wait(self) -> Outcome | None:
        ctx, p = self.ctx, self.progress
        old = self._old
        service = self._observe(old) if old is not None else None
        restored = service.get("taskDefinition") if service else None
        if old is None:
            return Outcome(
                Result.FAILED,
                f"deploy of {p.task_definition_arn} failed: {p.failure}; stage service "
                f"{self._new} deleted (there was no previous version to keep serving)",
                task_definition_arn=None,
                failure_reason=p.failure,
            )
        if settled(service):
            return Outcome(
                Result.ROLLED_BACK,
                f"deploy of {p.task_definition_arn} failed: {p.failure}; {old} on {restored} "
                "serves production"
                + ("" if self.state.swapped else " (traffic never reached the new version)"),
                task_definition_arn=restored,
                failure_reason=p.failure,
                restored_task_definition_arn=restored,
                details=self._details(old, self._prod_group),
            )
        if ctx.clock() >= p.deadline:
            return Outcome(
                Result.FAILED,
                f"deploy of {p.task_definition_arn} failed: {p.failure}; {old} did not settle in time",
                task_definition_arn=restored,
                failure_reason=p.failure,
            )
        return None


# what the registry runs for this strategy
ROLLOUT = BlueGreenRollout
