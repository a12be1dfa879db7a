"""Render parsed files into an Environment and a DesiredService: the exact AWS requests.

For each manifest: resolve expressions, strip nulls, apply the authority rule (a service runs
on its environment's cluster), fill what the controller owns (cluster, serviceName default,
autoscaling ids), check it against the API shape, and rename keys to the API's member names.
Every mistake becomes a Problem at FILE:LINE; a service with any problem is not rendered.

Purely computational.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core import ecs_rules, schemas
from controller.core.documents import Document, Path, format_path, strip_nulls
from controller.core.expressions import TARGET_GROUP_ARN, Scope, resolve
from controller.core.model import (
    NOTIFY_EVENTS,
    DeploySpec,
    DesiredService,
    Environment,
    JsonDict,
    NotifyRule,
    Problem,
    Strategy,
    SyncPolicy,
)
from controller.strategies.descriptions import DESCRIPTIONS, describe

# The one scalable dimension and namespace an ECS service has (Application Auto Scaling).
ECS_NAMESPACE = "ecs"
ECS_DIMENSION = "ecs:service:DesiredCount"
DEFAULT_TIMEOUT_SECONDS = 600.0

_DURATION = re.compile(r"^(?=\d)(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def duration_seconds(text: str) -> float | None:
    """``"1m30s"`` -> 90.0; None when ``text`` is not a duration."""
    match = _DURATION.match(text)
    if match is None:
        return None
    hours, minutes, seconds = (int(match.group(g) or 0) for g in ("h", "m", "s"))
    return float(hours * 3600 + minutes * 60 + seconds)


@dataclass(frozen=True)
class RenderedEnvironment:
    """An environment as far as it could be read; ``problems`` empty means it is valid.

    ``variables_known`` is false when environment.yaml could not even be read: its services'
    manifests are then not checked further (undefined variables would only be noise).
    """

    environment: Environment
    problems: tuple[Problem, ...] = ()
    variables_known: bool = True


def render_environment(name: str, doc: Document | None) -> RenderedEnvironment:
    """Read environment.yaml (``doc`` None: it could not be parsed)."""
    if doc is None:
        return RenderedEnvironment(Environment(name=name, cluster=""), variables_known=False)
    value = doc.value
    # null means "not set" here too; variables keep their nulls (a null variable unsets a key)
    problems = [doc.problem(p, m) for p, m in schemas.check("environment", strip_nulls(value))]
    data: Mapping[str, Any] = value if isinstance(value, dict) else {}
    sync = data.get("sync") if isinstance(data.get("sync"), dict) else {}
    assert isinstance(sync, dict)
    variables = data.get("variables")
    environment = Environment(
        name=name,
        cluster=_text(data.get("cluster")) or "",
        region=_text(data.get("region")),
        role_arn=_text(data.get("roleArn")),
        variables=variables if isinstance(variables, dict) else {},
        sync=SyncPolicy(
            auto=sync.get("auto") is not False,
            self_heal=sync.get("selfHeal") is True,
            prune=sync.get("prune") is True,
        ),
        allowed_accounts=_accounts(data.get("allowedAccounts")),
        notify=_notify(data.get("notify")),
    )
    return RenderedEnvironment(
        environment, tuple(problems), variables_known=isinstance(value, dict)
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _notify(value: Any) -> tuple[NotifyRule, ...]:
    """``notify`` as written; entries of a wrong shape are left out (the schema reports them)."""
    if not isinstance(value, list):
        return ()
    rules = []
    for entry in value:
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url:
            continue
        on = entry.get("on")
        if isinstance(on, list) and on:
            rules.append(NotifyRule(url, tuple(e for e in on if e in NOTIFY_EVENTS)))
        else:
            rules.append(NotifyRule(url))
    return tuple(rules)


def _accounts(value: Any) -> tuple[str, ...] | None:
    """``allowedAccounts`` as written (None when absent; the schema reports a wrong shape)."""
    if not isinstance(value, list):
        return None
    return tuple(str(account) for account in value)


@dataclass
class _Context:
    """What rendering one service needs and collects."""

    env: Environment
    name: str
    scope: Scope
    variables_known: bool
    strategy: Strategy | None
    problems: list[Problem] = field(default_factory=list)

    def report(self, doc: Document, issues: Iterable[tuple[Path, str]]) -> None:
        self.problems.extend(doc.problem(path, message) for path, message in issues)


def render_service(
    *,
    env: RenderedEnvironment,
    name: str,
    documents: Mapping[str, Document],
    unusable: Iterable[str] = (),
) -> tuple[DesiredService | None, list[Problem]]:
    """Render one service folder from its parsed files (kind -> document).

    ``unusable`` names kinds whose file exists but could not be used (unparseable, or two
    files of one kind); their problems are already reported, so they are not "missing".
    Returns the service, or None and every problem found.
    """
    unusable = set(unusable)
    deploy_doc = documents.get("deploy")
    if deploy_doc is None:
        return None, []  # the caller has reported why there is no usable deploy.yaml
    deploy, problems = _deploy_spec(deploy_doc)
    ctx = _Context(
        env=env.environment,
        name=name,
        scope=Scope(
            variables={**env.environment.variables, **deploy.variables}, image=deploy.image
        ),
        variables_known=env.variables_known,
        strategy=deploy.strategy if "strategy" in deploy.raw else None,
        problems=problems,
    )
    _check_files(ctx, deploy_doc, documents, unusable)
    _check_verify_urls(ctx, deploy_doc, deploy)

    task_definition = _request(ctx, "task-definition", documents.get("task-definition"))
    if task_definition is not None:
        _check_containers(ctx, documents["task-definition"], task_definition)
    service = _request(ctx, "service", documents.get("service"))
    if service is not None and task_definition is not None:
        _check_load_balancers(ctx, documents["service"], service, task_definition)
    service_name = str(service["serviceName"]) if service else name
    scalable_target = _request(
        ctx, "scalable-target", documents.get("scalable-target"), service_name=service_name
    )
    policies = _scaling_policies(ctx, documents.get("scaling-policy"), service_name)
    run_task = _request(ctx, "run-task", documents.get("run-task"))
    if task_definition is not None:
        # what ECS would refuse at apply time although the API shapes allow it; a file the
        # strategy does not use is reported as such above, and not sent
        job = describe(deploy.strategy).runs_once
        ctx.problems.extend(
            ecs_rules.check(
                documents,
                task_definition=task_definition,
                service=None if job else service,
                run_task=run_task if job else None,
            )
        )

    if ctx.problems or task_definition is None:
        return None, ctx.problems
    desired = DesiredService(
        env=env.environment,
        name=name,
        deploy=deploy,
        task_definition=task_definition,
        service=service,
        scalable_target=scalable_target,
        scaling_policies=tuple(policies),
        run_task=run_task,
        files={kind: doc.file for kind, doc in documents.items()},
    )
    return desired, []


def _deploy_spec(doc: Document) -> tuple[DeploySpec, list[Problem]]:
    data: Mapping[str, Any] = doc.value if isinstance(doc.value, dict) else {}
    raw = strip_nulls(dict(data)) if data else doc.value
    problems = [doc.problem(p, m) for p, m in schemas.check("deploy", raw)]
    raw = raw if isinstance(raw, dict) else {}
    try:
        strategy = Strategy(str(raw.get("strategy")))
    except ValueError:
        strategy = Strategy.ROLLING  # placeholder: the schema problem above says what is wrong
        raw.pop("strategy", None)
    timeout = data.get("timeout")
    seconds = duration_seconds(timeout) if isinstance(timeout, str) else None
    variables = data.get("variables")
    spec = DeploySpec(
        strategy=strategy,
        image=_text(data.get("image")),
        variables=variables if isinstance(variables, dict) else {},
        timeout_seconds=seconds if seconds is not None else DEFAULT_TIMEOUT_SECONDS,
        raw=raw,
    )
    return spec, problems


def _check_verify_urls(ctx: _Context, deploy_doc: Document, deploy: DeploySpec) -> None:
    """``verify.http`` urls may use ``${variables}``: an unknown one is found now, not mid-deploy."""
    if not ctx.variables_known:
        return
    probes = deploy.block("verify").get("http")
    for index, probe in enumerate(probes if isinstance(probes, list) else ()):
        url = probe.get("url") if isinstance(probe, Mapping) else None
        if isinstance(url, str):
            for _, message in resolve(url, ctx.scope).problems:
                ctx.problems.append(deploy_doc.problem(("verify", "http", index, "url"), message))


def _check_files(
    ctx: _Context, deploy_doc: Document, documents: Mapping[str, Document], unusable: set[str]
) -> None:
    """Which files a strategy needs and which it must not have."""
    present = set(documents) | unusable
    strategy_line: Path = ("strategy",)
    if "task-definition" not in present:
        ctx.problems.append(
            deploy_doc.problem(
                (), f"{ctx.name} has no task-definition.yaml (every service needs one)"
            )
        )
    if ctx.strategy is None:
        return
    traits = describe(ctx.strategy)
    if traits.needs not in present:
        ctx.problems.append(
            deploy_doc.problem(strategy_line, f"strategy {ctx.strategy} needs {traits.needs}.yaml")
        )
    for kind in traits.unused:
        if kind in documents:
            ctx.problems.append(Problem(documents[kind].file, 1, _unused(ctx.strategy, kind)))
    scaled = "scaling-policy" in documents and "scaling-policy" not in traits.unused
    if scaled and "scalable-target" not in present:
        ctx.problems.append(
            Problem(
                documents["scaling-policy"].file,
                1,
                "a scaling policy needs scalable-target.yaml (the service must be registered first)",
            )
        )


def _unused(strategy: Strategy, kind: str) -> str:
    """Why a file is refused: the one strategy that deploys from it, or that this one does not."""
    users = [str(d.strategy) for d in DESCRIPTIONS.values() if d.needs == kind]
    if len(users) == 1:
        return f"{kind}.yaml is only used by strategy {users[0]}"
    return f"strategy {strategy} does not use {kind} files"


def _fills_target_group(ctx: _Context) -> bool:
    return ctx.strategy is not None and describe(ctx.strategy).fills_target_group


def _resolve(ctx: _Context, doc: Document) -> Any:
    resolution = resolve(doc.value, ctx.scope)
    ctx.report(doc, resolution.problems)
    if resolution.target_group_paths and not _fills_target_group(ctx):
        fillers = ", ".join(str(d.strategy) for d in DESCRIPTIONS.values() if d.fills_target_group)
        ctx.report(
            doc,
            [
                (path, f"{TARGET_GROUP_ARN} is only filled by strategy {fillers}")
                for path in resolution.target_group_paths
            ],
        )
    return strip_nulls(resolution.value)


def _request(
    ctx: _Context, kind: str, doc: Document | None, *, service_name: str = ""
) -> JsonDict | None:
    """One manifest rendered to its request, or None (absent, or problems reported)."""
    if doc is None or not ctx.variables_known:
        return None  # without the environment's variables every check would be guesswork
    before = len(ctx.problems)
    value = _resolve(ctx, doc)
    if isinstance(value, dict):
        value = _fill(ctx, kind, doc, value, (), service_name)
    ctx.report(doc, schemas.check(kind, value))
    if len(ctx.problems) > before or not isinstance(value, dict):
        return None
    if schemas.REQUESTS[kind].service != "ecs":
        renamed: JsonDict = schemas.to_api(kind, value)
        return renamed
    return value


def _scaling_policies(ctx: _Context, doc: Document | None, service_name: str) -> list[JsonDict]:
    """scaling-policy.yaml holds one PutScalingPolicy request or a list of them."""
    if doc is None or not ctx.variables_known:
        return []
    before = len(ctx.problems)
    value = _resolve(ctx, doc)
    items = value if isinstance(value, list) else [value]
    prefix: Path = ()
    policies: list[JsonDict] = []
    names: dict[str, int] = {}
    for index, item in enumerate(items):
        path: Path = (index,) if isinstance(value, list) else prefix
        if not isinstance(item, dict):
            ctx.report(doc, [(path, "expected a PutScalingPolicy request (a mapping)")])
            continue
        item = _fill(ctx, "scaling-policy", doc, item, path, service_name)
        ctx.report(doc, schemas.check("scaling-policy", item, at=path))
        policy_name = item.get("policyName")
        if isinstance(policy_name, str):
            if policy_name in names:
                ctx.report(
                    doc, [((*path, "policyName"), f"policy '{policy_name}' is defined twice")]
                )
            names[policy_name] = index
        policies.append(schemas.to_api("scaling-policy", item))
    return policies if len(ctx.problems) == before else []


def _fill(
    ctx: _Context, kind: str, doc: Document, value: JsonDict, at: Path, service_name: str
) -> JsonDict:
    """Apply the authority rule and fill the members the controller owns."""
    issues: list[tuple[Path, str]] = []
    out = dict(value)
    cluster = ctx.env.cluster
    if kind in ("service", "run-task"):
        given = out.get("cluster")
        if given is not None and given != cluster:
            issues.append(
                (
                    (*at, "cluster"),
                    f"cluster {given!r} is not this environment's cluster {cluster!r}: "
                    "a service runs on the cluster of the environment folder it is in",
                )
            )
        out["cluster"] = cluster
        if "taskDefinition" in out:
            issues.append(((*at, "taskDefinition"), "taskDefinition is set by the controller"))
            del out["taskDefinition"]
        if kind == "service":
            out.setdefault("serviceName", ctx.name)
    if kind in ("scalable-target", "scaling-policy"):
        for key, owned in (
            ("serviceNamespace", ECS_NAMESPACE),
            ("scalableDimension", ECS_DIMENSION),
        ):
            if key in out and out[key] != owned:
                issues.append(
                    ((*at, key), f"{key} must be {owned!r} (or left out), not {out[key]!r}")
                )
            out[key] = owned
        resource_id = f"service/{cluster}/{service_name}"
        if "resourceId" in out:
            issues.append(
                ((*at, "resourceId"), f"resourceId is set by the controller (to {resource_id})")
            )
        out["resourceId"] = resource_id
    ctx.report(doc, issues)
    return out


def _check_containers(ctx: _Context, doc: Document, task_definition: JsonDict) -> None:
    """ECS rejects a container without a name or image, though botocore's model allows it."""
    issues: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for index, container in enumerate(task_definition.get("containerDefinitions", [])):
        path: Path = ("containerDefinitions", index)
        for key in ("name", "image"):
            if key not in container:
                issues.append((path, f"missing required key '{key}' in {format_path(path)}"))
        container_name = container.get("name")
        if container_name in seen:
            issues.append(((*path, "name"), f"container name '{container_name}' is used twice"))
        if isinstance(container_name, str):
            seen.add(container_name)
    ctx.report(doc, issues)


def _check_load_balancers(
    ctx: _Context, doc: Document, service: JsonDict, task_definition: JsonDict
) -> None:
    # container name -> the ports its portMappings expose
    containers = {
        c.get("name"): {m.get("containerPort") for m in c.get("portMappings", [])}
        for c in task_definition.get("containerDefinitions", [])
    }
    issues: list[tuple[Path, str]] = []
    for index, balancer in enumerate(service.get("loadBalancers", [])):
        container_name = balancer.get("containerName")
        port = balancer.get("containerPort")
        if container_name is not None and container_name not in containers:
            names = ", ".join(sorted(str(c) for c in containers))
            issues.append(
                (
                    ("loadBalancers", index, "containerName"),
                    f"container '{container_name}' is not in the task definition (it has: {names})",
                )
            )
        elif (
            container_name is not None
            and port is not None
            and port not in containers[container_name]
        ):
            # ECS refuses a load balancer on a port the container does not map
            ports = ", ".join(
                str(p) for p in sorted(p for p in containers[container_name] if p is not None)
            )
            issues.append(
                (
                    ("loadBalancers", index, "containerPort"),
                    f"container '{container_name}' maps no port {port} (its portMappings: {ports or 'none'})",
                )
            )
    if _fills_target_group(ctx) and not any(
        balancer.get("targetGroupArn") == TARGET_GROUP_ARN
        for balancer in service.get("loadBalancers", [])
    ):
        issues.append(
            (
                ("loadBalancers",),
                f"strategy {ctx.strategy} needs a load balancer with targetGroupArn: "
                f"{TARGET_GROUP_ARN}",
            )
        )
    ctx.report(doc, issues)


def as_requests(desired: DesiredService) -> JsonDict:
    """The requests one service renders to, keyed as ``ecs-gitops render`` prints them."""
    out: JsonDict = {"taskDefinition": desired.task_definition}
    if desired.service is not None:
        out["service"] = desired.service
    if desired.scalable_target is not None:
        out["scalableTarget"] = desired.scalable_target
    if desired.scaling_policies:
        out["scalingPolicies"] = list(desired.scaling_policies)
    if desired.run_task is not None:
        out["runTask"] = desired.run_task
    return out
