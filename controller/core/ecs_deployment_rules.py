"""ECS's rules for a deployment ECS runs itself: ``deploymentConfiguration.strategy``.

Since 2025 ECS runs blue/green, linear and canary deployments on its own (BLUE_GREEN, LINEAR,
CANARY besides ROLLING), shifting listener-rule weights, baking and rolling back. The fields
that drive them come with rules botocore's model states in its documentation but does not
enforce in its shapes; checked here, each broken rule is a problem at its FILE:LINE of
service.yaml that ``validate`` reports, called from ``controller.core.ecs_rules``. The rules
between service.yaml and deploy.yaml (which mechanism runs the deployment, whether the deploy
timeout covers the bake time) are here too, since only together do the two files say it.

Purely computational.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from controller.core.documents import Document, Path, parse_document
from controller.core.model import JsonDict, Problem, RepoState

Issue = tuple[Path, str]

NATIVE = frozenset({"BLUE_GREEN", "LINEAR", "CANARY"})
"""The strategies in which ECS moves traffic between two target groups itself."""

ECS_STRATEGY = "ecs"
"""deploy.yaml's strategy that leaves the deployment to ECS."""

# DeploymentLifecycleHook.lifecycleStages: "PAUSE hooks cannot be configured at
# TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages. These stages are only valid for
# AWS_LAMBDA hooks."
PAUSE_REFUSED_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")

# AdvancedConfiguration: what ECS needs to move traffic between the two target groups; the
# test listener rule is optional (without it there is no test traffic).
ADVANCED_REQUIRED = ("alternateTargetGroupArn", "productionListenerRule", "roleArn")

# (configuration, member, low, high, multiple of 0.1), from botocore's documentation strings:
# LinearConfiguration.stepPercent "Valid values are multiples of 0.1 from 3.0 to 100.0";
# stepBakeTimeInMinutes "Valid values are 0 to 1440 minutes (24 hours)";
# CanaryConfiguration.canaryPercent "Valid values are multiples of 0.1 from 0.1 to 100.0";
# canaryBakeTimeInMinutes "Valid values are 0 to 1440 minutes (24 hours)".
RANGES: tuple[tuple[str, str, float, float, bool], ...] = (
    ("linearConfiguration", "stepPercent", 3.0, 100.0, True),
    ("linearConfiguration", "stepBakeTimeInMinutes", 0, 1440, False),
    ("canaryConfiguration", "canaryPercent", 0.1, 100.0, True),
    ("canaryConfiguration", "canaryBakeTimeInMinutes", 0, 1440, False),
)

# The defaults ECS applies when a configuration leaves a member out (botocore's documentation).
LINEAR_DEFAULTS = {"stepPercent": 10.0, "stepBakeTimeInMinutes": 6}
CANARY_DEFAULTS = {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10}


def check(documents: Mapping[str, Document], service: JsonDict) -> list[Problem]:
    """Every rule of ECS-run deployments the CreateService request ``service`` breaks.

    ``documents`` holds the folder's parsed files by kind; problems are located in
    service.yaml (the request is rendered from it, so its paths are the document's).
    """
    doc = documents["service"]
    deploy = documents.get("deploy")
    deploy_strategy = _deploy_strategy(deploy.value if deploy is not None else None)
    issues: list[Issue] = []
    for rule in RULES:
        issues.extend(rule(service))
    issues.extend(_two_mechanisms(service, deploy_strategy=deploy_strategy))
    return [doc.problem(path, message) for path, message in issues]


def _deploy_strategy(deploy: Any) -> str | None:
    """deploy.yaml's strategy; None when it has none (a schema problem reported elsewhere)."""
    strategy = deploy.get("strategy") if isinstance(deploy, dict) else None
    return strategy if isinstance(strategy, str) else None


def _configuration(service: JsonDict) -> JsonDict:
    configuration = service.get("deploymentConfiguration")
    return configuration if isinstance(configuration, dict) else {}


def native_strategy(service: JsonDict) -> str | None:
    """BLUE_GREEN, LINEAR or CANARY when the service asks ECS for one, else None."""
    strategy = _configuration(service).get("strategy")
    return strategy if strategy in NATIVE else None


_STRATEGY: Path = ("deploymentConfiguration", "strategy")


def _two_mechanisms(service: JsonDict, *, deploy_strategy: str | None) -> Iterable[Issue]:
    """A native strategy with the controller's own: both would move the service's traffic."""
    strategy = native_strategy(service)
    if strategy is None or deploy_strategy in (None, ECS_STRATEGY):
        return
    yield (
        _STRATEGY,
        f"deploymentConfiguration.strategy {strategy} makes ECS run the deployment itself, and "
        f"deploy.yaml's strategy {deploy_strategy} would run its own: the two would fight over "
        f"the service's tasks and traffic; set 'strategy: {ECS_STRATEGY}' in deploy.yaml to let "
        "ECS deploy (or drop deploymentConfiguration.strategy)",
    )


def _deployment_controller(service: JsonDict) -> Iterable[Issue]:
    """A native strategy is run by the ECS deployment controller only."""
    strategy = native_strategy(service)
    controller = service.get("deploymentController")
    kind = controller.get("type") if isinstance(controller, dict) else None
    if strategy is not None and kind not in (None, "ECS"):
        yield (
            ("deploymentController", "type"),
            f"deploymentConfiguration.strategy {strategy} is run by the ECS deployment "
            f"controller, and this service's is {kind}: set deploymentController.type to ECS "
            "(or leave it out) to use ECS's own deployments",
        )


def _strategy_configurations(service: JsonDict) -> Iterable[Issue]:
    """linearConfiguration "Only valid when the deployment strategy is LINEAR", and
    canaryConfiguration only when it is CANARY (botocore's documentation)."""
    configuration = _configuration(service)
    strategy = configuration.get("strategy") or "ROLLING"
    for member, owner in (("linearConfiguration", "LINEAR"), ("canaryConfiguration", "CANARY")):
        if member in configuration and strategy != owner:
            yield (
                ("deploymentConfiguration", member),
                f"{member} is only valid with deploymentConfiguration.strategy {owner}; the "
                f"strategy is {strategy}",
            )


def _advanced_configuration(service: JsonDict) -> Iterable[Issue]:
    """Behind a load balancer, ECS needs both target groups and the rules it moves traffic on."""
    strategy = native_strategy(service)
    balancers = service.get("loadBalancers")
    if strategy is None or not isinstance(balancers, list):
        return
    for index, balancer in enumerate(balancers):
        if not isinstance(balancer, dict):
            continue
        advanced = balancer.get("advancedConfiguration")
        if not isinstance(advanced, dict):
            yield (
                ("loadBalancers", index),
                f"deploymentConfiguration.strategy {strategy} needs advancedConfiguration on "
                "every load balancer: alternateTargetGroupArn, productionListenerRule and roleArn "
                "(testListenerRule optional), so that ECS can shift traffic between the two "
                "target groups",
            )
            continue
        missing = [key for key in ADVANCED_REQUIRED if not advanced.get(key)]
        if missing:
            yield (
                ("loadBalancers", index, "advancedConfiguration"),
                f"advancedConfiguration lacks {', '.join(missing)}: deploymentConfiguration."
                f"strategy {strategy} needs alternateTargetGroupArn, productionListenerRule and "
                "roleArn",
            )


def _hook_members(service: JsonDict) -> Iterable[Issue]:
    """DeploymentLifecycleHook: lifecycleStages "You must provide this parameter when
    configuring a deployment lifecycle hook"; hookTargetArn "You must provide this parameter
    when configuring an AWS_LAMBDA lifecycle hook" (AWS_LAMBDA is the default targetType)."""
    hooks = _configuration(service).get("lifecycleHooks")
    for index, hook in enumerate(hooks if isinstance(hooks, list) else []):
        if not isinstance(hook, dict):
            continue
        where: Path = ("deploymentConfiguration", "lifecycleHooks", index)
        if not hook.get("lifecycleStages"):
            yield (where, "a lifecycle hook needs lifecycleStages: the stages it runs at")
        if hook.get("targetType", "AWS_LAMBDA") == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
            yield (
                where,
                "an AWS_LAMBDA lifecycle hook (the default targetType) needs hookTargetArn, the "
                "Lambda function's ARN; set targetType: PAUSE for an approval gate",
            )


def _pause_hooks(service: JsonDict) -> Iterable[Issue]:
    hooks = _configuration(service).get("lifecycleHooks")
    for index, hook in enumerate(hooks if isinstance(hooks, list) else []):
        if not isinstance(hook, dict) or hook.get("targetType") != "PAUSE":
            continue
        stages = hook.get("lifecycleStages")
        for position, stage in enumerate(stages if isinstance(stages, list) else []):
            if stage in PAUSE_REFUSED_STAGES:
                yield (
                    (
                        "deploymentConfiguration",
                        "lifecycleHooks",
                        index,
                        "lifecycleStages",
                        position,
                    ),
                    f"a PAUSE hook cannot be configured at {stage} (only AWS_LAMBDA hooks can): "
                    "pause at POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT or "
                    "POST_PRODUCTION_TRAFFIC_SHIFT instead",
                )


def _ranges(service: JsonDict) -> Iterable[Issue]:
    configuration = _configuration(service)
    for member, key, low, high, tenths in RANGES:
        values = configuration.get(member)
        value = values.get(key) if isinstance(values, dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        outside = not low <= value <= high
        if outside or (tenths and abs(value * 10 - round(value * 10)) > 1e-6):
            shown = f"multiples of 0.1 from {low} to {high}" if tenths else f"{low} to {high}"
            yield (
                ("deploymentConfiguration", member, key),
                f"{member}.{key} {value} is not valid in ECS: valid values are {shown}",
            )


def bake_minutes(service: JsonDict) -> float:
    """How long a native deployment bakes at least (minutes): its waits added up.

    BLUE_GREEN bakes ``bakeTimeInMinutes`` after production traffic shifted; LINEAR waits
    ``stepBakeTimeInMinutes`` between steps ("not applied after reaching 100 percent
    traffic") and then bakes; CANARY waits ``canaryBakeTimeInMinutes`` and then bakes. A
    member left out takes ECS's default; a bake time left out counts as none. Hooks are not
    counted: how long they take is theirs (and a PAUSE hook's wait is an approval's).
    """
    strategy = native_strategy(service)
    if strategy is None:
        return 0.0
    configuration = _configuration(service)
    bake = _number(configuration.get("bakeTimeInMinutes"), 0)
    if strategy == "LINEAR":
        linear = {**LINEAR_DEFAULTS, **_mapping(configuration.get("linearConfiguration"))}
        step = _number(linear["stepPercent"], LINEAR_DEFAULTS["stepPercent"])
        steps = math.ceil(100.0 / step - 1e-9) if step > 0 else 1
        return bake + (steps - 1) * _number(linear["stepBakeTimeInMinutes"], 0)
    if strategy == "CANARY":
        canary = {**CANARY_DEFAULTS, **_mapping(configuration.get("canaryConfiguration"))}
        return bake + _number(canary["canaryBakeTimeInMinutes"], 0)
    return bake


def timeout_warnings(
    documents: Mapping[str, Document], service: JsonDict, *, timeout_seconds: float
) -> list[Problem]:
    """A deploy ``timeout`` shorter than the native deployment's bake time: a warning.

    ECS would still be baking when the controller gives up and rolls back, so every
    deployment would end RolledBack. Not refused: the user may mean it (a bake time kept for
    ECS's own alarms), and the service deploys as written.
    """
    minutes = bake_minutes(service)
    if minutes * 60 <= timeout_seconds or "service" not in documents:
        return []
    deploy = documents.get("deploy")
    shown = _minutes(timeout_seconds / 60)
    strategy = native_strategy(service)
    message = (
        f"warning: deploy.yaml's timeout ({shown}) is shorter than the {strategy} deployment's "
        f"total bake time ({_minutes(minutes)}): the controller would roll back every "
        "deployment while ECS is still baking; make timeout longer than the bake time"
    )
    raw = deploy.value if deploy is not None else None
    if deploy is not None and isinstance(raw, dict) and "timeout" in raw:
        return [deploy.problem(("timeout",), message)]
    message = message.replace("timeout (", "timeout (the default, ", 1)
    return [documents["service"].problem(("deploymentConfiguration",), message)]


def warnings(files: Mapping[str, str | Problem], state: RepoState) -> list[Problem]:
    """The warnings of every valid service of ``state`` (loaded from ``files``), in order.

    A warning is a ``Problem`` whose message starts with "warning: ": ``validate`` prints it
    at its FILE:LINE, and nothing holds the service back (the loader never sees it).
    """
    found: list[Problem] = []
    for key in sorted(state.services):
        desired = state.services[key]
        if desired.service is None or native_strategy(desired.service) is None:
            continue
        documents: dict[str, Document] = {}
        for kind in ("deploy", "service"):
            path = desired.files.get(kind)
            text = files.get(path) if path is not None else None
            doc = parse_document(path, text)[0] if path and isinstance(text, str) else None
            if doc is not None:
                documents[kind] = doc
        found.extend(
            timeout_warnings(
                documents, desired.service, timeout_seconds=desired.deploy.timeout_seconds
            )
        )
    return found


def _minutes(minutes: float) -> str:
    return f"{minutes:g} minute" if minutes == 1 else f"{minutes:g} minutes"


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _number(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return float(default)


RULES: tuple[Callable[[JsonDict], Iterable[Issue]], ...] = (
    _deployment_controller,
    _strategy_configurations,
    _advanced_configuration,
    _hook_members,
    _pause_hooks,
    _ranges,
)
