"""Several ``run`` processes on one repository through DynamoDB leases (``--lease-table``).

Real processes, local-aws (ECS and DynamoDB), a bare git remote. Leases of 3 s, renewed every
second, so that a takeover is a matter of seconds. ECS deployments are counted with
ListServiceDeployments and task definition revisions: a commit deployed twice would show.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws, SimulationOptions
from tests.conftest import fast_options
from tests.e2e.controllers import Controller, image_of, metric, status_is
from tests.e2e.support import DATA, Workspace, git, network, publish

TABLE = "ecs-gitops-leases"
LEASE_SECONDS = 3.0
DEADLINE = 60.0


def config(tmp_path: Path, local_aws: LocalAws, envs: list[str]) -> Workspace:
    """A repository of one ``web`` service in each of ``envs``, each on its own cluster."""
    subnet, group = network(local_aws.endpoint_url)
    ecs = boto3.client("ecs", region_name="us-east-1")
    source = tmp_path / "source"
    web = DATA / "sync-repo" / "staging" / "web"
    for env in envs:
        ecs.create_cluster(clusterName=env)
        shutil.copytree(web, source / env / "web")
        definition = source / env / "web" / "task-definition.yaml"
        definition.write_text(
            definition.read_text().replace("family: staging-web", f"family: {env}-web")
        )
        (source / env / "environment.yaml").write_text(
            (DATA / "sync-repo" / "staging" / "environment.yaml")
            .read_text()
            .replace("cluster: staging", f"cluster: {env}")
        )
    return publish(source, tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})


def start(started: list[Controller], ws: Workspace, name: str) -> Controller:
    controller = Controller(
        ws,
        "--workdir", str(ws.workdir.parent / f"workdir-{name}"),
        "--lease-table", TABLE, "--lease-seconds", f"{LEASE_SECONDS}s",
    )  # fmt: skip
    started.append(controller)
    return controller


def wait(what: str, condition: Callable[[], bool], *alive: Controller) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        for c in alive:
            assert c.process.poll() is None, f"a controller exited: {c.output}"
        output = "\n---\n".join(c.output for c in alive)
        assert time.monotonic() < deadline, f"never happened: {what}\n{output}"
        time.sleep(0.05)


def leases() -> dict[str, dict[str, Any]]:
    """Lease items by unit (members left out)."""
    items = boto3.client("dynamodb", region_name="us-east-1").scan(
        TableName=TABLE, ConsistentRead=True
    )["Items"]
    return {i["lease"]["S"]: i for i in items if not i["lease"]["S"].startswith("member#")}


def holder(unit: str) -> str | None:
    """The live holder of ``unit`` (None when free or expired)."""
    item = leases().get(unit)
    if item is None or int(item["expiresAt"]["N"]) < time.time() * 1000:
        return None
    return str(item["holder"]["S"])


def holder_is(unit: str, controller: Controller) -> bool:
    found = holder(unit)
    return found is not None and f"-{controller.process.pid}-" in found


def deployments(env: str) -> int:
    """ECS service deployments of ``env``'s web (one per UpdateService that changed it)."""
    ecs = boto3.client("ecs", region_name="us-east-1")
    answer = ecs.list_service_deployments(cluster=env, service="web")
    return len(answer["serviceDeployments"])


def revisions(env: str) -> int:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return len(ecs.list_task_definitions(familyPrefix=f"{env}-web")["taskDefinitionArns"])


def live_web(env: str) -> dict[str, Any]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return dict(ecs.describe_services(cluster=env, services=["web"])["services"][0])


def synced(ws: Workspace, envs: list[str], commit: str) -> Callable[[], bool]:
    return lambda: all(
        status_is(ws, f"{env}/web", commit=commit, results=("Synced",)) for env in envs
    )


def bump(ws: Workspace, envs: list[str], image: str = "nginx:1.27") -> str:
    ws.pull()
    for env in envs:
        ws.replace(f"{env}/web/deploy.yaml", "nginx:1.26", image)
    return ws.commit_and_push(f"web: {image} in {', '.join(envs)}")


def status_commits(ws: Workspace, since: str) -> list[str]:
    """Full messages of the commits on the remote's main after ``since`` touching status."""
    out = git(ws.remote, "log", "--format=%B%x00", f"{since}..main", "--", ".ecs-gitops/status")
    return [m.strip() for m in out.split("\x00") if m.strip()]


def test_three_controllers_share_four_environments_and_deploy_a_push_once(
    tmp_path: Path, local_aws: LocalAws, controllers: list[Controller]
) -> None:
    envs = ["dev", "production", "qa", "staging"]
    ws = config(tmp_path, local_aws, envs)
    first = ws.remote_head()
    started = [start(controllers, ws, name) for name in ("a", "b", "c")]
    wait("every service is created", synced(ws, envs, first), *started)

    def shared() -> bool:
        held = {unit: holder(unit) for unit in envs}
        return None not in held.values() and len(set(held.values())) >= 2

    wait("the environments are shared out", shared, *started)
    before = {env: (deployments(env), revisions(env)) for env in envs}

    pushed = bump(ws, envs)
    wait("the push is deployed everywhere", synced(ws, envs, pushed), *started)

    for env in envs:
        assert image_of(live_web(env)["taskDefinition"]) == "nginx:1.27"
        # exactly one UpdateService (one service deployment, one new revision) per environment
        assert (deployments(env), revisions(env)) == (before[env][0] + 1, before[env][1] + 1)
        holders = [c for c in started if holder_is(env, c)]
        assert len(holders) == 1, env
    # every controller says which leases it holds; each environment is named by exactly one
    ready = [c.get("/readyz")[1] for c in started]
    for env in envs:
        assert sum(f" {env} (token" in text for text in ready) == 1, ready
    # and /metrics: the leases held, the handovers the sharing out caused, renewal latency
    texts = [c.get("/metrics")[1] for c in started]
    for env in envs:
        assert sum(metric(text, "ecs_gitops_lease_held", unit=env) or 0 for text in texts) == 1
    assert sum(metric(text, "ecs_gitops_lease_handovers_total") or 0 for text in texts) >= 1
    assert all(
        (metric(text, "ecs_gitops_lease_renewal_duration_seconds_count", result="ok") or 0) > 0
        for text in texts
        if "ecs_gitops_lease_held{" in text
    )
    for c in started:
        assert c.stop() == 0, c.output


def test_kill_9_of_the_holder_mid_rollout_another_takes_over_and_finishes_it_once(
    tmp_path: Path, local_aws: LocalAws, controllers: list[Controller]
) -> None:
    ws = config(tmp_path, local_aws, ["staging"])
    first = ws.remote_head()
    a = start(controllers, ws, "a")
    wait("a holds staging", lambda: holder_is("staging", a), a)
    b = start(controllers, ws, "b")
    wait("web is created", synced(ws, ["staging"], first), a, b)
    before = (deployments("staging"), revisions("staging"))

    local_aws.options = SimulationOptions(task_start_seconds=8.0)
    pushed = bump(ws, ["staging"])
    wait(
        "the rollout is under way and recorded in the lease table",
        lambda: (
            len(live_web("staging")["deployments"]) > 1
            and "rollout:staging/web" in leases()["staging"]
        ),
        a,
    )
    assert a.stop(signal.SIGKILL) == -signal.SIGKILL
    killed = time.monotonic()
    local_aws.options = fast_options()

    wait("b takes over staging", lambda: holder_is("staging", b), b)
    # within the lease plus one renewal interval (and some slack for a busy machine)
    assert time.monotonic() - killed < LEASE_SECONDS + LEASE_SECONDS / 3 + 3.0
    wait("b finishes the rollout", synced(ws, ["staging"], pushed), b)
    assert "resuming the rollout" in b.output
    assert image_of(live_web("staging")["taskDefinition"]) == "nginx:1.27"
    assert (deployments("staging"), revisions("staging")) == (before[0] + 1, before[1] + 1)
    assert "rollout:staging/web" not in leases()["staging"]
    assert b.stop() == 0, b.output


def test_a_holder_frozen_past_its_lease_makes_no_write_and_no_status_commit_when_resumed(
    tmp_path: Path, local_aws: LocalAws, controllers: list[Controller]
) -> None:
    ws = config(tmp_path, local_aws, ["staging"])
    first = ws.remote_head()
    a = start(controllers, ws, "a")
    wait("a holds staging", lambda: holder_is("staging", a), a)
    b = start(controllers, ws, "b")
    wait("web is created", synced(ws, ["staging"], first), a, b)
    old_token = int(leases()["staging"]["token"]["N"])
    before = (deployments("staging"), revisions("staging"))

    local_aws.options = SimulationOptions(task_start_seconds=8.0)
    pushed = bump(ws, ["staging"])
    wait(
        "the rollout is under way and recorded in the lease table",
        lambda: (
            len(live_web("staging")["deployments"]) > 1
            and "rollout:staging/web" in leases()["staging"]
        ),
        a,
    )
    frozen_at = ws.remote_head()
    a.process.send_signal(signal.SIGSTOP)
    try:
        local_aws.options = fast_options()
        wait("b takes over staging", lambda: holder_is("staging", b), b)
        new_token = int(leases()["staging"]["token"]["N"])
        assert new_token > old_token
        wait("b finishes the rollout", synced(ws, ["staging"], pushed), b)
    finally:
        a.process.send_signal(signal.SIGCONT)
    deployed = (deployments("staging"), revisions("staging"))

    # a wakes with its rollout of staging under way: it finds its lease gone and stops there
    a.wait_for_line("lost the lease of staging")
    time.sleep(LEASE_SECONDS)  # time for anything a would still send or commit

    assert (deployments("staging"), revisions("staging")) == deployed
    assert deployed == (before[0] + 1, before[1] + 1)
    commits = status_commits(ws, frozen_at)
    assert commits, "b committed the status of the rollout it finished"
    for message in commits:
        assert f"Ecs-Gitops-Lease: staging={new_token}" in message, message
        assert f"Ecs-Gitops-Lease: staging={old_token}" not in message, message
    assert status_is(ws, "staging/web", commit=pushed, results=("Synced",))
    assert ws.status("staging/web")["details"]["lease"] == f"staging={new_token}"
    for c in (a, b):
        assert c.stop() == 0, c.output


@pytest.fixture(autouse=True)
def _no_leftover_table(local_aws: LocalAws) -> None:
    """local-aws is reset between tests: each test's table is created on demand."""
