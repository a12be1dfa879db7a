"""Native deployments (BLUE_GREEN, LINEAR, CANARY) as the ECS simulation runs them, stage by stage.

``schedule`` is the scheduler's pass over a service whose PRIMARY is a native deployment: the
lifecycle stages in ECS's order (``controller.localaws.blue_green`` says what each does to target
groups and listener rules), the bakes on the simulated clock, and each stage's lifecycle hooks;
``roll_back`` puts traffic back on the blue tasks; ``check_alarms`` fails any deployment in
progress whose deploymentConfiguration.alarms are in ALARM; ``continue_deployment`` answers a PAUSE
hook (ContinueServiceDeployment).

Split from ``controller.localaws.simulation`` (whose EcsSimulation these functions advance)
so that the rolling scheduler stays readable. Does I/O only on moto's in-memory backends (ELBv2
listener rules, CloudWatch alarms); time comes in as ``t``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moto.cloudwatch.models import cloudwatch_backends
from moto.ecs.exceptions import InvalidParameterException

from controller.localaws import blue_green
from controller.localaws.service_deployments import HookRun, new_hook_id

if TYPE_CHECKING:
    from controller.localaws.simulation import EcsSimulation, _Deployment, _ServiceSim


def schedule(sim: EcsSimulation, s: _ServiceSim, t: float) -> None:
    """One pass over a native blue/green deployment: its lifecycle stages, in ECS's order."""
    d, service = s.primary, s.service
    desired = d.desired_count = int(service.desired_count or 0)
    stages = blue_green.LIFECYCLE_STAGES
    stage = d.stage or stages[0]
    while True:
        green = [x for x in s.tasks if x.deployment is d]
        if stage == "SCALE_UP":
            if len(green) < desired:
                sim.launch_batch(s, d, desired - len(green), t)
            if len(green) < desired or not all(x.healthy for x in green):
                break
        elif stage == "TEST_TRAFFIC_SHIFT":
            blue_green.shift(s.backend, service, rule="testListenerRule", percent=100.0)
            if d.record is not None:
                d.record.shifted(test=100.0, production=0.0)
        elif stage == "PRODUCTION_TRAFFIC_SHIFT" and not _shift_production(sim, s, d, t):
            break
        elif stage == "BAKE_TIME":
            if d.bake_until is None:
                d.bake_until = t + blue_green.bake_seconds(
                    service, minute_seconds=sim.options.minute_seconds
                )
                sim.wake_at(d.bake_until, s)
            if t < d.bake_until:
                break
        elif stage == "CLEAN_UP":
            blue = [x for x in s.tasks if x.deployment is not d]
            if blue:
                sim.stop_batch(
                    s, blue, t, reason=f"Scaling activity initiated by (deployment {d.id})"
                )
            blue_green.swap_target_groups(service)
            s.deployments = [d]
            d.rollout_state = "COMPLETED"
            d.rollout_state_reason = f"ECS deployment {d.id} completed."
            d.updated_at = t
            s.last_completed = d
            if d.record is not None:
                d.record.succeed(t)
            s.steady = True
            sim.event(s, t, f"(service {service.name}) has reached a steady state.")
            break
        if not _run_hooks(sim, s, d, stage, t):
            break  # a PAUSE hook awaits action, or a hook rolled the deployment back
        stage = stages[stages.index(stage) + 1]
    d.stage = stage
    if d.record is not None:
        d.record.lifecycle_stage = stage


def _shift_production(sim: EcsSimulation, s: _ServiceSim, d: _Deployment, t: float) -> bool:
    """Take the production steps due by ``t`` (all at once, linear or canary); True when done."""
    steps = blue_green.production_steps(s.service.deployment_configuration)
    while d.step < len(steps):
        if d.step_until is not None and t < d.step_until:
            return False
        percent, wait_minutes = steps[d.step]
        blue_green.shift(s.backend, s.service, rule="productionListenerRule", percent=percent)
        if d.record is not None:
            d.record.shifted(test=100.0, production=percent)
        d.step += 1
        d.step_until = None
        if d.step < len(steps) and wait_minutes:
            # ECS bakes between steps, not after the last one
            d.step_until = t + wait_minutes * sim.options.minute_seconds
            sim.wake_at(d.step_until, s)
    return True


def _run_hooks(sim: EcsSimulation, s: _ServiceSim, d: _Deployment, stage: str, t: float) -> bool:
    """The lifecycle hooks of ``stage``: True once they all let the deployment go on.

    AWS_LAMBDA hooks answer at once (FAILED when ``fail_hooks`` match their ARN); PAUSE hooks
    wait in AWAITING_ACTION for ContinueServiceDeployment or their timeout (a simulated
    ``timeoutInMinutes``, default 1440, then its ``action``, default ROLLBACK).
    """
    record = d.record
    config = s.service.deployment_configuration.get("lifecycleHooks") or []
    hooks = [h for h in config if stage in (h.get("lifecycleStages") or [])]
    if not hooks or record is None:
        return True
    if d.hooks_stage != stage:
        d.hooks_stage = stage
        record.hooks = []
        for hook in hooks:
            timeout = hook.get("timeoutConfiguration") or {}
            kind = str(hook.get("targetType") or "AWS_LAMBDA")
            arn = hook.get("hookTargetArn") if kind == "AWS_LAMBDA" else None
            run = HookRun(
                hook_id=new_hook_id(),
                target_type=kind,
                target_arn=arn,
                status="AWAITING_ACTION",
                timeout_action=str(timeout.get("action") or "ROLLBACK"),
            )
            if kind == "AWS_LAMBDA":
                run.status = "FAILED" if sim.options.hook_fails(str(arn)) else "SUCCEEDED"
            else:
                minutes = float(timeout.get("timeoutInMinutes", 1440))
                run.expires_at = t + minutes * sim.options.minute_seconds
                sim.wake_at(run.expires_at, s)
            record.hooks.append(run)
    for run in record.hooks:
        expired = run.expires_at is not None and t >= run.expires_at
        if run.status == "AWAITING_ACTION" and expired:
            run.status = "TIMED_OUT"
    failed = [
        f"lifecycle hook {run.target_arn or run.hook_id} "
        + ("failed" if run.status == "FAILED" else "timed out")
        for run in record.hooks
        if run.status == "FAILED"
        or (run.status == "TIMED_OUT" and run.timeout_action == "ROLLBACK")
    ]
    if d.rejected_at:
        reason = f"Service deployment rolled back by ContinueServiceDeployment at {stage}."
    elif failed:
        reason = f"Service deployment rolled back because {'; '.join(failed)} at {stage}."
    else:
        return all(run.status != "AWAITING_ACTION" for run in record.hooks)
    d.rollout_state = "FAILED"
    d.rollout_state_reason = f"ECS deployment {d.id} failed at {stage}."
    roll_back(sim, s, d, t, reason=reason)
    return False


def check_alarms(sim: EcsSimulation, s: _ServiceSim, d: _Deployment, t: float) -> None:
    """deploymentConfiguration.alarms: one in ALARM in CloudWatch fails ``d`` while in progress
    (bake time included), rolled back when ``rollback`` is on."""
    alarms = s.service.deployment_configuration.get("alarms") or {}
    if not alarms.get("enable") or d.rollback or d.rollout_state != "IN_PROGRESS":
        return
    cloudwatch = cloudwatch_backends[s.backend.account_id][s.backend.region_name]
    names = list(alarms.get("alarmNames") or [])
    triggered = [
        n for n in names if n in cloudwatch.alarms and cloudwatch.alarms[n].state_value == "ALARM"
    ]
    if not triggered:
        return
    listed = ", ".join(triggered)
    d.rollout_state = "FAILED"
    d.rollout_state_reason = f"ECS deployment {d.id} failed: alarm(s) {listed} in ALARM state."
    d.updated_at = t
    sim.event(s, t, f"(service {s.service.name}) deployment {d.id} failed: alarm(s) {listed}.")
    if d.record is not None:
        d.record.triggered_alarms = triggered
    reason = f"Service deployment rolled back because CloudWatch alarm(s) {listed} went into ALARM."
    target = s.last_completed
    if alarms.get("rollback") and d.blue_green:
        roll_back(sim, s, d, t, reason=reason)
    elif alarms.get("rollback") and target is not None:
        sim.roll_back_to(
            s, t, target=target, reason=reason, deployment_reason="ECS deployment alarm"
        )
    elif d.record is not None:
        d.record.stop(t, reason=d.rollout_state_reason)


def roll_back(sim: EcsSimulation, s: _ServiceSim, d: _Deployment, t: float, *, reason: str) -> None:
    """Traffic back to the blue tasks, green ones stopped: the blue revision serves again."""
    blue = next((old for old in s.deployments if old is not d), None)
    for rule in ("productionListenerRule", "testListenerRule"):
        blue_green.shift(s.backend, s.service, rule=rule, percent=0.0)
    green = [x for x in s.tasks if x.deployment is d]
    if green:
        # ECS's scheduler says the same of every task it stops itself, a rollback's included:
        # the green tasks did nothing wrong, the deployment is being undone
        scaled_in = f"Scaling activity initiated by (deployment {d.id})"
        sim.stop_batch(s, green, t, reason=scaled_in)
    s.deployments.remove(d)
    if blue is not None:
        s.service.task_definition = blue.task_definition
    if d.record is not None:
        d.record.shifted(test=0.0, production=0.0)
        d.record.roll_back(
            t, reason=reason, to_revision=blue.revision if blue is not None else d.revision
        )
    s.steady = False
    sim.touch(s)


def continue_deployment(
    sim: EcsSimulation, arn: str, t: float, *, hook_id: str, action: str
) -> None:
    """ContinueServiceDeployment: CONTINUE or ROLLBACK the PAUSE hook ``hook_id`` awaiting action."""
    s = next(
        (
            s
            for s in sim.services()
            if s.deployments and s.primary.record is not None and s.primary.record.arn == arn
        ),
        None,
    )
    run = next(
        (
            run
            for run in (s.primary.record.hooks if s and s.primary.record else [])
            if run.hook_id == hook_id and run.status == "AWAITING_ACTION"
        ),
        None,
    )
    if s is None or run is None:
        raise InvalidParameterException(
            f"The service deployment {arn} has no lifecycle hook {hook_id} awaiting action."
        )
    run.status = "SUCCEEDED" if action == "CONTINUE" else "FAILED"
    if action == "ROLLBACK":
        s.primary.rejected_at = s.primary.stage
    s.primary.updated_at = t
    sim.touch(s)  # the next scheduler pass goes on, or rolls back
