"""JSON Schemas for every file of the config repository, and their errors as readable messages.

AWS request manifests are checked against schemas generated from botocore's own service models
(the shapes boto3 itself validates against), so enums, types and required members always match
the installed botocore. environment.yaml and deploy.yaml use the hand-written schemas shipped in
``controller/schemas``. Manifests are written with camelCase keys; Application Auto Scaling's
members are PascalCase in the API, so ``to_api`` renames them before a request is sent.
botocore's document type (free-form JSON such as a lifecycle hook's ``hookDetails``) takes any
value. A task definition or service pasted from ECS's answer (DescribeTaskDefinition,
DescribeServices, CreateService) is recognised as such and its read-only fields named in one
message, instead of an "unknown key" each.

Purely computational apart from reading packaged data (botocore's models and our schemas), which
happens once per process; never reads the config repository.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import botocore.loaders
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from controller.core.documents import Path, format_path


@dataclass(frozen=True)
class ApiShape:
    """The botocore input shape that a manifest kind is a request of.

    ``filled`` lists required members that the controller supplies, so a manifest need not.
    """

    service: str
    shape: str
    filled: tuple[str, ...] = ()


# manifest kind -> the request it is
REQUESTS: Mapping[str, ApiShape] = {
    "task-definition": ApiShape("ecs", "RegisterTaskDefinitionRequest"),
    "service": ApiShape("ecs", "CreateServiceRequest"),
    "run-task": ApiShape("ecs", "RunTaskRequest", filled=("taskDefinition",)),
    "scalable-target": ApiShape("application-autoscaling", "RegisterScalableTargetRequest"),
    "scaling-policy": ApiShape("application-autoscaling", "PutScalingPolicyRequest"),
}


@dataclass(frozen=True)
class ApiResponse:
    """What a manifest of one kind is often pasted from: the object ECS describes it as.

    ``shape`` is that object (its members that the request lacks are read-only), ``operation``
    the call that returns it, and ``wrappers`` the response keys that hold it (key -> the
    operation whose response that is).
    """

    shape: str
    operation: str
    wrappers: Mapping[str, str]


# manifest kind -> the response it may be pasted from
RESPONSES: Mapping[str, ApiResponse] = {
    "task-definition": ApiResponse(
        "TaskDefinition",
        "DescribeTaskDefinition",
        wrappers={"taskDefinition": "DescribeTaskDefinition"},
    ),
    "service": ApiResponse(
        "Service",
        "DescribeServices",
        wrappers={"services": "DescribeServices", "service": "CreateService or UpdateService"},
    ),
}
# read-only fields whose request counterpart has another name
_COUNTERPARTS = {"compatibilities": "requiresCompatibilities", "roleArn": "role"}
# our own files -> their hand-written schema in controller/schemas
OWN_SCHEMAS: Mapping[str, str] = {
    "environment": "environment.schema.json",
    "deploy": "deploy.schema.json",
}


def camel(member: str) -> str:
    """The key a manifest uses for a botocore member: ``MinCapacity`` -> ``minCapacity``."""
    return member[:1].lower() + member[1:]


@cache
def _shapes(service: str) -> Mapping[str, Any]:
    model: Mapping[str, Any] = botocore.loaders.Loader().load_service_model(service, "service-2")
    return model["shapes"]  # type: ignore[no-any-return]


_SCALARS = {
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "double": "number",
    "float": "number",
    "boolean": "boolean",
    # boto3 accepts ISO 8601 text or epoch numbers for timestamps, and text for blobs
    "timestamp": ["string", "number"],
    "blob": "string",
}


class _Generator:
    """Turns botocore shapes into one JSON Schema; recursive shapes go through ``$defs``."""

    def __init__(self, shapes: Mapping[str, Any]) -> None:
        self.shapes = shapes
        self.defs: dict[str, Any] = {}
        self.stack: list[str] = []

    def schema(self, name: str) -> dict[str, Any]:
        if name in self.stack:
            if name not in self.defs:
                self.defs[name] = {}  # placeholder while the shape is being generated
                self.defs[name] = self._generate(name)
            return {"$ref": f"#/$defs/{name}"}
        self.stack.append(name)
        try:
            return self._generate(name)
        finally:
            self.stack.pop()

    def _generate(self, name: str) -> dict[str, Any]:
        shape = self.shapes[name]
        kind = shape["type"]
        if shape.get("document"):
            # botocore's document type (a structure flagged "document", such as a lifecycle
            # hook's hookDetails) is "any JSON value": its keys are the user's, not the API's
            return {}
        if kind == "structure":
            members = shape.get("members", {})
            return {
                "type": "object",
                "properties": {camel(m): self.schema(s["shape"]) for m, s in members.items()},
                "required": [camel(m) for m in shape.get("required", [])],
                "additionalProperties": False,
            }
        if kind == "list":
            out: dict[str, Any] = {"type": "array", "items": self.schema(shape["member"]["shape"])}
            _bounds(out, shape, "minItems", "maxItems")
            return out
        if kind == "map":
            return {"type": "object", "additionalProperties": self.schema(shape["value"]["shape"])}
        if kind in _SCALARS:
            out = {"type": _SCALARS[kind]}
            if "enum" in shape:
                out["enum"] = list(shape["enum"])
            if kind == "string":
                _bounds(out, shape, "minLength", "maxLength")
            elif kind in ("integer", "long", "double", "float"):
                _bounds(out, shape, "minimum", "maximum")
            return out
        return {}  # anything newer than this generator: any JSON value


def _bounds(out: dict[str, Any], shape: Mapping[str, Any], low: str, high: str) -> None:
    if "min" in shape:
        out[low] = shape["min"]
    if "max" in shape:
        out[high] = shape["max"]


@cache
def schema(kind: str) -> Mapping[str, Any]:
    """The JSON Schema (Draft 2020-12) of one file kind."""
    if kind in OWN_SCHEMAS:
        text = resources.files("controller").joinpath("schemas", OWN_SCHEMAS[kind]).read_text()
        loaded: dict[str, Any] = json.loads(text)
        return loaded
    api = REQUESTS[kind]
    generator = _Generator(_shapes(api.service))
    root = generator.schema(api.shape)
    root["required"] = [key for key in root["required"] if key not in api.filled]
    if generator.defs:
        root["$defs"] = generator.defs
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return root


@cache
def validator(kind: str) -> Draft202012Validator:
    """A compiled validator per kind, built once per process."""
    return Draft202012Validator(schema(kind))


def check(kind: str, value: Any, *, at: Path = ()) -> list[tuple[Path, str]]:
    """Every schema violation of ``value`` as (path, message); paths point at the offending key.

    ``at`` is where ``value`` sits in its file (an item of a list of scaling policies).
    """
    pasted = _pasted_response(kind, value)
    if pasted is None:
        issues: list[tuple[Path, str]] = []
    else:
        issues = [((*at, *pasted.path), pasted.message)]
        if pasted.wrapped:
            return issues  # the request is inside: every other message would be noise
    for error in validator(kind).iter_errors(value):
        issues.extend(
            (path, message)
            for path, message in _messages(error, at)
            # a read-only field is named once, in the message about the response
            if not (pasted and len(path) == len(at) + 1 and path[-1] in pasted.fields)
        )
    return issues


@dataclass(frozen=True)
class _Pasted:
    """A manifest recognised as a pasted response: one message instead of an unknown key each."""

    path: Path
    message: str
    wrapped: bool = False
    # read-only fields at the top of the manifest (their "unknown key" messages are dropped)
    fields: frozenset[str] = frozenset()


def _pasted_response(kind: str, value: Any) -> _Pasted | None:
    """Whether ``value`` is (or wraps) what ECS returns rather than the request it takes."""
    response = RESPONSES.get(kind)
    if response is None or not isinstance(value, dict):
        return None
    request = REQUESTS[kind].shape.removesuffix("Request")
    read_only = read_only_fields(kind)
    for key, operation in response.wrappers.items():
        inner = value.get(key)
        candidates = inner if isinstance(inner, list) else [inner]
        items: list[dict[str, Any]] = [item for item in candidates if isinstance(item, dict)]
        if not items or len(items) != len(candidates):
            continue
        found = list(dict.fromkeys(k for item in items for k in item if k in read_only))
        how = (
            f"take the service out of '{key}' (one service per folder)"
            if isinstance(inner, list)
            else f"unwrap '{key}' (its value is the request)"
        )
        if found:
            how += f" and remove its read-only fields {', '.join(found)}"
        message = f"this is a {operation} response, not a {request} request: {how}"
        return _Pasted((key,), message, wrapped=True)
    found = [key for key in value if key in read_only]
    if not found:
        return None
    if len(found) > 1:
        message = (
            f"this is a {response.operation} response, not a {request} request: remove the "
            f"read-only fields {', '.join(found)}"
        )
        return _Pasted((found[0],), message, fields=frozenset(found))
    # one such field is more likely typed than pasted: say what the request calls it, if anything
    key = found[0]
    counterpart = _COUNTERPARTS.get(key)
    message = (
        f"'{key}' is a read-only field of a {response.operation} response, not part of a "
        f"{request} request: remove it"
        + (f" (the request's field is '{counterpart}')" if counterpart else "")
    )
    return _Pasted((key,), message, fields=frozenset(found))


@cache
def read_only_fields(kind: str) -> frozenset[str]:
    """Members of the object ECS returns for ``kind`` that its request does not take."""
    response, request = RESPONSES[kind], REQUESTS[kind]
    shapes = _shapes(request.service)
    taken = shapes[request.shape].get("members", {})
    return frozenset(camel(m) for m in shapes[response.shape].get("members", {}) if m not in taken)


def _messages(error: ValidationError, at: Path) -> Iterable[tuple[Path, str]]:
    path: Path = (*at, *error.absolute_path)
    where = format_path(path)
    keyword = error.validator
    sub: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = list(sub.get("properties", {}))
        for key in instance:
            if key in known:
                continue
            message = f"unknown key '{key}'" + (f" in {where}" if where else "")
            yield (*path, key), message + _suggest(str(key), known)
        return
    if keyword == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            if key not in instance:
                yield path, f"missing required key '{key}'" + (f" in {where}" if where else "")
        return
    prefix = f"{where}: " if where else ""
    if "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
        # the instance is the offending key itself: point at it
        reason = sub.get("x-message", error.message)
        yield (*path, instance), f"invalid key '{instance}' in {where or 'the file'}: {reason}"
        return
    if "x-message" in sub and keyword not in ("type", "required", "additionalProperties"):
        yield path, prefix + str(sub["x-message"])
        return
    if keyword == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        message = f"expected {' or '.join(_TYPE_NAMES.get(n, n) for n in names)}, got {_describe(instance)}"
        if (
            names == ["string"]
            and isinstance(instance, int | float)
            and not isinstance(instance, bool)
        ):
            message += f" (quote it: '{instance}')"
        if not path:
            message = f"the file must hold {' or '.join(_TYPE_NAMES.get(n, n) for n in names)}, not {_describe(instance)}"
        yield path, prefix + message
        return
    if keyword == "enum":
        allowed = [str(v) for v in error.validator_value]
        message = f"{_describe(instance)} is not one of {', '.join(allowed)}"
        yield path, prefix + message + _suggest(str(instance), allowed)
        return
    if keyword == "const":
        yield (
            path,
            prefix + f"must be {_describe(error.validator_value)}, not {_describe(instance)}",
        )
        return
    if keyword in _BOUND_MESSAGES:
        yield (
            path,
            prefix
            + _BOUND_MESSAGES[keyword].format(
                value=_describe(instance), bound=error.validator_value
            ),
        )
        return
    yield path, prefix + error.message


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_BOUND_MESSAGES = {
    "minimum": "{value} is less than the minimum {bound}",
    "maximum": "{value} is more than the maximum {bound}",
    "exclusiveMinimum": "{value} must be more than {bound}",
    "minLength": "must be at least {bound} characters long",
    "maxLength": "must be at most {bound} characters long",
    "minItems": "must have at least {bound} items",
    "maxItems": "must have at most {bound} items",
    "minProperties": "must not be empty",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return str(value)


def _suggest(word: str, candidates: list[str]) -> str:
    """ "; did you mean 'image'?" for a near miss (case-insensitive first), else ""."""
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return f"; did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def suggest(word: str, candidates: Iterable[str]) -> str:
    """Public form of the near-miss hint, for file and folder names."""
    return _suggest(word, list(candidates))


def to_api(kind: str, value: Any) -> Any:
    """Rename a valid manifest's camelCase keys to botocore's member names (for boto3 ``**kwargs``)."""
    api = REQUESTS[kind]
    return _rename(_shapes(api.service), api.shape, value)


def _rename(shapes: Mapping[str, Any], name: str, value: Any) -> Any:
    shape = shapes[name]
    kind = shape["type"]
    if shape.get("document"):
        return value  # free-form JSON: sent exactly as written
    if kind == "structure" and isinstance(value, dict):
        members = {camel(m): (m, s["shape"]) for m, s in shape.get("members", {}).items()}
        out: dict[str, Any] = {}
        for key, item in value.items():
            member, sub = members.get(key, (key, None))
            out[member] = _rename(shapes, sub, item) if sub else item
        return out
    if kind == "list" and isinstance(value, list):
        return [_rename(shapes, shape["member"]["shape"], item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _rename(shapes, shape["value"]["shape"], v) for k, v in value.items()}
    return value
