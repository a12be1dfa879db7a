"""The canary strategy against local-aws: promote, stop a failing image, stop a failed verification."""

from __future__ import annotations

from controller.core.model import Strategy
from controller.core.outcome import Result
from tests.strategies.support import (
    Stage,
    alarm,
    ecs,
    image_of,
    live,
    scalable_targets,
)


def deployed(stage: Stage) -> dict[str, object]:
    first = stage.roll_out(
        stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.26", autoscaling=True)
    )
    assert first.outcome.result == Result.SYNCED, first.outcome
    service = live("shop")
    assert service is not None
    return service


def canary_gone() -> bool:
    services = ecs().describe_services(cluster="staging", services=["shopCanary"])["services"]
    return all(s["status"] in ("DRAINING", "INACTIVE") for s in services)


def test_a_good_version_goes_through_the_canary_then_rolls_out(stage: Stage) -> None:
    before = deployed(stage)
    seen_canary: list[dict[str, object]] = []

    def watch(line: str) -> None:
        # the canary as it was while it ran: one task on the new revision, no autoscaling
        if line.startswith("deleting canary"):
            canary = live("shopCanary")
            assert canary is not None
            seen_canary.append(canary)
            assert scalable_targets("shopCanary") == []

    desired = stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.27", autoscaling=True)
    rolled = stage.roll_out(desired, on_report=watch)

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert rolled.outcome.message.startswith("canary passed; deployed ")
    assert rolled.phases[:3] == ["canary-prepare", "canary-create", "canary-wait"]
    assert rolled.phases[3:5] == ["rolling/prepare", "rolling/apply"]
    assert rolled.phases[-1].startswith("rolling/")
    (canary,) = seen_canary
    assert canary["desiredCount"] == 1 and canary["runningCount"] == 1
    assert canary["networkConfiguration"] == before["networkConfiguration"]
    assert image_of(str(canary["taskDefinition"])) == "nginx:1.27"
    service = live("shop")
    assert service is not None
    assert service["taskDefinition"] == canary["taskDefinition"]
    assert service["desiredCount"] == 2
    assert canary_gone()
    assert [t["ResourceId"] for t in scalable_targets("shop")] == ["service/staging/shop"]
    assert scalable_targets("shopCanary") == []


def test_a_failing_image_stops_at_the_canary_and_never_touches_the_service(stage: Stage) -> None:
    before = deployed(stage)
    desired = stage.service(
        "shop", strategy=Strategy.CANARY, image="nginx:broken", autoscaling=True
    )

    rolled = stage.roll_out(desired)

    outcome = rolled.outcome
    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("canary shopCanary:")
    assert outcome.restored_task_definition_arn == before["taskDefinition"]
    assert rolled.phases[-2:] == ["canary-wait", "canary-abort"]
    assert not any(p.startswith("rolling") for p in rolled.phases)
    after = live("shop")
    assert after is not None
    assert after["taskDefinition"] == before["taskDefinition"]
    assert [d["id"] for d in after["deployments"]] == [d["id"] for d in before["deployments"]]  # type: ignore[attr-defined]
    assert canary_gone()
    assert [t["ResourceId"] for t in scalable_targets("shop")] == ["service/staging/shop"]


def test_a_failed_canary_verification_deletes_the_canary_and_names_the_alarm(
    stage: Stage,
) -> None:
    before = deployed(stage)
    alarm("shop-latency", "ALARM")
    desired = stage.service(
        "shop",
        strategy=Strategy.CANARY,
        image="nginx:1.27",
        raw={"verify": {"alarms": ["shop-latency"], "duration": "30s"}},
    )

    rolled = stage.roll_out(desired)

    outcome = rolled.outcome
    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith(
        "canary verification failed: alarm shop-latency is in ALARM"
    )
    after = live("shop")
    assert after is not None and after["taskDefinition"] == before["taskDefinition"]
    assert canary_gone()


def test_a_first_deploy_that_fails_its_canary_creates_no_service(stage: Stage) -> None:
    desired = stage.service("shop", strategy=Strategy.CANARY, image="nginx:broken")

    outcome = stage.roll_out(desired).outcome

    assert outcome.result == Result.FAILED
    assert outcome.failure_reason is not None
    assert live("shop") is None
    assert canary_gone()


def test_a_service_only_change_skips_the_canary(stage: Stage) -> None:
    deployed(stage)
    desired = stage.service(
        "shop", strategy=Strategy.CANARY, image="nginx:1.26", desired_count=3, autoscaling=True
    )

    rolled = stage.roll_out(desired)

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert not any(p.startswith("canary-") and p != "canary-prepare" for p in rolled.phases)
    assert (
        ecs().describe_services(cluster="staging", services=["shopCanary"])["services"] == []
        or canary_gone()
    )
