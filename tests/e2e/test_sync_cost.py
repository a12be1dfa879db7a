"""What a reconcile pass costs in AWS calls: a no-op pass, a commit-triggered pass, and
rollouts of different environments running side by side. In-process, against local-aws."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from controller.aws import live
from controller.aws.clients import API_CALLS, forget_clients
from controller.commands.plan import build_plans, recorded_digests
from controller.core.outcome import Result
from controller.reconcile import PassReport
from controller.source.tree import load_path
from tests.e2e.support import Workspace, pass_in_process


@pytest.fixture
def synced(workspace: Workspace) -> Iterator[Workspace]:
    """The workspace after a first sync: every service created and its status recorded."""
    done = workspace.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    forget_clients()
    # revisions are cached by ARN per process; local-aws is reset between tests
    live.TASK_DEFINITIONS.clear()
    yield workspace
    live.TASK_DEFINITIONS.clear()


def run(ws: Workspace, **options: object) -> tuple[PassReport, dict[str, int], list[str]]:
    result, calls, lines = pass_in_process(ws, **options)
    return result, calls, lines


def test_a_no_op_pass_describes_services_in_batches_and_no_task_definition(
    synced: Workspace,
) -> None:
    result, calls, _ = run(synced)

    assert {r.key for r in result.results} == {"staging/api", "staging/web", "staging/worker"}
    assert all(r.outcome.result == Result.SYNCED for r in result.results)
    assert result.status_commit is None
    # 3 services in one cluster: one DescribeServices; the recorded digests prove the
    # task definitions unchanged; autoscaling read once for the account and region
    assert calls.get("DescribeServices") == 1
    assert "DescribeTaskDefinition" not in calls
    assert calls.get("DescribeScalableTargets") == 1
    assert set(calls) <= {"DescribeServices", "DescribeScalableTargets", "DescribeScalingPolicies"}


def test_a_commit_triggered_pass_looks_only_at_what_the_commit_touched(
    synced: Workspace,
) -> None:
    since = synced.remote_head()
    synced.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    synced.commit_and_push("web: nginx 1.27")

    result, calls, _ = run(synced, since=since, touched_only=True)

    assert [r.key for r in result.results] == ["staging/web"]
    assert result.results[0].outcome.result == Result.SYNCED
    assert calls.get("UpdateService") == 1
    assert calls.get("RegisterTaskDefinition") == 1
    # api and worker were not looked at: a full pass would also read api's scaling policies
    assert "DescribeScalingPolicies" not in calls

    # nothing changed since: the next commit-triggered pass does nothing at all
    result, calls, _ = run(synced, since=synced.remote_head(), touched_only=True)
    assert result.results == []
    assert calls == {}


def test_rollouts_in_different_environments_run_side_by_side(synced: Workspace) -> None:
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="prod")
    env = synced.read("staging/environment.yaml").replace("cluster: staging", "cluster: prod")
    synced.write("prod/environment.yaml", env)
    for name in ("deploy.yaml", "task-definition.yaml", "service.yaml"):
        text = synced.read(f"staging/web/{name}").replace("staging-web", "prod-web")
        synced.write(f"prod/web/{name}", text)
    synced.commit_and_push("prod/web")
    first, _, _ = run(synced)
    assert first.exit_code == 0

    for key in ("staging/web", "prod/web"):
        synced.replace(f"{key}/deploy.yaml", "nginx:1.26", "nginx:1.27")
    synced.commit_and_push("web: nginx 1.27 everywhere")

    # one rollout at a time per environment: the two environments still go side by side
    result, _, lines = run(synced, parallel=1)

    assert result.exit_code == 0
    starts = [i for i, line in enumerate(lines) if "updating service" in line]
    ends = [i for i, line in enumerate(lines) if ": Synced (update" in line]
    assert len(starts) == 2, lines
    assert ends and max(starts) < min(ends), lines


def test_plan_of_a_checkout_trusts_the_digests_its_status_files_record(synced: Workspace) -> None:
    synced.pull()  # the controller's status commit, with every service's revisions
    state = load_path(synced.clone)
    known = recorded_digests(synced.clone)
    assert len(known) == 3
    API_CALLS.reset()

    plans = build_plans(state, state.select(None), known_digests=known)

    assert {str(p.action) for p in plans} == {"in-sync"}
    assert "DescribeTaskDefinition" not in API_CALLS.by_operation()

    # a changed image is still seen: its digest is not the recorded one
    synced.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    state = load_path(synced.clone)
    plans = build_plans(state, ["staging/web"], known_digests=known)
    assert [str(c) for c in plans[0].task_definition_changes] == [
        "containerDefinitions[web].image: nginx:1.26 -> nginx:1.27"
    ]
