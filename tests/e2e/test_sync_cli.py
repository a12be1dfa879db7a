"""`ecs-gitops sync` end to end: the real CLI, local-aws, and a bare git repository on disk."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import boto3
import yaml

from controller.localaws import LocalAws, SimulationOptions
from tests.e2e.support import Workspace, git


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def live(name: str) -> dict[str, Any]:
    return ecs().describe_services(cluster="staging", services=[name])["services"][0]


def image_of(task_definition_arn: str) -> str:
    definition = ecs().describe_task_definition(taskDefinition=task_definition_arn)[
        "taskDefinition"
    ]
    return str(definition["containerDefinitions"][0]["image"])


def revisions(family: str) -> list[str]:
    return list(ecs().list_task_definitions(familyPrefix=family)["taskDefinitionArns"])


def status(ws: Workspace, key: str) -> dict[str, Any]:
    return ws.status(key)


def marker(ws: Workspace, key: str) -> dict[str, Any] | None:
    return ws.marker(key)


def synced(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    result = ws.sync(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_first_sync_creates_every_service_and_commits_status(workspace: Workspace) -> None:
    config_commit = workspace.remote_head()
    result = synced(workspace)

    for name, count in (("web", 2), ("worker", 1), ("api", 1)):
        service = live(name)
        assert service["status"] == "ACTIVE"
        assert service["runningCount"] == count
        (primary,) = service["deployments"]
        assert primary["rolloutState"] == "COMPLETED"
        st = status(workspace, f"staging/{name}")
        assert st["result"] == "Synced"
        assert st["commit"] == config_commit
        assert st["taskDefinitionArn"] == service["taskDefinition"]
        assert f"staging/{name}" in result.stdout
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.26"

    autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/staging/api"]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    policies = autoscaling.describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId="service/staging/api"
    )
    assert [p["PolicyName"] for p in policies["ScalingPolicies"]] == ["cpu60"]

    # status commits only, by ecs-gitops, touching only .ecs-gitops/: the rollouts' claims
    # (Progressing, visible to everyone while they run; those made at once share a commit),
    # then one with their outcomes
    commits = git(workspace.remote, "rev-list", f"{config_commit}..main").splitlines()
    assert 2 <= len(commits) <= 4, commits
    for commit in commits:
        files = git(workspace.remote, "show", "--name-only", "--format=", commit).splitlines()
        assert files and all(f.startswith(".ecs-gitops/") for f in files)
        assert git(workspace.remote, "log", "-1", "--format=%an", commit) == "ecs-gitops"
        trailer = "%(trailers:key=Ecs-Gitops-Controller,valueonly)"
        assert git(workspace.remote, "log", "-1", f"--format={trailer}", commit)
    assert "claimed" in git(workspace.remote, "log", "-1", "--format=%B", commits[-1])
    assert "claimed" not in git(workspace.remote, "log", "-1", "--format=%B", commits[0])


def test_second_sync_without_change_registers_nothing_and_commits_nothing(
    workspace: Workspace,
) -> None:
    synced(workspace)
    head = workspace.remote_head()
    before = {f: revisions(f) for f in ("staging-web", "staging-worker", "staging-api")}
    deployments = {n: [d["id"] for d in live(n)["deployments"]] for n in ("web", "worker", "api")}

    result = synced(workspace)

    assert workspace.remote_head() == head
    assert {f: revisions(f) for f in before} == before
    assert {n: [d["id"] for d in live(n)["deployments"]] for n in deployments} == deployments
    assert "Synced (in-sync" in result.stdout


def test_image_bump_rolls_out_and_the_status_records_its_commit(workspace: Workspace) -> None:
    synced(workspace)
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    bump = workspace.commit_and_push("web: nginx 1.27")

    result = synced(workspace)

    service = live("web")
    assert image_of(service["taskDefinition"]) == "nginx:1.27"
    assert service["taskDefinition"].endswith(":2")
    (primary,) = service["deployments"]
    assert primary["rolloutState"] == "COMPLETED"
    st = status(workspace, "staging/web")
    assert (st["result"], st["commit"], st["taskDefinitionArn"]) == (
        "Synced",
        bump,
        service["taskDefinition"],
    )
    assert "nginx:1.26 -> nginx:1.27" in result.stdout
    # ECS events are streamed while waiting, and only this rollout's, not the last one's again
    assert result.stdout.count("staging/web: ECS: (service web) has reached a steady state.") == 1
    # the other services did not move
    assert live("worker")["taskDefinition"].endswith(":1")


def test_circuit_breaker_rollback_is_rolled_back_held_and_undone_by_revert(
    workspace: Workspace,
) -> None:
    synced(workspace)
    good = live("web")["taskDefinition"]
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")
    bad = workspace.commit_and_push("web: broken image")

    result = workspace.sync()

    assert result.returncode == 1, result.stdout + result.stderr
    assert live("web")["taskDefinition"] == good
    st = status(workspace, "staging/web")
    assert st["result"] == "RolledBack"
    mark = marker(workspace, "staging/web")
    assert mark is not None
    assert mark["failedCommit"] == bad
    assert mark["restoredTaskDefinitionArn"] == good
    assert mark["reason"]
    assert mark["at"]

    # the next pass does not try the failed state again: no deploy loop
    revisions_before = revisions("staging-web")
    deployment = [d["id"] for d in live("web")["deployments"]]
    held = workspace.sync()
    assert held.returncode == 0, held.stdout + held.stderr
    assert "not retried" in held.stdout
    assert revisions("staging-web") == revisions_before
    assert [d["id"] for d in live("web")["deployments"]] == deployment
    assert marker(workspace, "staging/web") is not None

    # git revert of the bad commit brings back the very revision that ran before
    workspace.pull()
    git(workspace.clone, "revert", "--no-edit", bad)
    workspace.push()
    synced(workspace)
    assert live("web")["taskDefinition"] == good
    assert revisions("staging-web") == revisions_before
    assert marker(workspace, "staging/web") is None
    assert status(workspace, "staging/web")["result"] == "Synced"


def test_bad_image_without_circuit_breaker_times_out_and_is_rolled_back(
    workspace: Workspace,
) -> None:
    synced(workspace)
    good = live("worker")["taskDefinition"]
    workspace.pull()
    workspace.replace("staging/worker/deploy.yaml", "busybox:1.36", "busybox:broken")
    bad = workspace.commit_and_push("worker: broken image")

    result = workspace.sync()

    assert result.returncode == 1, result.stdout + result.stderr
    assert live("worker")["taskDefinition"] == good
    assert status(workspace, "staging/worker")["result"] == "RolledBack"
    mark = marker(workspace, "staging/worker")
    assert mark is not None
    assert mark["failedCommit"] == bad
    assert "timed out" in mark["reason"]
    # web was untouched by worker's failure
    assert status(workspace, "staging/web")["result"] == "Synced"


def test_commit_pushed_during_a_rollout_survives_next_to_the_status_commit(
    workspace: Workspace, local_aws: LocalAws
) -> None:
    synced(workspace)
    # slow tasks, so that the rollout is still running when someone else pushes
    local_aws.options = SimulationOptions(task_start_seconds=2.0)
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.commit_and_push("web: nginx 1.27")
    args = [
        "sync",
        "--repo",
        str(workspace.remote),
        "--workdir",
        str(workspace.workdir),
        "--poll-interval",
        "0.2",
    ]
    controller = subprocess.Popen(
        [sys.executable, "-m", "controller", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(live("web")["deployments"]) < 2:
        assert time.monotonic() < deadline, "the rollout never started"
        assert controller.poll() is None, controller.communicate()[0]
        time.sleep(0.05)

    # someone else pushes while the controller waits for ECS
    workspace.write("README.md", "Config for the staging services.\n")
    theirs = workspace.commit_and_push("docs: a README")

    output, _ = controller.communicate(timeout=120)
    assert controller.returncode == 0, output
    head = workspace.remote_head()
    assert head != theirs
    git(workspace.remote, "merge-base", "--is-ancestor", theirs, head)
    files = git(workspace.remote, "show", "--name-only", "--format=", head).splitlines()
    assert files and all(f.startswith(".ecs-gitops/") for f in files)
    assert workspace.remote_file("README.md") == "Config for the staging services."
    assert status(workspace, "staging/web")["result"] == "Synced"


def test_invalid_service_is_reported_while_a_valid_change_deploys(workspace: Workspace) -> None:
    synced(workspace)
    api_before = live("api")["taskDefinition"]
    workspace.pull()
    workspace.replace("staging/api/service.yaml", "desiredCount: 1", "desiredCount: two")
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.commit_and_push("web: nginx 1.27; api: a typo")

    result = workspace.sync()

    assert result.returncode == 1, result.stdout + result.stderr
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
    assert status(workspace, "staging/web")["result"] == "Synced"
    api = status(workspace, "staging/api")
    assert api["result"] == "Invalid"
    assert "staging/api/service.yaml:" in api["message"]
    assert live("api")["taskDefinition"] == api_before


def test_drift_is_reported_without_self_heal_and_repaired_with_it(workspace: Workspace) -> None:
    synced(workspace)
    # someone scales the service in the console
    ecs().update_service(cluster="staging", service="web", desiredCount=3)

    reported = synced(workspace)
    assert live("web")["desiredCount"] == 3
    st = status(workspace, "staging/web")
    assert st["result"] == "OutOfSync"
    assert "desiredCount" in st["message"]
    assert "OutOfSync" in reported.stdout

    workspace.pull()
    workspace.replace("staging/environment.yaml", "selfHeal: false", "selfHeal: true")
    workspace.commit_and_push("staging: self-heal")
    synced(workspace)
    assert live("web")["desiredCount"] == 2
    assert status(workspace, "staging/web")["result"] == "Synced"


def test_auto_off_reports_only_unless_only_names_the_service(workspace: Workspace) -> None:
    synced(workspace)
    workspace.pull()
    workspace.replace("staging/environment.yaml", "auto: true", "auto: false")
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.commit_and_push("staging: manual sync; web: nginx 1.27")

    synced(workspace)
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.26"
    st = status(workspace, "staging/web")
    assert st["result"] == "OutOfSync"
    assert "sync.auto is off" in st["message"]

    # naming the service explicitly is the manual sync
    synced(workspace, "--only", "staging/web")
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
    assert status(workspace, "staging/web")["result"] == "Synced"


def test_a_removed_folder_is_left_alone_without_prune_and_deleted_with_it(
    workspace: Workspace,
) -> None:
    synced(workspace)
    workspace.pull()
    git(workspace.clone, "rm", "-q", "-r", "staging/worker")
    workspace.commit_and_push("worker: retire")

    synced(workspace)
    assert live("worker")["status"] == "ACTIVE"
    st = status(workspace, "staging/worker")
    assert st["result"] == "OutOfSync"
    assert "prune is off" in st["message"]

    workspace.pull()
    workspace.replace("staging/environment.yaml", "prune: false", "prune: true")
    workspace.commit_and_push("staging: prune")
    synced(workspace)
    assert live("worker")["status"] in ("DRAINING", "INACTIVE")
    assert workspace.remote_file(".ecs-gitops/status/staging/worker.yaml") is None
    assert live("web")["status"] == "ACTIVE"


def test_status_goes_to_the_status_branch_and_the_tracked_branch_is_untouched(
    workspace: Workspace,
) -> None:
    config_commit = workspace.remote_head()
    synced(workspace, "--status-branch", "ecs-gitops-status")
    assert workspace.remote_head() == config_commit
    text = git(workspace.remote, "show", "ecs-gitops-status:.ecs-gitops/status/staging/web.yaml")
    assert yaml.safe_load(text)["commit"] == config_commit
    # the status branch holds only .ecs-gitops/
    files = git(workspace.remote, "ls-tree", "-r", "--name-only", "ecs-gitops-status").splitlines()
    assert files and all(f.startswith(".ecs-gitops/") for f in files)


def test_only_limits_the_pass_to_one_service(workspace: Workspace) -> None:
    result = synced(workspace, "--only", "staging/web")
    assert live("web")["status"] == "ACTIVE"
    assert "staging/worker" not in result.stdout
    services = ecs().describe_services(cluster="staging", services=["worker"])["services"]
    assert not services or services[0]["status"] == "INACTIVE"


def test_status_that_could_not_be_pushed_is_pushed_by_the_next_pass(workspace: Workspace) -> None:
    synced(workspace)
    revisions_before = revisions("staging-web")
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")
    bad = workspace.commit_and_push("web: broken image")
    # the remote refuses every push while the controller deploys
    hook = workspace.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'refused for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)

    refused = workspace.sync()

    assert refused.returncode == 1
    assert "next pass pushes it" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert marker(workspace, "staging/web") is None  # not pushed yet

    hook.unlink()
    held = synced(workspace)
    # the rollback marker was not lost: the failed state is not tried again, and it lands now
    assert "not retried" in held.stdout
    assert len(revisions("staging-web")) == len(revisions_before) + 1  # only the failed one
    mark = marker(workspace, "staging/web")
    assert mark is not None and mark["failedCommit"] == bad
    assert status(workspace, "staging/web")["result"] == "RolledBack"


def test_a_service_the_controller_creates_carries_its_folders_owner_tag(
    workspace: Workspace,
) -> None:
    synced(workspace)
    ecs = boto3.client("ecs", region_name="us-east-1")
    (web,) = ecs.describe_services(cluster="staging", services=["web"], include=["TAGS"])[
        "services"
    ]
    assert {"key": "ecs-gitops.owner", "value": "staging/web"} in web["tags"]
    # and the tag is the controller's business: the next pass sees nothing to change
    again = synced(workspace)
    assert "Synced (in-sync" in again.stdout


def test_only_naming_nothing_is_an_error_not_an_empty_pass(workspace: Workspace) -> None:
    result = workspace.sync("--only", "staging/nothing")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "--only staging/nothing: no such environment or service" in result.stderr
    assert "Traceback" not in result.stderr


def test_sync_says_what_belongs_to_no_service(workspace: Workspace) -> None:
    workspace.write("production/web/deploy.yaml", "strategy: rolling\n")
    workspace.commit_and_push("a service in a folder that is no environment yet")

    result = workspace.sync()

    assert result.returncode == 0, result.stdout + result.stderr  # the others are fine
    assert "not deployed: production/web/deploy.yaml:1:" in result.stdout, result.stdout


def test_a_tag_removed_in_git_is_removed_from_the_service_once(workspace: Workspace) -> None:
    with (workspace.clone / "staging/web/service.yaml").open("a") as service:
        service.write("tags:\n  - {key: team, value: web}\n  - {key: cost, value: shop}\n")
    workspace.commit_and_push("web: two tags")
    synced(workspace)
    workspace.replace("staging/web/service.yaml", "  - {key: cost, value: shop}\n", "")
    workspace.commit_and_push("web: the cost tag goes")

    synced(workspace)

    ecs = boto3.client("ecs", region_name="us-east-1")
    (web,) = ecs.describe_services(cluster="staging", services=["web"], include=["TAGS"])[
        "services"
    ]
    keys = {t["key"] for t in web["tags"]}
    assert "cost" not in keys and "team" in keys, web["tags"]
    # and it stays done: no update on every pass
    again = synced(workspace)
    assert "staging/web: Synced (in-sync" in again.stdout, again.stdout


def test_drift_without_self_heal_stays_reported_pass_after_pass(workspace: Workspace) -> None:
    synced(workspace)
    ecs().update_service(cluster="staging", service="web", desiredCount=3)

    for _ in range(3):
        synced(workspace)
        # never repaired: the OutOfSync status remembers which desired state is applied
        assert live("web")["desiredCount"] == 3
        st = status(workspace, "staging/web")
        assert st["result"] == "OutOfSync" and "selfHeal is off" in st["message"], st

    # a change in git is still a change in git, and is deployed
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.commit_and_push("web: nginx:1.27")
    synced(workspace)
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
    assert status(workspace, "staging/web")["result"] == "Synced"


def test_a_git_change_held_by_auto_off_is_deployed_once_auto_is_on(workspace: Workspace) -> None:
    synced(workspace)
    workspace.pull()
    workspace.replace("staging/environment.yaml", "auto: true", "auto: false")
    workspace.commit_and_push("staging: manual sync")
    synced(workspace)
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    workspace.commit_and_push("web: nginx:1.27, held")
    synced(workspace)
    synced(workspace)  # twice OutOfSync: the held change is not mistaken for drift
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.26"

    workspace.pull()
    workspace.replace("staging/environment.yaml", "auto: false", "auto: true")
    workspace.commit_and_push("staging: automatic again")
    synced(workspace)
    assert image_of(live("web")["taskDefinition"]) == "nginx:1.27"
