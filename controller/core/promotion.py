"""What ``ecs-gitops promote`` decides: is the source's image running healthily, which image, and
the one-line edit of the target's deploy.yaml.

The image a service runs is the image of the container its deploy.yaml ``image`` stands for, in
the task definition revision of the service's primary deployment; by digest, it is
``repository@sha256:...`` from the ``imageDigest`` the running tasks report for that container.
The edit replaces the value on deploy.yaml's top-level ``image:`` line and nothing else, so
comments, order and spacing stay byte for byte.

Purely computational.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from controller.core.model import DesiredService, JsonDict
from controller.core.ownership import generation_base
from controller.core.strategy_traits import Runs
from controller.errors import EcsGitopsError
from controller.strategies.descriptions import describe


class NotPromotable(EcsGitopsError):
    """The image cannot be promoted; the message says why, in one line."""


def image_container(desired: DesiredService) -> str:
    """The name of the container whose image deploy.yaml's ``image`` gives (the first, if several)."""
    containers = desired.task_definition.get("containerDefinitions") or []
    image = desired.deploy.image
    for container in containers:
        if image is not None and container.get("image") == image:
            return str(container.get("name"))
    if image is None:
        raise NotPromotable(f"{desired.key}: its deploy.yaml has no image to promote")
    raise NotPromotable(
        f"{desired.key}: no container of its task definition uses deploy.yaml's image"
    )


def nothing_live(desired: DesiredService) -> str | None:
    """Why ``desired``'s strategy leaves no service whose image could be promoted, or None."""
    traits = describe(desired.deploy.strategy)
    if traits.runs is Runs.ONCE:
        return (
            f"{desired.key}: strategy {traits.strategy} runs it as a job, not as a service: "
            "nothing runs its image live to promote"
        )
    return None


def recorded_generation(details: Mapping[str, Any] | None, *, base: str) -> str | None:
    """The generation of ``base`` a status file's ``details.serviceName`` names, or None."""
    name = (details or {}).get("serviceName")
    if isinstance(name, str) and generation_base(name) == base:
        return name
    return None


def health_refusal(service: Mapping[str, Any], *, key: str) -> str | None:
    """Why ``service`` (a DescribeServices item) is not running its image healthily, or None.

    Healthy is: the PRIMARY deployment's rolloutState COMPLETED, no other deployment, and at
    least one task running with no fewer running than desired.
    """
    deployments = list(service.get("deployments") or ())
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return f"{key}: the service has no primary deployment"
    state = primary.get("rolloutState") or "unknown"
    if state != "COMPLETED":
        reason = primary.get("rolloutStateReason")
        why = f" ({reason})" if reason else ""
        return f"{key}: its primary deployment is {state}, not COMPLETED{why}"
    if len(deployments) > 1:
        return f"{key}: another deployment of the service is still under way"
    running, desired = int(service.get("runningCount") or 0), int(service.get("desiredCount") or 0)
    if desired == 0:
        return f"{key}: the service runs no tasks (desired count 0)"
    if running < desired:
        return f"{key}: {running} of {desired} tasks are running"
    return None


def primary_task_definition(service: Mapping[str, Any]) -> str:
    """The task definition ARN of the service's PRIMARY deployment (or the service's own)."""
    for deployment in service.get("deployments") or ():
        if deployment.get("status") == "PRIMARY" and deployment.get("taskDefinition"):
            return str(deployment["taskDefinition"])
    return str(service.get("taskDefinition") or "")


def live_image(task_definition: Mapping[str, Any], *, container: str, key: str) -> str:
    """The image of ``container`` in a described task definition revision."""
    for item in task_definition.get("containerDefinitions") or ():
        if item.get("name") == container and item.get("image"):
            return str(item["image"])
    arn = task_definition.get("taskDefinitionArn", "its task definition")
    raise NotPromotable(f"{key}: {arn} has no container {container}")


def running_digest(
    tasks: Sequence[Mapping[str, Any]], *, container: str, task_definition: str, key: str
) -> str:
    """The one ``sha256:...`` digest the running tasks of ``task_definition`` report for ``container``."""
    digests: list[str] = []
    for task in tasks:
        if task.get("taskDefinitionArn") != task_definition:
            continue
        for item in task.get("containers") or ():
            if item.get("name") == container:
                digests.append(str(item.get("imageDigest") or ""))
    if not digests:
        raise NotPromotable(f"{key}: no running task of {task_definition} to read the digest from")
    if "" in digests:
        raise NotPromotable(
            f"{key}: a running task reports no image digest for container {container} yet"
        )
    distinct = sorted(set(digests))
    if len(distinct) > 1:
        raise NotPromotable(
            f"{key}: the running tasks disagree on the digest of container {container} "
            f"({', '.join(distinct)})"
        )
    return distinct[0]


def repository(image: str) -> str:
    """``registry:5000/team/web:1.2@sha256:...`` -> ``registry:5000/team/web``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def by_digest(image: str, digest: str) -> str:
    """The image pinned by digest: ``repository@sha256:...``."""
    return f"{repository(image)}@{digest}"


# deploy.yaml's top-level ``image:`` line: key, value (quoted or plain), and what follows it
_IMAGE_LINE = re.compile(
    r"^(?P<key>image:[ \t]*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|[^ \t#\r\n][^\r\n]*?)?"
    r"(?P<rest>[ \t]+#[^\r\n]*|[ \t]*)(?=\r?$)",
    re.MULTILINE,
)


def with_image(text: str, image: str, *, file: str) -> str:
    """``text`` (a deploy.yaml) with its ``image:`` line giving ``image``; nothing else changes.

    The value keeps its quoting style where it had one; a plain value that YAML would read
    otherwise is written in double quotes. A file without a top-level ``image:`` line (a flow
    mapping, say) is refused: rewriting it would change more than that line.
    """
    matches = list(_IMAGE_LINE.finditer(text))
    if len(matches) != 1:
        raise NotPromotable(f"{file}: no single top-level 'image:' line to edit")
    match = matches[0]
    old = match.group("value") or ""
    if old.startswith("'"):
        value = "'" + image.replace("'", "''") + "'"
    elif old.startswith('"') or not _plain(image):
        value = json.dumps(image)
    else:
        value = image
    edited = text[: match.start("value") if old else match.end("key")] + value
    edited += text[match.end("value") if old else match.end("key") :]
    before, after = _load(text, file), _load(edited, file)
    if after.get("image") != image or {**after, "image": None} != {**before, "image": None}:
        raise NotPromotable(f"{file}: the 'image:' line could not be edited on its own")
    return edited


def _plain(value: str) -> bool:
    """Whether YAML reads ``image: <value>`` back as that very string."""
    try:
        loaded = yaml.safe_load(f"image: {value}\n")
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get("image") == value


def _load(text: str, file: str) -> JsonDict:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise NotPromotable(f"{file}: not valid YAML ({e.__class__.__name__})") from e
    if not isinstance(loaded, dict):
        raise NotPromotable(f"{file}: not a mapping")
    return loaded


def unified_diff(before: str, after: str, *, file: str) -> str:
    """The change as ``git diff`` shows it."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{file}",
            tofile=f"b/{file}",
        )
    )
