"""Turn a live ECS service into the manifests of a service folder: what ``ecs-gitops import`` writes.

The reverse of rendering: DescribeServices, DescribeTaskDefinition, DescribeScalableTargets and
DescribeScalingPolicies answers become task-definition.yaml, service.yaml, scalable-target.yaml,
scaling-policy.yaml and deploy.yaml. What ECS adds (read-only members) and what it fills in when
a request leaves a member out (its defaults) come from the tables of ``controller.core.fields``
and ``controller.core.normalize``, so an imported folder says only what someone chose. Keys come
in the order of the API's request shapes (botocore's models), map entries sorted, so an import
of the same service always writes the same bytes.

Every manifest is checked before it is returned: compared with the live document by the very
diff ``plan`` uses, it must show no change. A service that cannot be written faithfully raises
``NotImportable`` saying what and why, so the caller can go on with the others.

Purely computational.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.loaders
import yaml

from controller.core import schemas
from controller.core.diff import diff_autoscaling, diff_service, diff_task_definition
from controller.core.fields import (
    DAEMON_DEPLOYMENT_DEFAULTS,
    SERVICE_DEFAULTS,
    SERVICE_REQUEST,
    TASK_DEFINITION_DEFAULTS,
    TASK_DEFINITION_REQUEST,
    Reported,
)
from controller.core.model import JsonDict, Strategy
from controller.core.normalize import (
    DIGEST_TAG,
    SCALABLE_TARGET_RULES,
    SCALING_POLICY_RULES,
    child_schema,
)
from controller.core.ownership import OWNER_TAG, generation_base, owner_of
from controller.core.strategy_traits import Runs
from controller.errors import EcsGitopsError
from controller.strategies.descriptions import DESCRIPTIONS

# The placeholder the imported image becomes in task-definition.yaml (deploy.yaml ``image``).
IMAGE_PLACEHOLDER = "${image}"

# deploymentConfiguration.strategy values ECS runs itself: deploy.yaml ``strategy: ecs``.
NATIVE_STRATEGIES = frozenset({"BLUE_GREEN", "LINEAR", "CANARY"})

# Application Auto Scaling and IAM fill a service-linked role in when a request names none:
# ``.../aws-service-role/ecs.application-autoscaling.amazonaws.com/...`` (scalable target),
# ``.../aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`` (a service's roleArn).
SERVICE_LINKED_ROLE = "/aws-service-role/"

# What the manifests' expressions would read in a live value (see controller.core.expressions).
_HARNESS_EXPRESSION = "<+"

# Service request members that DescribeServices answers, and so can be imported.
_IMPORTED_SERVICE_MEMBERS = frozenset(
    name
    for name, spec in SERVICE_REQUEST.items()
    if spec.reported in (Reported.SAME, Reported.RENAMED, Reported.DEPLOYMENT)
)
_DEPLOYMENT_MEMBERS = tuple(
    name for name, spec in SERVICE_REQUEST.items() if spec.reported is Reported.DEPLOYMENT
)
# Application Auto Scaling's read-only members, and those the controller fills (the authority
# rule): never written in a manifest
_TARGET_DROPPED = SCALABLE_TARGET_RULES.drop.get("", frozenset())
_POLICY_DROPPED = SCALING_POLICY_RULES.drop.get("", frozenset())


class NotImportable(EcsGitopsError):
    """A live service the manifests cannot express faithfully; the message says what and why."""


@dataclass(frozen=True)
class LiveSources:
    """What AWS describes of one service, as the describe calls answer.

    ``service`` is a DescribeServices item (with ``include=["TAGS"]``), ``task_definition`` the
    revision it runs (DescribeTaskDefinition's ``taskDefinition``, None when AWS does not know
    it) with ``task_definition_tags`` beside it, and the Application Auto Scaling items of the
    service's ResourceId.
    """

    service: JsonDict
    task_definition: JsonDict | None
    task_definition_tags: tuple[JsonDict, ...] = ()
    scalable_target: JsonDict | None = None
    scaling_policies: tuple[JsonDict, ...] = ()


@dataclass(frozen=True)
class ImportedService:
    """One service folder: manifest kind -> document (``scaling-policy`` may be a list)."""

    folder: str
    files: Mapping[str, Any]
    # the containers whose image stayed written in task-definition.yaml (not the imported one)
    literal_images: tuple[str, ...] = field(default=())

    @property
    def image(self) -> str:
        return str(self.files["deploy"]["image"])

    @property
    def strategy(self) -> str:
        return str(self.files["deploy"]["strategy"])


def import_service(live: LiveSources, *, folder: str) -> ImportedService:
    """The folder ``folder`` (named after the service) that renders to exactly what ``live`` runs.

    Raises ``NotImportable`` when the service cannot be written faithfully.
    """
    service = live.service
    name = str(service.get("serviceName") or folder)
    arn = str(service.get("taskDefinition") or "")
    if live.task_definition is None:
        raise NotImportable(f"service {name}: its task definition {arn or '(none)'} was not found")
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        raise NotImportable(
            f"service {name}: deploymentController {controller} deploys it outside ECS's own "
            "deployments, which ecs-gitops does not drive"
        )
    raw_task_definition = task_definition_manifest(live.task_definition, live.task_definition_tags)
    raw_service = service_manifest(service, folder=folder)
    target = (
        None if live.scalable_target is None else scalable_target_manifest(live.scalable_target)
    )
    policies = [scaling_policy_manifest(p) for p in live.scaling_policies]
    if policies and target is None:
        raise NotImportable(
            f"service {name}: it has scaling policies but no scalable target, which the "
            "manifests cannot express (a policy needs the target)"
        )
    _check_faithful(
        name,
        live,
        task_definition=raw_task_definition,
        service=raw_service,
        target=target,
        policies=policies,
    )
    task_definition, image, literal = _template_image(name, raw_task_definition)
    files: dict[str, Any] = {
        "deploy": {"strategy": str(strategy_for(service)), "image": image},
        "task-definition": _escaped(name, task_definition),
        "service": _escaped(name, raw_service),
    }
    if target is not None:
        files["scalable-target"] = _escaped(name, target)
    if policies:
        files["scaling-policy"] = _escaped(name, policies[0] if len(policies) == 1 else policies)
    return ImportedService(folder=folder, files=files, literal_images=tuple(literal))


def strategy_for(service: Mapping[str, Any]) -> Strategy:
    """``ecs`` when ECS runs the service's deployments itself (BLUE_GREEN, LINEAR, CANARY)."""
    strategy = (service.get("deploymentConfiguration") or {}).get("strategy")
    return Strategy.ECS if strategy in NATIVE_STRATEGIES else Strategy.ROLLING


def owner_conflict(service: Mapping[str, Any], *, key: str) -> str | None:
    """Why a service tagged as another folder's is not imported as ``key``, or None."""
    owner = owner_of(service)
    if owner is None or owner == key:
        return None
    return (
        f"service {service.get('serviceName')} is owned by {owner} (tag {OWNER_TAG}): "
        f"not imported as {key}"
    )


def not_a_folder(
    name: str,
    *,
    env: str,
    importing: Collection[str],
    service: Mapping[str, Any] | None = None,
) -> str | None:
    """Why ``import --all`` leaves service ``name`` of ENV out, in one line, or None.

    A service the controller created beside another one (a strategy's helper: ``webCanary``
    beside ``web``, a ``web__3`` generation) is that folder's, not a folder of its own: it is
    known by its owner tag naming another folder (``service``, with its tags) or, untagged, by
    being a helper of a service in ``importing``.
    """
    key = f"{env}/{name}"
    owner = owner_of(service) if service is not None else None
    if owner == key:
        return None  # imported, or created, as a folder of its own before
    if owner is not None:
        return (
            f"service {name} is tagged {OWNER_TAG}={owner}: the controller made it for that "
            "folder, not a folder of its own"
        )
    for traits in DESCRIPTIONS.values():
        base = generation_base(name) if traits.runs is Runs.AS_GENERATIONS else None
        if base is not None and base in importing:
            return (
                f"service {name} is a generation of {env}/{base} (strategy {traits.strategy}), "
                "not a folder of its own"
            )
        for other in importing:
            if other != name and name in traits.helpers(other):
                return (
                    f"service {name} is what strategy {traits.strategy} creates beside "
                    f"{env}/{other}, not a folder of its own"
                )
    return None


# ---- one manifest per kind --------------------------------------------------------------------


def task_definition_manifest(
    task_definition: Mapping[str, Any], tags: Sequence[Mapping[str, Any]] = ()
) -> JsonDict:
    """A RegisterTaskDefinition request for a described revision (the image still literal)."""
    doc: JsonDict = {
        key: value for key, value in task_definition.items() if key in TASK_DEFINITION_REQUEST
    }
    kept = [dict(t) for t in tags if t.get("key") != DIGEST_TAG]
    doc.pop("tags", None)
    if kept:
        doc["tags"] = kept
    network_mode = str(doc.get("networkMode") or "bridge")
    containers = doc.get("containerDefinitions")
    if isinstance(containers, list):
        doc["containerDefinitions"] = [
            _without_default_host_ports(c, network_mode) if isinstance(c, dict) else c
            for c in containers
        ]
    return _shaped("task-definition", _without_defaults(doc, TASK_DEFINITION_DEFAULTS, at=""))


def _without_default_host_ports(container: JsonDict, network_mode: str) -> JsonDict:
    """Port mappings without the host port ECS filled in.

    "When networkMode=awsvpc, the host ports and container ports in port mappings must match"
    (host networking too), and under bridge an absent hostPort is a dynamic port, answered 0.
    """
    mappings = container.get("portMappings")
    if not isinstance(mappings, list):
        return container
    kept = []
    for mapping in mappings:
        if isinstance(mapping, dict) and "hostPort" in mapping:
            host = mapping["hostPort"]
            dynamic = network_mode == "bridge" and host == 0
            same = network_mode in ("awsvpc", "host") and host == mapping.get("containerPort")
            if dynamic or same:
                mapping = {k: v for k, v in mapping.items() if k != "hostPort"}
        kept.append(mapping)
    return {**container, "portMappings": kept}


def service_manifest(service: Mapping[str, Any], *, folder: str) -> JsonDict:
    """A CreateService request for a described service (cluster and taskDefinition left out).

    ``serviceName`` is written only when it is not ``folder``; the owner tag is the
    controller's and never written; a service-linked ``roleArn`` is what ECS uses when none is
    named, and is left out.
    """
    doc: JsonDict = {}
    renamed = {
        str(spec.live_name): name
        for name, spec in SERVICE_REQUEST.items()
        if spec.reported is Reported.RENAMED
    }
    for key, value in service.items():
        key = renamed.get(key, key)
        if key in _IMPORTED_SERVICE_MEMBERS:
            doc[key] = value
    # members reported only on the deployments: the PRIMARY one carries the desired state
    for deployment in service.get("deployments") or ():
        if deployment.get("status") == "PRIMARY":
            for key in _DEPLOYMENT_MEMBERS:
                if deployment.get(key) is not None:
                    doc.setdefault(key, deployment[key])
    if isinstance(doc.get("tags"), list):
        doc["tags"] = [t for t in doc["tags"] if t.get("key") != OWNER_TAG]
    role = doc.get("role")
    if isinstance(role, str) and SERVICE_LINKED_ROLE in role:
        del doc["role"]
    if doc.get("launchType") == "":
        del doc["launchType"]  # a capacity provider strategy runs it
    defaults: dict[str, Mapping[str, Any]] = dict(SERVICE_DEFAULTS)
    if doc.get("schedulingStrategy") == "DAEMON":
        # one task per instance: ECS keeps no desiredCount of its own for a daemon
        doc.pop("desiredCount", None)
        defaults["deploymentConfiguration"] = {
            **SERVICE_DEFAULTS["deploymentConfiguration"],
            **DAEMON_DEPLOYMENT_DEFAULTS,
        }
    if service.get("serviceName") and service.get("serviceName") != folder:
        doc["serviceName"] = service["serviceName"]
    return _shaped("service", _without_defaults(doc, defaults, at=""))


def scalable_target_manifest(target: Mapping[str, Any]) -> JsonDict:
    """A RegisterScalableTarget manifest (camelCase) for a DescribeScalableTargets item."""
    doc = {k: v for k, v in target.items() if k not in _TARGET_DROPPED}
    role = doc.get("RoleARN")
    if isinstance(role, str) and SERVICE_LINKED_ROLE in role:
        del doc["RoleARN"]
    suspended = {k: v for k, v in (doc.get("SuspendedState") or {}).items() if v is not False}
    doc["SuspendedState"] = suspended
    return _shaped("scalable-target", _without_defaults(doc, {}, at=""))


def scaling_policy_manifest(policy: Mapping[str, Any]) -> JsonDict:
    """A PutScalingPolicy manifest (camelCase) for a DescribeScalingPolicies item."""
    doc: JsonDict = {k: v for k, v in policy.items() if k not in _POLICY_DROPPED}
    if doc.get("PolicyType") == "StepScaling":
        del doc["PolicyType"]  # PutScalingPolicy: "The default is StepScaling"
    tracking = doc.get("TargetTrackingScalingPolicyConfiguration")
    if isinstance(tracking, dict) and tracking.get("DisableScaleIn") is False:
        doc["TargetTrackingScalingPolicyConfiguration"] = {
            k: v for k, v in tracking.items() if k != "DisableScaleIn"
        }  # "The default value is false"
    return _shaped("scaling-policy", _without_defaults(doc, {}, at=""))


# ---- defaults, order, expressions --------------------------------------------------------------


def _without_defaults(value: Any, defaults: Mapping[str, Mapping[str, Any]], *, at: str) -> Any:
    """``value`` (at schema path ``at``) without the members equal to ECS's default for them.

    The reverse of ``normalize.with_defaults``. Empty lists and maps go too: ECS answers them
    for what was never set, and the diff takes them as absent.
    """
    if isinstance(value, list):
        return [_without_defaults(item, defaults, at=f"{at}.*") for item in value]
    if not isinstance(value, dict):
        return value
    here = defaults.get(at, {})
    out: JsonDict = {}
    for key, item in value.items():
        child = child_schema(at, key)
        item = _without_defaults(item, defaults, at=child)
        if item is None or (isinstance(item, list | dict) and not item):
            continue
        if key in here and item == _without_defaults(here[key], defaults, at=child):
            continue
        out[key] = item
    return out


@cache
def _shapes(service: str) -> Mapping[str, Any]:
    model: Mapping[str, Any] = botocore.loaders.Loader().load_service_model(service, "service-2")
    return model["shapes"]  # type: ignore[no-any-return]


def _shaped(kind: str, value: JsonDict) -> JsonDict:
    """``value`` as a manifest of ``kind``: camelCase keys in the request shape's member order.

    A member the request shape does not have cannot be written in a manifest: NotImportable.
    """
    api = schemas.REQUESTS[kind]
    unknown: list[str] = []
    result = _order(_shapes(api.service), api.shape, value, path=kind, unknown=unknown)
    if unknown:
        raise NotImportable(
            f"{kind}: {', '.join(unknown)} is not a member of {api.shape.removesuffix('Request')}"
        )
    return dict(result)


def _order(
    shapes: Mapping[str, Any], name: str, value: Any, *, path: str, unknown: list[str]
) -> Any:
    shape = shapes[name]
    kind = shape["type"]
    if shape.get("document"):
        return value  # free-form JSON: as ECS holds it
    if kind == "structure" and isinstance(value, dict):
        members = shape.get("members", {})
        by_key = {schemas.camel(m): m for m in members} | {m: m for m in members}
        for key in value:
            if key not in by_key:
                unknown.append(f"{path}.{key}")
        out: JsonDict = {}
        for member, spec in members.items():
            for key in (member, schemas.camel(member)):
                if key in value:
                    out[schemas.camel(member)] = _order(
                        shapes, spec["shape"], value[key], path=f"{path}.{key}", unknown=unknown
                    )
                    break
        return out
    if kind == "list" and isinstance(value, list):
        member = shape["member"]["shape"]
        return [_order(shapes, member, item, path=f"{path}[]", unknown=unknown) for item in value]
    if kind == "map" and isinstance(value, dict):
        member = shape["value"]["shape"]
        return {
            k: _order(shapes, member, value[k], path=f"{path}.{k}", unknown=unknown)
            for k in sorted(value)
        }
    return value


def _template_image(name: str, task_definition: JsonDict) -> tuple[JsonDict, str, list[str]]:
    """Move the image of the first essential container to deploy.yaml: ``${image}`` in its place.

    Returns the task definition, the image, and the names of the other containers, whose images
    stay written where they are (a sidecar's image is rarely the one promoted).
    """
    containers = [c for c in task_definition.get("containerDefinitions") or () if c.get("image")]
    if not containers:
        raise NotImportable(f"service {name}: its task definition has no container with an image")
    chosen = next((c for c in containers if c.get("essential", True)), containers[0])
    image = str(chosen["image"])
    templated = [
        {**c, "image": IMAGE_PLACEHOLDER} if c is chosen else c
        for c in task_definition["containerDefinitions"]
    ]
    literal = [str(c.get("name")) for c in containers if c is not chosen]
    return {**task_definition, "containerDefinitions": templated}, image, literal


def _escaped(name: str, value: Any) -> Any:
    """``value`` with each literal ``${`` written ``$${``, so rendering gives it back unchanged.

    A value holding ``<+`` cannot be written at all: rendering takes it for a Harness expression.
    """
    if isinstance(value, dict):
        return {k: _escaped(name, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(name, v) for v in value]
    if isinstance(value, str) and value != IMAGE_PLACEHOLDER:
        if _HARNESS_EXPRESSION in value:
            raise NotImportable(
                f"service {name}: the value {value!r} holds '<+', which a manifest reads as a "
                "Harness expression and cannot write literally"
            )
        return value.replace("${", "$${")
    return value


def _check_faithful(
    name: str,
    live: LiveSources,
    *,
    task_definition: JsonDict,
    service: JsonDict,
    target: JsonDict | None,
    policies: Sequence[JsonDict],
) -> None:
    """The manifests, as the controller would send them, show no change against ``live``."""
    live_task_definition = {**(live.task_definition or {}), "tags": list(live.task_definition_tags)}
    changes = list(diff_task_definition(task_definition, live_task_definition))
    changes += diff_service(service, live.service, autoscaled=target is not None)
    changes += diff_autoscaling(
        None if target is None else schemas.to_api("scalable-target", target),
        [schemas.to_api("scaling-policy", p) for p in policies],
        live.scalable_target,
        live.scaling_policies,
    )
    if changes:
        shown = "; ".join(str(c) for c in changes[:3])
        raise NotImportable(f"service {name}: the manifests would not match live ECS ({shown})")


# ---- files ---------------------------------------------------------------------------------------

# the order files are written and listed in
FILE_ORDER = ("deploy", "task-definition", "service", "scalable-target", "scaling-policy")


def file_texts(imported: ImportedService) -> dict[str, str]:
    """File name -> YAML text of each manifest of the folder, in ``FILE_ORDER``."""
    return {
        f"{kind}.yaml": to_yaml(imported.files[kind])
        for kind in FILE_ORDER
        if kind in imported.files
    }


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key (as the examples are written)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def to_yaml(value: Any) -> str:
    """YAML text of a manifest, keys in the order given."""
    text: str = yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return text


def imported_kinds() -> Iterable[str]:
    """Every manifest kind a service folder may hold (``--force`` replaces them all)."""
    return (*FILE_ORDER, "run-task")
