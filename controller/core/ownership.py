"""Which ECS services the controller owns: the ``ecs-gitops.owner`` tag.

Every service the controller creates for its own purposes (a canary ``<name>Canary``, a
blue-green generation ``<name>__<N>``) is tagged ``ecs-gitops.owner`` = ``ENV/SERVICE``, the
key of the folder it belongs to. The controller modifies or deletes such a service only when
the tag names that folder: a service that merely has the name is someone else's.

Purely computational: the callers read the tags (DescribeServices with ``include=["TAGS"]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.core.model import JsonDict

OWNER_TAG = "ecs-gitops.owner"

# The names of the services the strategies create beside ``<serviceName>``.
CANARY_SUFFIX = "Canary"
GENERATION_SEPARATOR = "__"


def canary_name(service_name: str) -> str:
    """``web`` -> ``webCanary``: the canary strategy's one-task copy of the service."""
    return f"{service_name}{CANARY_SUFFIX}"


def generation_base(name: str) -> str | None:
    """``web__3`` -> ``web``: the blue-green service whose generation ``name`` would be."""
    base, separator, number = name.rpartition(GENERATION_SEPARATOR)
    return base if separator and base and number.isdigit() else None


def owner_of(service: Mapping[str, Any]) -> str | None:
    """The folder key a live service's owner tag names, or None when it has none."""
    for tag in service.get("tags") or ():
        if isinstance(tag, Mapping) and tag.get("key") == OWNER_TAG:
            return str(tag.get("value"))
    return None


def owned_by(service: Mapping[str, Any], key: str) -> bool:
    """Whether the live service is tagged as the controller's own for folder ``key``."""
    return owner_of(service) == key


def with_owner(tags: Sequence[JsonDict] | None, key: str) -> list[JsonDict]:
    """A CreateService ``tags`` list with the owner tag for ``key`` (any other owner tag dropped)."""
    kept = [dict(t) for t in tags or () if t.get("key") != OWNER_TAG]
    return [*kept, {"key": OWNER_TAG, "value": key}]


def without_owner(tags: Sequence[Any]) -> list[Any]:
    """``tags`` without the owner tag: it is the controller's, never part of the desired state."""
    return [t for t in tags if not (isinstance(t, Mapping) and t.get("key") == OWNER_TAG)]


def not_owned(name: str, service: Mapping[str, Any], *, key: str) -> str:
    """Why the controller leaves the existing service ``name`` alone, in one line."""
    owner = owner_of(service)
    tag = f"tag {OWNER_TAG} is {owner}" if owner is not None else f"it has no {OWNER_TAG} tag"
    return f"service {name} exists and is not owned by {key} ({tag}): not touched"
