"""The owner tag: read from live services, added to the controller's requests, never a diff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from controller.core.diff import diff_service
from controller.core.ownership import (
    OWNER_TAG,
    canary_name,
    generation_base,
    not_owned,
    owned_by,
    owner_of,
    with_owner,
)

DATA = Path(__file__).parent.parent / "data" / "aws"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_the_owner_tag_names_the_folder_key() -> None:
    service = {"tags": [{"key": "team", "value": "a"}, {"key": OWNER_TAG, "value": "env1/web"}]}
    assert owner_of(service) == "env1/web"
    assert owned_by(service, "env1/web")
    assert not owned_by(service, "env2/web")
    # DescribeServices without include=["TAGS"] says nothing about tags: not owned
    assert owner_of({"serviceName": "web"}) is None
    assert not owned_by({"serviceName": "web"}, "env1/web")


def test_the_controllers_requests_carry_the_owner_tag_beside_the_users() -> None:
    tags = [{"key": "team", "value": "a"}, {"key": OWNER_TAG, "value": "someone/else"}]
    assert with_owner(tags, "env1/web") == [
        {"key": "team", "value": "a"},
        {"key": OWNER_TAG, "value": "env1/web"},
    ]
    assert with_owner(None, "env1/web") == [{"key": OWNER_TAG, "value": "env1/web"}]


def test_why_a_service_is_not_touched() -> None:
    assert not_owned("webCanary", {"tags": []}, key="env1/web") == (
        "service webCanary exists and is not owned by env1/web "
        "(it has no ecs-gitops.owner tag): not touched"
    )
    tagged = {"tags": [{"key": OWNER_TAG, "value": "env1/webCanary"}]}
    assert not_owned("webCanary", tagged, key="env1/web") == (
        "service webCanary exists and is not owned by env1/web "
        "(tag ecs-gitops.owner is env1/webCanary): not touched"
    )


def test_helper_service_names() -> None:
    assert canary_name("web") == "webCanary"
    assert generation_base("web__12") == "web"
    assert generation_base("a__b__3") == "a__b"
    for name in ("web", "web__", "__3", "web__x", "web_3"):
        assert generation_base(name) is None


def test_the_owner_tag_is_invisible_to_the_diff() -> None:
    desired = load("create_service_web.json")  # tags team and app
    live = load("describe_services_web.json")["services"][0]
    live["tags"] = [*live["tags"], {"key": OWNER_TAG, "value": "staging/web"}]
    assert diff_service(desired, live) == ()
    # a tag of the user's still is a difference
    live["tags"].append({"key": "cost-center", "value": "42"})
    assert [c.path for c in diff_service(desired, live)] == ["tags[cost-center]"]
