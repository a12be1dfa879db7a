"""Risk flags: what a reviewer must not miss, read off a plan's field changes."""

from __future__ import annotations

import pytest

from controller.core.plan import Action, FieldChange, ServicePlan
from controller.core.risk import risk_flags


@pytest.mark.parametrize(
    ("plan", "flags"),
    [
        (
            ServicePlan("s/a", Action.UPDATE, service_changes=(FieldChange("desiredCount", 2, 0),)),
            ("desiredCount to 0",),
        ),
        (
            ServicePlan("s/a", Action.UPDATE, service_changes=(FieldChange("desiredCount", 2, 1),)),
            (),
        ),
        (
            ServicePlan(
                "s/a",
                Action.UPDATE,
                autoscaling_changes=(FieldChange("scalableTarget.MaxCapacity", 4, 0),),
            ),
            ("desiredCount to 0",),
        ),
        (
            ServicePlan(
                "s/a",
                Action.UPDATE,
                task_definition_changes=(
                    FieldChange(
                        "containerDefinitions[side]",
                        {"image": "x", "secrets": {"DB_PASSWORD": "arn:aws:ssm:::parameter/p"}},
                        None,
                    ),
                ),
            ),
            ("container side removed", "secret DB_PASSWORD removed from side"),
        ),
        (
            ServicePlan(
                "s/a",
                Action.UPDATE,
                task_definition_changes=(
                    FieldChange(
                        "containerDefinitions[app].secrets[API_TOKEN]",
                        "arn:aws:ssm:::parameter/t",
                        None,
                    ),
                    FieldChange(
                        "containerDefinitions[app].secrets[NEW]", None, "arn:aws:ssm:::parameter/n"
                    ),
                ),
            ),
            ("secret API_TOKEN removed from app",),
        ),
        (
            ServicePlan(
                "s/a",
                Action.UPDATE,
                task_definition_changes=(
                    FieldChange(
                        "containerDefinitions[app].portMappings[80/tcp]", {"hostPort": 80}, None
                    ),
                ),
            ),
            ("port changed",),
        ),
        (
            ServicePlan(
                "s/a",
                Action.UPDATE,
                service_changes=(FieldChange("loadBalancers[tg/web/80].containerPort", 80, 8080),),
            ),
            ("load balancer changed",),
        ),
        (
            ServicePlan(
                "s/a",
                Action.REPLACE,
                service_changes=(FieldChange("launchType", "EC2", "FARGATE", replace=True),),
            ),
            ("replaces the service (launchType)",),
        ),
        (ServicePlan("s/a", Action.CREATE), ()),
        (
            ServicePlan(
                "s/a",
                Action.UPDATE,
                task_definition_changes=(FieldChange("containerDefinitions[app].image", "a", "b"),),
            ),
            (),
        ),
    ],
)
def test_risk_flags(plan: ServicePlan, flags: tuple[str, ...]) -> None:
    assert risk_flags(plan) == flags
