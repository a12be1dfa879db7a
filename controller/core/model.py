"""Values that flow through the core: problems, environments, services, rendered requests.

Purely computational.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in the config repository, located at FILE:LINE (FILE relative to the repo)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return _one_line(f"{self.file}:{self.line}: {self.message}")


def _one_line(text: str) -> str:
    """``text`` with its unprintable characters escaped as a repr escapes them.

    A folder or key name holding a newline must not split a problem in two, nor the log line
    or status message that shows it.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Strategy(StrEnum):
    """How a service's changes are rolled out (deploy.yaml ``strategy``)."""

    ROLLING = "rolling"
    CANARY = "canary"
    BLUE_GREEN = "blue-green"
    RUN_TASK = "run-task"
    # ECS runs the deployment service.yaml declares; the controller follows it to its end
    ECS = "ecs"


@dataclass(frozen=True)
class SyncPolicy:
    """environment.yaml ``sync``: what the controller may do on its own."""

    auto: bool = True
    self_heal: bool = False
    prune: bool = False


# The rollout events a ``notify`` rule can ask for; all of them when it names none.
NOTIFY_EVENTS = ("rolled-back", "failed", "synced", "drift", "paused")


@dataclass(frozen=True)
class NotifyRule:
    """One ``notify`` entry of environment.yaml: a URL and the events posted to it."""

    url: str
    on: tuple[str, ...] = NOTIFY_EVENTS


@dataclass(frozen=True)
class Environment:
    """One top-level folder holding environment.yaml."""

    name: str
    cluster: str
    region: str | None = None
    role_arn: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    sync: SyncPolicy = SyncPolicy()
    # ``allowedAccounts``: the only accounts this environment may deploy to (None: not pinned)
    allowed_accounts: tuple[str, ...] | None = None
    # ``notify``: where ``run`` posts this environment's rollout events
    notify: tuple[NotifyRule, ...] = ()


@dataclass(frozen=True)
class DeploySpec:
    """A service's deploy.yaml, validated. ``raw`` keeps the strategy blocks as written."""

    strategy: Strategy
    image: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 600.0
    raw: Mapping[str, Any] = field(default_factory=dict)

    def block(self, name: str) -> Mapping[str, Any]:
        """A per-strategy block (``rolling``, ``canary``, ``blueGreen``, ``verify``, ``runTask``)."""
        value = self.raw.get(name)
        return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class DesiredService:
    """What git says one service (ENV/SERVICE) must look like: the exact AWS requests.

    Every document is an AWS API request shape with nulls removed and expressions resolved
    (except ``<+targetGroupArn>``, which only a blue-green rollout can resolve).
    """

    env: Environment
    name: str
    deploy: DeploySpec
    task_definition: JsonDict
    service: JsonDict | None = None
    scalable_target: JsonDict | None = None
    scaling_policies: tuple[JsonDict, ...] = ()
    run_task: JsonDict | None = None
    # manifest kind ("deploy", "task-definition", "service", ...) -> file path relative to the repo
    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.env.name}/{self.name}"

    @cached_property
    def digest(self) -> str:
        """The content digest of the task definition (computed once: it is used by every pass)."""
        from controller.core.digest import task_definition_digest  # digest needs this module

        return task_definition_digest(self.task_definition)

    @property
    def service_name(self) -> str:
        if self.service is not None:
            return str(self.service["serviceName"])
        return self.name

    @property
    def cluster(self) -> str:
        return self.env.cluster


@dataclass(frozen=True)
class RepoState:
    """The whole config repository at one commit, after loading and validation.

    ``services`` holds the valid services only; ``invalid`` maps each broken service
    (ENV/SERVICE) to its problems; ``problems`` lists every problem, including those
    that belong to no single service (a broken environment.yaml, a stray file).
    """

    environments: Mapping[str, Environment]
    services: Mapping[str, DesiredService]
    invalid: Mapping[str, tuple[Problem, ...]]
    problems: tuple[Problem, ...]

    def unattached_problems(self, only: str | None = None) -> list[Problem]:
        """Problems that belong to no single service (a broken environment.yaml, a stray file,
        a folder whose name ECS would refuse). With ``--only``, those in its environment."""
        attached = {problem for problems in self.invalid.values() for problem in problems}
        problems = [p for p in self.problems if p not in attached]
        if only:
            env = only.strip("/").split("/", 1)[0]
            problems = [p for p in problems if p.file.startswith(f"{env}/")]
        return sorted(problems)

    def select(self, only: str | None) -> list[str]:
        """Service keys matching an ``--only ENV[/SERVICE]`` selection (valid and invalid)."""
        keys = sorted({*self.services, *self.invalid})
        if not only:
            return keys
        only = only.strip("/")
        if "/" in only:
            return [k for k in keys if k == only]
        return [k for k in keys if k.split("/", 1)[0] == only]
