"""ECS service names that two folders would both use, and tags that claim the controller's role.

Each folder owns the ECS service names it creates in its cluster: its ``serviceName``, a canary's
``<serviceName>Canary``, a blue-green service's generations ``<serviceName>__<N>``. When two
folders would use one name in one cluster, a rollout of one would update or delete the other's
service. Both places are reported, each naming the other's FILE:LINE; the folder whose rollout
would touch the other's service is invalid (both, when both would: two serviceNames). Clusters are compared as far as
the config tells them apart: by name, and by region and account when both environments say
them (a cluster ARN, ``region``, ``roleArn``); the same name with a region left unsaid may be the
same cluster. Two folders of one environment sharing a ``serviceName`` are reported by the
layout's own check, not again here.

A service.yaml may not set the owner tag itself (it marks which folder owns a service).

Purely computational.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from controller.core.documents import Document
from controller.core.model import DesiredService, Environment, Problem
from controller.core.ownership import (
    GENERATION_SEPARATOR,
    OWNER_TAG,
    generation_base,
)
from controller.core.strategy_traits import Runs
from controller.strategies.descriptions import describe


@dataclass(frozen=True)
class ClusterId:
    """A cluster as far as an environment.yaml identifies it: None is "not said"."""

    name: str
    region: str | None = None
    account: str | None = None

    @staticmethod
    def of(env: Environment) -> ClusterId:
        """``cluster`` (a name or an ARN), ``region`` and the account of ``roleArn``."""
        region, account, name = env.region, _account_of(env.role_arn), env.cluster
        if name.startswith("arn:"):
            # arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME
            parts = name.split(":", 5)
            if len(parts) == 6:
                region = parts[3] or region
                account = parts[4] or account
                name = parts[5].split("/", 1)[-1]
        return ClusterId(name=name, region=region, account=account)

    def may_be(self, other: ClusterId) -> bool:
        """Whether the config allows both to be one cluster."""
        return (
            self.name == other.name
            and _may_equal(self.region, other.region)
            and _may_equal(self.account, other.account)
        )


def _may_equal(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b


def _account_of(role_arn: str | None) -> str | None:
    # arn:PARTITION:iam::ACCOUNT:role/NAME
    parts = (role_arn or "").split(":")
    return (parts[4] or None) if len(parts) > 4 else None


class Use(StrEnum):
    """How a folder uses a name."""

    SERVICE = "service"
    CANARY = "canary"
    GENERATIONS = "blue-green generations"


@dataclass(frozen=True)
class _Claim:
    """One name (or, for blue-green generations, one ``<base>__<N>`` family) a folder uses."""

    key: str
    name: str
    use: Use
    cluster: ClusterId
    defaulted: bool  # serviceName not written: the folder name
    # service.yaml's serviceName line (when defaulted, the line of the document itself)
    file: str
    line: int

    @property
    def shown(self) -> str:
        if self.use is Use.GENERATIONS:
            return f"{self.name}{GENERATION_SEPARATOR}<N>"
        return self.name

    def subject(self) -> str:
        if self.use is Use.CANARY:
            return f"the canary service {self.shown} of this canary deploy"
        if self.use is Use.GENERATIONS:
            return f"the blue-green services {self.shown} of this deploy"
        return f"serviceName {self.name}" + (" (the folder name)" if self.defaulted else "")

    def owner(self) -> str:
        location = f"{self.file}:{self.line}"
        if self.use is Use.CANARY:
            return f"the canary service {self.shown} of {self.key} ({location})"
        if self.use is Use.GENERATIONS:
            return f"the blue-green services {self.shown} of {self.key} ({location})"
        return f"the service {self.name} of {self.key} ({location})"


def name_clashes(
    services: Mapping[str, DesiredService], documents: Mapping[str, Mapping[str, Document]]
) -> dict[str, list[Problem]]:
    """Problems by the key of the service they make invalid (a problem may lie in another's file).

    Two folders' serviceNames (or two helpers' names) clash both ways: both are invalid. A
    helper's name (a canary, blue-green generations) clashing with another folder's serviceName
    makes only the helper's folder invalid, the one whose rollout would touch the other's
    service: that service goes on being deployed, and the problem is reported at both places.
    """
    found: dict[str, list[Problem]] = defaultdict(list)
    claims = [claim for key in sorted(services) for claim in _claims(services[key], documents)]
    for a, b in _clashing_pairs(claims):
        cluster = a.cluster.name
        if (a.use is Use.SERVICE) == (b.use is Use.SERVICE):
            for mine, theirs in ((a, b), (b, a)):
                found[mine.key].append(
                    Problem(
                        mine.file,
                        mine.line,
                        f"{mine.subject()} is also {theirs.owner()} in cluster {cluster}: "
                        "a rollout of one would change or delete the other's service; rename one",
                    )
                )
            continue
        helper, service = (b, a) if a.use is Use.SERVICE else (a, b)
        found[helper.key] += [
            Problem(
                helper.file,
                helper.line,
                f"{helper.subject()} is also {service.owner()} in cluster {cluster}: "
                f"{helper.key} is not deployed until one is renamed (its rollout would change "
                "or delete that service)",
            ),
            Problem(
                service.file,
                service.line,
                f"{service.subject()} is also {helper.owner()} in cluster {cluster}: "
                f"{helper.key} is not deployed until one is renamed ({service.key} still is)",
            ),
        ]
    for key in sorted(services):
        service_doc = documents.get(key, {}).get("service")
        if service_doc is not None:
            found[key].extend(_owner_tag_set_by_hand(service_doc))
    return {key: problems for key, problems in found.items() if problems}


def _claims(
    desired: DesiredService, documents: Mapping[str, Mapping[str, Document]]
) -> list[_Claim]:
    doc = documents.get(desired.key, {}).get("service")
    if desired.service is None or doc is None:
        return []  # a job: it creates no service
    written = isinstance(doc.value, dict) and "serviceName" in doc.value
    line = doc.line(("serviceName",))
    cluster = ClusterId.of(desired.env)
    name = desired.service_name

    def claim(claimed: str, use: Use) -> _Claim:
        return _Claim(desired.key, claimed, use, cluster, not written, doc.file, line)

    traits = describe(desired.deploy.strategy)
    if traits.runs is Runs.AS_GENERATIONS:
        # the rollout creates only generations; the plain name is never a live service
        return [claim(name, Use.GENERATIONS)]
    return [claim(name, Use.SERVICE), *(claim(h, Use.CANARY) for h in traits.helpers(name))]


def _clashing_pairs(claims: list[_Claim]) -> Iterator[tuple[_Claim, _Claim]]:
    """The first clash of each pair of folders: one name in what may be one cluster.

    Claims come in key order, each folder's serviceName before its helpers, so a pair of
    folders is reported by their most direct clash.
    """
    exact: dict[tuple[str, str], list[_Claim]] = defaultdict(list)
    families: dict[tuple[str, str], list[_Claim]] = defaultdict(list)
    for c in claims:
        table = families if c.use is Use.GENERATIONS else exact
        table[(c.cluster.name, c.name)].append(c)
    seen: set[frozenset[str]] = set()
    for c in claims:
        if c.use is Use.GENERATIONS:
            others = families[(c.cluster.name, c.name)]
        else:
            others = list(exact[(c.cluster.name, c.name)])
            base = generation_base(c.name)
            if base is not None:
                others += families[(c.cluster.name, base)]
        for other in others:
            if other.key == c.key or not c.cluster.may_be(other.cluster):
                continue
            if c.use is other.use and c.key.split("/")[0] == other.key.split("/")[0]:
                continue  # one environment's shared serviceName: the layout reports it
            folders = frozenset((c.key, other.key))
            if folders not in seen:
                seen.add(folders)
                yield c, other


def _owner_tag_set_by_hand(doc: Document) -> list[Problem]:
    tags = doc.value.get("tags") if isinstance(doc.value, dict) else None
    return [
        doc.problem(
            ("tags", i, "key"),
            f"tag {OWNER_TAG} is the controller's own (it marks which folder owns a service): "
            "remove it",
        )
        for i, tag in enumerate(tags if isinstance(tags, list) else ())
        if isinstance(tag, dict) and tag.get("key") == OWNER_TAG
    ]
