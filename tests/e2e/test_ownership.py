"""The controller never touches an ECS service it does not own: the CLI, local-aws, real git.

Services that bypass the config repository (made by hand with boto3) stand for someone else's.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.core.ownership import OWNER_TAG
from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, git, network, publish, run_cli
from tests.localaws.support import made_by_hand
from tests.strategies.bluegreen_support import Alb, forward

ENVIRONMENT = """\
cluster: shared
region: us-east-1
variables:
  subnet: {subnet}
  securityGroup: {group}
sync:
  auto: {auto}
  prune: true
"""
SERVICE = """\
launchType: FARGATE
desiredCount: 1
networkConfiguration:
  awsvpcConfiguration:
    subnets: ["${subnet}"]
    securityGroups: ["${securityGroup}"]
deploymentConfiguration:
  deploymentCircuitBreaker:
    enable: true
    rollback: true
"""


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def live(name: str) -> dict[str, Any] | None:
    found = ecs().describe_services(cluster="shared", services=[name], include=["TAGS"])
    active = [s for s in found["services"] if s["status"] == "ACTIVE"]
    return dict(active[0]) if active else None


def image_of(service: dict[str, Any]) -> str:
    definition = ecs().describe_task_definition(taskDefinition=service["taskDefinition"])
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def tags_of(service: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in service.get("tags") or ()}


class Repo:
    """A config repository written by the test, published as a bare remote and a clone."""

    def __init__(self, tmp_path: Path, subnet: str, group: str) -> None:
        self.tmp_path, self.subnet, self.group = tmp_path, subnet, group
        self.source = tmp_path / "source"
        self.ws: Workspace | None = None

    def environment(self, name: str, *, auto: bool = True) -> None:
        text = ENVIRONMENT.format(
            subnet=self.subnet, group=self.group, auto="true" if auto else "false"
        )
        self.write(f"{name}/environment.yaml", text)

    def service(self, key: str, *, strategy: str = "rolling", image: str = "nginx:1.26") -> None:
        env, name = key.split("/")
        self.write(f"{key}/deploy.yaml", f"strategy: {strategy}\nimage: {image}\ntimeout: 60s\n")
        self.write(f"{key}/service.yaml", SERVICE)
        self.write(
            f"{key}/task-definition.yaml",
            f"family: {env}-{name}\nnetworkMode: awsvpc\nrequiresCompatibilities: [FARGATE]\n"
            'cpu: "256"\nmemory: "512"\ncontainerDefinitions:\n'
            "  - name: app\n    image: ${image}\n    essential: true\n",
        )

    def write(self, path: str, text: str) -> None:
        if self.ws is None:
            target = self.source / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        else:
            self.ws.write(path, text)

    def publish(self) -> Workspace:
        self.ws = publish(self.source, self.tmp_path, {})
        return self.ws


@pytest.fixture
def repo(tmp_path: Path, local_aws: LocalAws) -> Iterator[Repo]:
    subnet, group = network(local_aws.endpoint_url)
    ecs().create_cluster(clusterName="shared")
    yield Repo(tmp_path, subnet, group)


def sync(ws: Workspace, expect: int) -> subprocess.CompletedProcess[str]:
    result = ws.sync()
    assert result.returncode == expect, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def by_hand(repo: Repo, name: str, *, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A service someone made outside the config repository, on their own task definition."""
    return made_by_hand(
        ecs(), cluster="shared", name=name, subnet=repo.subnet, group=repo.group, tags=tags
    )


def same(name: str, before: dict[str, Any]) -> None:
    """The service is still there, as it was."""
    after = live(name)
    assert after is not None, f"{name} was deleted"
    assert after["taskDefinition"] == before["taskDefinition"]
    assert after["desiredCount"] == before["desiredCount"]


def test_a_folder_named_like_a_canary_is_invalid_and_the_canary_never_touches_it(
    repo: Repo,
) -> None:
    repo.environment("env1")
    repo.service("env1/webCanary")
    ws = repo.publish()
    sync(ws, expect=0)
    before = live("webCanary")
    assert before is not None
    assert ws.status("env1/webCanary")["result"] == "Synced"

    # a canary service "web" arrives next to it
    repo.service("env1/web", strategy="canary")
    ws.commit_and_push("web: a canary service")

    checked = run_cli("validate", str(ws.clone))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    web_line = (
        "env1/web/service.yaml:1: the canary service webCanary of this canary deploy is also "
        "the service webCanary of env1/webCanary (env1/webCanary/service.yaml:1) in cluster shared"
    )
    folder_line = (
        "env1/webCanary/service.yaml:1: serviceName webCanary (the folder name) is also the "
        "canary service webCanary of env1/web (env1/web/service.yaml:1) in cluster shared"
    )
    assert web_line in checked.stdout and folder_line in checked.stdout

    result = sync(ws, expect=1)

    for action in ("creating canary", "updating canary", "deleting canary"):
        assert action not in result.stdout
    web = ws.status("env1/web")
    assert web["result"] == "Invalid"
    assert web_line in web["message"] and folder_line in web["message"]
    assert live("web") is None  # not deployed
    # webCanary: untouched, running and Synced
    same("webCanary", before)
    after = live("webCanary")
    assert after is not None and after["runningCount"] == 1
    assert ws.status("env1/webCanary")["result"] == "Synced"

    # a later change of webCanary itself still deploys
    ws.replace("env1/webCanary/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.commit_and_push("webCanary: nginx 1.27")
    sync(ws, expect=1)  # web is still invalid
    updated = live("webCanary")
    assert updated is not None and image_of(updated) == "nginx:1.27"
    assert ws.status("env1/webCanary")["result"] == "Synced"


def test_a_canary_meeting_someone_elses_service_fails_and_touches_nothing(repo: Repo) -> None:
    repo.environment("env1")
    repo.service("env1/web", strategy="canary")
    ws = repo.publish()
    sync(ws, expect=0)
    main = live("web")
    assert main is not None
    # not in git: validate cannot see it
    foreign = by_hand(repo, "webCanary")
    ws.replace("env1/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    failed_commit = ws.commit_and_push("web: nginx 1.27")

    result = sync(ws, expect=1)

    reason = (
        f"service webCanary exists and is not owned by env1/web (it has no {OWNER_TAG} tag): "
        "not touched"
    )
    assert reason in result.stdout
    status = ws.status("env1/web")
    assert status["result"] == "Failed"
    assert reason in status["message"]
    assert status["taskDefinitionArn"] == main["taskDefinition"]
    marker = ws.marker("env1/web")
    assert marker is not None
    assert marker["reason"] == reason and marker["failedCommit"] == failed_commit
    same("webCanary", foreign)
    assert tags_of(live("webCanary") or {}) == {}
    same("web", main)

    # the next pass does not try again, and still touches nothing
    again = sync(ws, expect=0)  # held, as any failed desired state
    assert "not retried" in again.stdout
    same("webCanary", foreign)
    same("web", main)


def test_prune_refuses_a_service_tagged_as_another_folders(repo: Repo) -> None:
    repo.environment("env1")
    repo.service("env1/web")
    ws = repo.publish()
    sync(ws, expect=0)
    service = live("web")
    assert service is not None
    # another environment's controller says this service is its own
    ecs().tag_resource(
        resourceArn=service["serviceArn"], tags=[{"key": OWNER_TAG, "value": "env2/web"}]
    )
    git(ws.clone, "rm", "-q", "-r", "env1/web")
    ws.commit_and_push("web: retire")

    result = sync(ws, expect=1)

    assert "env1/web: Failed (prune, " in result.stdout
    assert (
        f"prune failed: service web exists and is not owned by env1/web (tag {OWNER_TAG} is "
        "env2/web): not touched" in result.stdout
    )
    same("web", service)
    assert ws.remote_file(".ecs-gitops/status/env1/web.yaml") is not None


def test_prune_refuses_an_untagged_service_the_controller_never_deployed(repo: Repo) -> None:
    repo.environment("env1", auto=False)  # plan only: the controller never deploys here
    repo.service("env1/web")
    ws = repo.publish()
    service = by_hand(repo, "web")
    sync(ws, expect=0)
    assert ws.status("env1/web")["result"] == "OutOfSync"
    git(ws.clone, "rm", "-q", "-r", "env1/web")
    ws.commit_and_push("web: retire")

    result = sync(ws, expect=1)

    assert (
        f"prune failed: service web exists and is not owned by env1/web (it has no {OWNER_TAG} "
        "tag): not touched; its status records no deploy of it" in result.stdout
    )
    same("web", service)


@pytest.mark.parametrize("owner", ["env1/web", "env2/webCanary"], ids=["own", "foreign"])
def test_prune_deletes_a_canary_only_when_the_folder_owns_it(repo: Repo, owner: str) -> None:
    repo.environment("env1")
    repo.service("env1/web", strategy="canary")
    ws = repo.publish()
    sync(ws, expect=0)
    assert live("web") is not None
    # a canary a stopped rollout left behind, or someone else's service of that name
    canary = by_hand(repo, "webCanary", tags=[{"key": OWNER_TAG, "value": owner}])
    git(ws.clone, "rm", "-q", "-r", "env1/web")
    ws.commit_and_push("web: retire")

    result = sync(ws, expect=0)

    assert "env1/web: Synced (prune, " in result.stdout
    assert live("web") is None
    if owner == "env1/web":
        assert live("webCanary") is None
    else:
        same("webCanary", canary)
    assert ws.remote_file(".ecs-gitops/status/env1/web.yaml") is None


def test_two_environments_naming_one_cluster_and_service_do_not_validate(repo: Repo) -> None:
    repo.environment("env1")
    repo.environment("env2")
    repo.service("env1/web")
    repo.service("env2/web")
    ws = repo.publish()

    checked = run_cli("validate", str(ws.clone))

    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert (
        "env1/web/service.yaml:1: serviceName web (the folder name) is also the service web of "
        "env2/web (env2/web/service.yaml:1) in cluster shared: a rollout of one would change "
        "or delete the other's service; rename one"
    ) in lines
    assert (
        "env2/web/service.yaml:1: serviceName web (the folder name) is also the service web of "
        "env1/web (env1/web/service.yaml:1) in cluster shared: a rollout of one would change "
        "or delete the other's service; rename one"
    ) in lines
    result = sync(ws, expect=1)
    assert live("web") is None  # neither deployed it
    assert ws.status("env1/web")["result"] == ws.status("env2/web")["result"] == "Invalid"
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize("tags", [[], [{"key": OWNER_TAG, "value": "env2/web"}]])
def test_prune_of_blue_green_deletes_only_its_own_generations(
    tmp_path: Path, local_aws: LocalAws, tags: list[dict[str, str]]
) -> None:
    ecs().create_cluster(clusterName="staging")
    alb = Alb.create()
    blue, green = alb.target_group("web-blue"), alb.target_group("web-green")
    ws = publish(
        DATA / "bluegreen-repo",
        tmp_path,
        {
            "SUBNET": alb.subnets[0],
            "SECURITY_GROUP": alb.security_group,
            "PROD_LISTENER": alb.listener(80, forward(blue)),
            "STAGE_LISTENER": alb.listener(8080, forward(green)),
        },
    )
    sync(ws, expect=0)  # web__1
    network_configuration = {
        "awsvpcConfiguration": {"subnets": [alb.subnets[0]], "securityGroups": [alb.security_group]}
    }
    family = ecs().register_task_definition(
        family="by-hand",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "httpd:2.4", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    foreign = ecs().create_service(
        cluster="staging",
        serviceName="web__9",
        taskDefinition=family,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network_configuration,
        **({"tags": tags} if tags else {}),
    )["service"]
    ws.replace("staging/environment.yaml", "prune: false", "prune: true")
    git(ws.clone, "rm", "-q", "-r", "staging/web")
    ws.commit_and_push("web: retire")

    sync(ws, expect=0)

    found = ecs().describe_services(cluster="staging", services=["web__1", "web__9"])
    state = {s["serviceName"]: (s["status"], s["desiredCount"]) for s in found["services"]}
    assert state["web__1"][0] in ("DRAINING", "INACTIVE")
    assert state["web__9"] == ("ACTIVE", foreign["desiredCount"])
    assert ws.remote_file(".ecs-gitops/status/staging/web.yaml") is None
