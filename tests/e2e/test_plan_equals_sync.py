"""What `ecs-gitops plan` says a pass decides is what the next `ecs-gitops sync` does.

One table: for each situation (held by a marker, auto off, drift with selfHeal off, a refused
replacement, a service blocked by a failed runBefore job, a change to apply, nothing to do),
`plan --format json` runs on the user's checkout, then `sync` runs, and each service's decision
is checked against what sync did: apply -> sync said the very reason and the service changed in
ECS; held, report-only, refused, blocked -> sync's status line carries the very reason and
nothing was sent; in-sync -> nothing was sent. tests/data/decision-repo: ``web`` (rolling) and
``migrate`` (a run-task job, runBefore web).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import DATA, Workspace, network, publish, run_cli

WEB, JOB = "staging/web", "staging/migrate"


@pytest.fixture
def ws(tmp_path: Path, local_aws: LocalAws) -> Iterator[Workspace]:
    subnet, group = network(local_aws.endpoint_url)
    ecs().create_cluster(clusterName="staging")
    yield publish(DATA / "decision-repo", tmp_path, {"SUBNET": subnet, "SECURITY_GROUP": group})


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def sync(ws: Workspace, expect: int) -> subprocess.CompletedProcess[str]:
    done = ws.sync()
    assert done.returncode == expect, done.stdout + done.stderr
    return done


def change(ws: Workspace, edits: list[tuple[str, str, str]]) -> None:
    ws.pull()
    for path, old, new in edits:
        ws.replace(path, old, new)
    ws.commit_and_push("change: " + ", ".join(path for path, _, _ in edits))


def live() -> dict[str, Any]:
    """What a pass could have changed in ECS: web's service, every revision, every job task."""
    (web,) = ecs().describe_services(cluster="staging", services=["web"])["services"]
    revisions = ecs().list_task_definitions()["taskDefinitionArns"]
    tasks = ecs().list_tasks(cluster="staging", family="staging-migrate", desiredStatus="STOPPED")
    return {
        "web": {k: web.get(k) for k in ("taskDefinition", "desiredCount", "launchType")},
        "web deployments": sorted(d["id"] for d in web["deployments"]),
        "revisions": sorted(revisions),
        "job tasks": sorted(tasks["taskArns"]),
    }


# ---- the situations, each brought about after a first sync created everything ----


def nothing(ws: Workspace) -> None:
    """Nothing changed since the last pass."""


def new_image(ws: Workspace) -> None:
    change(ws, [("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")])


def failed_image(ws: Workspace) -> None:
    # ECS's circuit breaker fails it: rolled back, with a marker holding that desired state
    change(ws, [("staging/web/deploy.yaml", "nginx:1.26", "nginx:broken")])
    sync(ws, expect=1)


def auto_off(ws: Workspace) -> None:
    change(
        ws,
        [
            ("staging/environment.yaml", "auto: true", "auto: false"),
            ("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27"),
        ],
    )


def drift(ws: Workspace) -> None:
    # someone scales the service in the console
    ecs().update_service(cluster="staging", service="web", desiredCount=1)


def replacement(ws: Workspace) -> None:
    change(ws, [("staging/web/service.yaml", "launchType: FARGATE", "launchType: EC2")])


def failed_job(ws: Workspace) -> None:
    # the job fails (and leaves a marker); web, changed in the same commit, is not deployed
    change(
        ws,
        [
            ("staging/migrate/deploy.yaml", "busybox:1.36", "busybox:broken"),
            ("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27"),
        ],
    )
    sync(ws, expect=1)


@dataclass(frozen=True)
class Case:
    situation: Callable[[Workspace], None]
    decisions: dict[str, str]  # what plan must decide, per service
    sync_exit: int  # what the sync after it exits with


CASES = {
    "apply": Case(new_image, {WEB: "apply", JOB: "in-sync"}, 0),
    "in-sync": Case(nothing, {WEB: "in-sync", JOB: "in-sync"}, 0),
    "held by a marker": Case(failed_image, {WEB: "held", JOB: "in-sync"}, 0),
    "auto off": Case(auto_off, {WEB: "report-only", JOB: "in-sync"}, 0),
    "drift with selfHeal off": Case(drift, {WEB: "report-only", JOB: "in-sync"}, 0),
    "refused replacement": Case(replacement, {WEB: "refused", JOB: "in-sync"}, 0),
    "blocked by a failed runBefore job": Case(failed_job, {WEB: "blocked", JOB: "held"}, 0),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_plan_says_what_sync_then_does(ws: Workspace, case: Case) -> None:
    sync(ws, expect=0)  # creates web, runs the job
    case.situation(ws)
    ws.pull()  # the checkout a pull request's plan runs on, status files and markers included

    planned = run_cli("plan", str(ws.clone), "--format", "json")
    assert planned.returncode in (0, 2), planned.stdout + planned.stderr
    entries = {s["key"]: s for s in json.loads(planned.stdout)["services"]}
    assert {key: s["decision"] for key, s in entries.items()} == case.decisions
    before, head = live(), ws.remote_head()

    done = sync(ws, expect=case.sync_exit)

    after = live()
    lines = done.stdout.splitlines()
    for key, entry in entries.items():
        decision, reason = entry["decision"], entry["reason"]
        (summary,) = [line for line in lines if line.startswith(f"{key}: ")]
        if decision == "apply":
            assert f"  {key}: {reason}" in lines, done.stdout
            assert summary.startswith(f"{key}: Synced ("), summary
        elif decision == "in-sync":
            assert summary.startswith(f"{key}: Synced (in-sync, "), summary
        else:
            assert summary.endswith(f") {reason}"), (summary, reason)
            assert not any(line.startswith(f"  {key}: ") for line in lines), done.stdout
    if "apply" in case.decisions.values():
        assert after["web"] != before["web"]
        assert after["web deployments"] != before["web deployments"]
    else:
        assert after == before, "nothing may be sent to ECS"
    if set(case.decisions.values()) == {"in-sync"}:
        assert ws.remote_head() == head, "a pass with nothing to do commits nothing"
