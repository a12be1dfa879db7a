"""The canary touches only a ``<name>Canary`` service it created: one tagged as the folder's own."""

from __future__ import annotations

from typing import Any

import pytest

from controller.core.model import Strategy
from controller.core.outcome import Result
from controller.core.ownership import OWNER_TAG
from tests.localaws.support import made_by_hand
from tests.strategies.support import Stage, ecs, image_of, live


def tags_of(name: str) -> dict[str, str]:
    services = ecs().describe_services(cluster="staging", services=[name], include=["TAGS"])
    (service,) = [s for s in services["services"] if s["status"] == "ACTIVE"]
    return {t["key"]: t["value"] for t in service.get("tags") or ()}


def foreign_service(stage: Stage, name: str, *, tags: list[dict[str, str]]) -> dict[str, Any]:
    """A service someone made by hand, on its own task definition."""
    return made_by_hand(
        ecs(),
        cluster="staging",
        name=name,
        subnet=stage.subnet,
        group=stage.group,
        desired=2,
        tags=tags,
    )


def test_the_canary_is_created_with_the_folders_owner_tag(stage: Stage) -> None:
    seen: list[dict[str, str]] = []

    def watch(line: str) -> None:
        if line.startswith("deleting canary"):
            seen.append(tags_of("shopCanary"))

    first = stage.roll_out(stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    desired = stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.27")
    rolled = stage.roll_out(desired, on_report=watch)

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert seen == [{OWNER_TAG: "staging/shop"}]


@pytest.mark.parametrize(
    "tags",
    [[], [{"key": OWNER_TAG, "value": "staging/shopCanary"}], [{"key": "team", "value": "x"}]],
    ids=["untagged", "another-folder", "other-tags"],
)
def test_a_foreign_service_with_the_canary_name_fails_the_rollout_and_is_not_touched(
    stage: Stage, tags: list[dict[str, str]]
) -> None:
    first = stage.roll_out(stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    main_before = live("shop")
    foreign = foreign_service(stage, "shopCanary", tags=tags)

    desired = stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.27")
    rolled = stage.roll_out(desired)

    outcome = rolled.outcome
    assert outcome.result == Result.FAILED, outcome
    owner = tags[0]["value"] if tags and tags[0]["key"] == OWNER_TAG else None
    why = f"tag {OWNER_TAG} is {owner}" if owner else f"it has no {OWNER_TAG} tag"
    reason = f"service shopCanary exists and is not owned by staging/shop ({why}): not touched"
    assert outcome.failure_reason == reason
    assert reason in outcome.message
    assert not any(p.startswith("rolling") for p in rolled.phases)
    assert "canary-abort" not in rolled.phases  # the abort path would delete it
    # the foreign service is as it was: same revision, same count, still there
    after = live("shopCanary")
    assert after is not None
    assert after["taskDefinition"] == foreign["taskDefinition"]
    assert after["desiredCount"] == 2
    assert image_of(str(after["taskDefinition"])) == "httpd:2.4"
    assert tags_of("shopCanary") == {t["key"]: t["value"] for t in tags}
    # and the main service was never touched either
    main_after = live("shop")
    assert main_before is not None and main_after is not None
    assert main_after["taskDefinition"] == main_before["taskDefinition"]
    assert outcome.task_definition_arn == main_before["taskDefinition"]


def test_a_leftover_canary_of_this_folder_is_reused(stage: Stage) -> None:
    first = stage.roll_out(stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.26"))
    assert first.outcome.result == Result.SYNCED, first.outcome
    # a canary a stopped controller left behind: tagged as this folder's
    foreign_service(stage, "shopCanary", tags=[{"key": OWNER_TAG, "value": "staging/shop"}])

    desired = stage.service("shop", strategy=Strategy.CANARY, image="nginx:1.27")
    rolled = stage.roll_out(desired)

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert any(line.startswith("updating canary shopCanary") for line in rolled.lines)
    assert live("shopCanary") is None  # deleted once it passed
