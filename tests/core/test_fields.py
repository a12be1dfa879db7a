"""The table of where ECS reports each field holds against botocore's ECS model.

A member the model gains (in a request, or in what DescribeServices / DescribeTaskDefinition
answer) that controller.core.fields does not classify fails here, before it can become a silent
false drift; so does an entry the model contradicts (a member said to be on the service that the
service does not have) and a default at a path the request has no member for.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.loaders
import pytest

from controller.core.fields import (
    SERVICE_CHOSEN,
    SERVICE_DEFAULTS,
    SERVICE_REQUEST,
    SERVICE_STATE,
    TASK_DEFINITION_CHOSEN,
    TASK_DEFINITION_DEFAULTS,
    TASK_DEFINITION_REQUEST,
    TASK_DEFINITION_STATE,
    Field,
    Reported,
)

Model = dict[str, Any]


@cache
def ecs_model() -> Model:
    """botocore's ECS model (shared: a test changing it works on a copy)."""
    loader = botocore.loaders.create_loader()
    model: Model = loader.load_service_model("ecs", "service-2")
    return model


def members(model: Model, shape: str) -> set[str]:
    return set(model["shapes"][shape]["members"])


def unclassified(model: Model) -> list[str]:
    """Every way ``model`` disagrees with the tables of controller.core.fields."""
    problems: list[str] = []
    service = members(model, "Service")
    deployment = members(model, "Deployment")
    requests = members(model, "CreateServiceRequest") | members(model, "UpdateServiceRequest")
    for name in sorted(requests - set(SERVICE_REQUEST)):
        problems.append(f"service request member {name}: not classified")
    for name, spec in SERVICE_REQUEST.items():
        problems += _disagreements("service", name, spec, requests, service, deployment)
    renamed = {spec.live_name for spec in SERVICE_REQUEST.values() if spec.live_name}
    # request members the service may carry as they are (settings, its name, its revision)
    same = {
        n
        for n, spec in SERVICE_REQUEST.items()
        if spec.reported not in (Reported.RENAMED, Reported.DEPLOYMENT, Reported.NEVER)
    }
    for name in sorted(service - same - renamed - SERVICE_STATE):
        problems.append(f"Service member {name}: neither a request member nor ECS's state")
    for name in sorted(SERVICE_STATE & requests):
        problems.append(f"Service member {name}: classified as state but is a request member")

    register = members(model, "RegisterTaskDefinitionRequest")
    task_definition = members(model, "TaskDefinition")
    beside = members(model, "DescribeTaskDefinitionResponse") - {"taskDefinition"}
    for name in sorted(register - set(TASK_DEFINITION_REQUEST)):
        problems.append(f"task definition request member {name}: not classified")
    for name, spec in TASK_DEFINITION_REQUEST.items():
        if name not in register:
            problems.append(f"task definition member {name}: not in the request any more")
        elif spec.reported is Reported.SAME and name not in task_definition:
            problems.append(f"task definition member {name}: TaskDefinition does not have it")
        elif spec.reported is Reported.BESIDE and name not in beside:
            problems.append(f"task definition member {name}: not returned beside the revision")
        elif spec.reported not in (Reported.SAME, Reported.BESIDE):
            problems.append(f"task definition member {name}: {spec.reported} is for services")
    same = {n for n, spec in TASK_DEFINITION_REQUEST.items() if spec.reported is Reported.SAME}
    for name in sorted(task_definition - same - TASK_DEFINITION_STATE):
        problems.append(f"TaskDefinition member {name}: neither a request member nor ECS's state")
    return problems


def _disagreements(
    kind: str, name: str, spec: Field, requests: set[str], live: set[str], deployment: set[str]
) -> list[str]:
    where = f"{kind} member {name}"
    if name not in requests:
        return [f"{where}: not in the request any more"]
    if spec.reported is Reported.SAME and name not in live:
        return [f"{where}: said to be on the service, which does not have it"]
    if spec.reported is Reported.RENAMED and spec.live_name not in live:
        return [f"{where}: the service has no {spec.live_name}"]
    if spec.reported is Reported.DEPLOYMENT and (name in live or name not in deployment):
        return [f"{where}: not reported on the deployments only"]
    if spec.reported is Reported.NEVER and (name in live or name in deployment):
        return [f"{where}: said never to be reported, but DescribeServices has it"]
    if spec.reported is Reported.BESIDE:
        return [f"{where}: services have nothing beside them"]
    return []


def test_every_service_and_task_definition_member_of_the_model_is_classified() -> None:
    assert unclassified(ecs_model()) == []


def _with_member(model: Model, shape: str, name: str) -> Model:
    changed = copy.deepcopy(model)
    changed["shapes"][shape]["members"][name] = {"shape": "String"}
    return changed


@pytest.mark.parametrize(
    ("shape", "name", "expected"),
    [
        ("CreateServiceRequest", "quantumEntanglement", "service request member"),
        ("UpdateServiceRequest", "quantumEntanglement", "service request member"),
        ("Service", "quantumState", "Service member quantumState"),
        ("RegisterTaskDefinitionRequest", "warpDrive", "task definition request member"),
        ("TaskDefinition", "warpCoreTemperature", "TaskDefinition member warpCoreTemperature"),
    ],
)
def test_a_member_the_model_gains_and_the_table_does_not_classify_is_reported(
    shape: str, name: str, expected: str
) -> None:
    problems = unclassified(_with_member(ecs_model(), shape, name))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_deployment_only_member_moving_onto_the_service_is_reported() -> None:
    model = _with_member(ecs_model(), "Service", "serviceConnectConfiguration")
    problems = unclassified(model)
    assert "service member serviceConnectConfiguration: not reported on the deployments only" in (
        problems
    )


def test_an_unreported_member_appearing_on_the_deployments_is_reported() -> None:
    problems = unclassified(_with_member(ecs_model(), "Deployment", "monitoring"))
    assert any(p.startswith("service member monitoring: said never") for p in problems)


# ---- defaults and chosen members name real places of the request, with values of their type ----


def _shape_at(model: Model, root: str, path: str) -> Mapping[str, Any] | None:
    """The botocore shape at schema path ``path`` below the shape ``root`` (None: no such place)."""
    shape = model["shapes"][root]
    for part in [p for p in path.split(".") if p]:
        if part == "*":
            if shape["type"] != "list":
                return None
            shape = model["shapes"][shape["member"]["shape"]]
        elif shape["type"] == "structure" and part in shape["members"]:
            shape = model["shapes"][shape["members"][part]["shape"]]
        else:
            return None
    return dict(shape)


def _fits(model: Model, shape: Mapping[str, Any], value: Any) -> bool:
    kind = shape["type"]
    if kind == "structure":
        return isinstance(value, dict) and all(
            key in shape["members"]
            and _fits(model, model["shapes"][shape["members"][key]["shape"]], item)
            for key, item in value.items()
        )
    if kind == "string":
        return isinstance(value, str) and value in shape.get("enum", [value])
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("double", "float"):
        return isinstance(value, float)
    return False


DEFAULTS = [
    ("CreateServiceRequest", path, key, value)
    for path, values in SERVICE_DEFAULTS.items()
    for key, value in values.items()
] + [
    ("RegisterTaskDefinitionRequest", path, key, value)
    for path, values in TASK_DEFINITION_DEFAULTS.items()
    for key, value in values.items()
]


@pytest.mark.parametrize(
    ("root", "path", "key", "value"), DEFAULTS, ids=[f"{d[1]}:{d[2]}" for d in DEFAULTS]
)
def test_a_default_names_a_request_member_and_has_its_type(
    root: str, path: str, key: str, value: Any
) -> None:
    model = ecs_model()
    shape = _shape_at(model, root, f"{path}.{key}" if path else key)
    assert shape is not None, f"{root} has no member at {path}.{key}"
    assert _fits(model, shape, value), f"{value!r} is not a {shape['type']} {shape.get('enum')}"


CHOSEN = [("CreateServiceRequest", path) for path in SERVICE_CHOSEN] + [
    ("RegisterTaskDefinitionRequest", path) for path in TASK_DEFINITION_CHOSEN
]


@pytest.mark.parametrize(("root", "path"), CHOSEN, ids=[c[1] for c in CHOSEN])
def test_a_member_left_to_ecs_names_a_request_member(root: str, path: str) -> None:
    assert _shape_at(ecs_model(), root, path) is not None, f"{root} has no member at {path}"
