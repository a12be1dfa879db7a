"""Steps that several strategies take: choosing the task definition revision and the count.

Does I/O through the rollout context's ``EcsApi``.
"""

from __future__ import annotations

from typing import Any

from controller.core.model import DesiredService
from controller.strategies.base import RolloutContext

JsonDict = dict[str, Any]


def resolve_task_definition(ctx: RolloutContext, live_service: JsonDict | None) -> str:
    """The ARN of a revision with the desired content: the live one, an identical one, or a new one.

    Reusing an identical ACTIVE revision means a revert returns to the very revision that ran
    before, and revision numbers do not grow on every no-op.
    """
    if (
        live_service is not None
        and not ctx.plan.task_definition_changes
        and live_service.get("taskDefinition")
    ):
        return str(live_service["taskDefinition"])
    family = str(ctx.desired.task_definition["family"])
    known = [arn for digest, arn in ctx.known_revisions if digest == ctx.plan.digest]
    # the status file's history (revisions this controller registered) is the memory to trust;
    # without one (a service adopted from elsewhere), search the family's newest revisions
    arn = ctx.api.find_task_definition(
        family=family, digest=ctx.plan.digest, known_arns=known, scan=not ctx.known_revisions
    )
    if arn is not None:
        ctx.report(f"reusing {arn} (same content)")
        return arn
    arn = ctx.api.register_task_definition(ctx.desired.task_definition, digest=ctx.plan.digest)
    ctx.report(f"registered {arn}")
    return arn


def desired_count(desired: DesiredService, live_service: JsonDict | None) -> int:
    """How many tasks the service should run after the deploy.

    The manifest's desiredCount, unless autoscaling owns the count, ``rolling.sameAsRunningInstances``
    is set, or the manifest leaves it out: then the running count ("whatever is running").
    """
    request = desired.service or {}
    same_as_running = bool(desired.deploy.block("rolling").get("sameAsRunningInstances"))
    autoscaled = desired.scalable_target is not None
    if live_service is not None and (
        same_as_running or autoscaled or "desiredCount" not in request
    ):
        running = int(live_service.get("runningCount") or 0)
        return running or int(live_service.get("desiredCount") or 0)
    if "desiredCount" in request:
        return int(request["desiredCount"])
    if desired.scalable_target is not None:
        return int(desired.scalable_target.get("MinCapacity", 1))
    return 1
