"""`ecs-gitops sync` end to end with the canary and run-task strategies, runBefore and verify.

The real CLI as a subprocess, local-aws, and tests/data/strategies-repo in a bare git remote:
``migrate`` (run-task, runBefore web), ``web`` (rolling) and ``shop`` (canary, autoscaled).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, network, publish


@pytest.fixture
def ws(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    subnet, group = network(local_aws.endpoint_url)
    ecs().create_cluster(clusterName="staging")
    yield publish(DATA / "strategies-repo", tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def live(name: str) -> dict[str, Any] | None:
    services = ecs().describe_services(cluster="staging", services=[name])["services"]
    active = [s for s in services if s["status"] == "ACTIVE"]
    return dict(active[0]) if active else None


def image_of(task_definition_arn: str) -> str:
    definition = ecs().describe_task_definition(taskDefinition=task_definition_arn)
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def job_tasks() -> list[dict[str, Any]]:
    arns = ecs().list_tasks(cluster="staging", family="staging-migrate", desiredStatus="STOPPED")
    if not arns["taskArns"]:
        return []
    return list(ecs().describe_tasks(cluster="staging", tasks=arns["taskArns"])["tasks"])


def status(ws: Workspace, key: str) -> dict[str, Any]:
    return ws.status(key)


def marker(ws: Workspace, key: str) -> dict[str, Any] | None:
    return ws.marker(key)


def sync(ws: Workspace, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = ws.sync()
    assert result.returncode == expect, result.stdout + result.stderr
    return result


def change(ws: Workspace, edits: list[tuple[str, str, str]], message: str) -> None:
    ws.pull()
    for path, old, new in edits:
        ws.replace(path, old, new)
    ws.commit_and_push(message)


def test_the_job_runs_before_its_service_and_once_per_change(ws: Workspace) -> None:
    first = sync(ws)

    (task,) = job_tasks()
    web = live("web")
    assert web is not None
    # the job had stopped before web was even created
    assert task["stoppedAt"] <= web["createdAt"]
    out = first.stdout
    assert out.index("staging/migrate: Synced") < out.index("staging/web: create")
    st = status(ws, "staging/migrate")
    assert st["result"] == "Synced"
    assert st["strategy"] == "run-task"
    (reported,) = st["details"]["tasks"]
    assert reported["exitCodes"] == {"migrate": 0}

    # nothing changed: the job does not run again
    again = sync(ws)
    assert len(job_tasks()) == 1
    assert "staging/migrate: Synced (in-sync" in again.stdout

    # only run-task.yaml changed (same task definition): a new desired state, so it runs
    change(ws, [("staging/migrate/run-task.yaml", "count: 1", "count: 2")], "migrate: 2 tasks")
    sync(ws)
    assert len(job_tasks()) == 3
    assert (
        len(ecs().list_task_definitions(familyPrefix="staging-migrate")["taskDefinitionArns"]) == 1
    )


def test_a_failed_job_is_reported_with_its_exit_code_and_blocks_its_service(
    ws: Workspace,
) -> None:
    sync(ws)
    web_before = live("web")
    assert web_before is not None
    change(
        ws,
        [
            ("staging/migrate/deploy.yaml", "busybox:1.36", "busybox:broken"),
            ("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27"),
        ],
        "migrate and web together",
    )

    result = sync(ws, expect=1)

    st = status(ws, "staging/migrate")
    assert st["result"] == "Failed"
    assert "container migrate exited 1" in st["message"]
    failed_task = [t for t in st["details"]["tasks"] if t["exitCodes"] == {"migrate": 1}]
    assert failed_task and failed_task[0]["stoppedReason"] == "Essential container in task exited"
    mark = marker(ws, "staging/migrate")
    assert mark is not None and "exited 1" in mark["reason"]
    web = status(ws, "staging/web")
    assert web["result"] == "OutOfSync"
    assert (
        "not deployed" in web["message"]
        and "staging/migrate (runBefore) is Failed" in web["message"]
    )
    after = live("web")
    assert after is not None and after["taskDefinition"] == web_before["taskDefinition"]
    assert "staging/web: update" not in result.stdout

    # the failed job is held by its marker: not rerun, and web stays blocked
    tasks = len(job_tasks())
    again = sync(ws)
    assert len(job_tasks()) == tasks
    assert "staging/migrate: Failed (held" in again.stdout and "not retried" in again.stdout
    assert status(ws, "staging/migrate")["result"] == "Failed"
    assert status(ws, "staging/web")["result"] == "OutOfSync"
    assert "staging/web: OutOfSync" in again.stdout


def test_a_canary_promotes_and_autoscaling_stays_on_the_service(ws: Workspace) -> None:
    sync(ws)
    change(ws, [("staging/shop/deploy.yaml", "nginx:1.26", "nginx:1.27")], "shop: nginx 1.27")

    result = sync(ws)

    shop = live("shop")
    assert shop is not None and image_of(shop["taskDefinition"]) == "nginx:1.27"
    assert live("shopCanary") is None
    st = status(ws, "staging/shop")
    assert st["result"] == "Synced" and st["message"].startswith("canary passed")
    assert "creating canary shopCanary" in result.stdout
    autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert [t["ResourceId"] for t in targets] == ["service/staging/shop"]


def test_a_failing_canary_leaves_the_service_untouched_and_a_marker(ws: Workspace) -> None:
    sync(ws)
    before = live("shop")
    assert before is not None
    change(ws, [("staging/shop/deploy.yaml", "nginx:1.26", "nginx:broken")], "shop: broken")

    sync(ws, expect=1)

    after = live("shop")
    assert after is not None
    assert after["taskDefinition"] == before["taskDefinition"]
    assert [d["id"] for d in after["deployments"]] == [d["id"] for d in before["deployments"]]
    assert live("shopCanary") is None
    assert status(ws, "staging/shop")["result"] == "RolledBack"
    mark = marker(ws, "staging/shop")
    assert mark is not None and mark["reason"].startswith("canary shopCanary")


def test_an_alarm_during_verification_rolls_back_and_the_marker_names_it(
    ws: Workspace,
) -> None:
    sync(ws)
    before = live("web")
    assert before is not None
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName="web-5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx seen")
    change(
        ws,
        [
            (
                "staging/web/deploy.yaml",
                "nginx:1.26",
                "nginx:1.27\nverify:\n  alarms: [web-5xx]\n  duration: 30s",
            )
        ],
        "web: nginx 1.27, verified",
    )

    sync(ws, expect=1)

    after = live("web")
    assert after is not None and after["taskDefinition"] == before["taskDefinition"]
    assert status(ws, "staging/web")["result"] == "RolledBack"
    mark = marker(ws, "staging/web")
    assert mark is not None
    assert mark["reason"] == "verification failed: alarm web-5xx is in ALARM (5xx seen)"
