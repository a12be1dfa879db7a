"""``run --log-format json`` and notifications end to end: the CLI as a subprocess, local-aws,
a bare git remote, and real HTTP receivers on loopback (a webhook, a GitHub-API-shaped one,
one that answers 500 and one that never answers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.controllers import Controller, bump_web, first_pass_done, metric, status_is
from tests.e2e.support import Workspace
from tests.service.receiver import Receiver

TOKEN = "ghp_e2eTokenValue0123456789"


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.close()


def messages(hook: Receiver, service: str) -> list[dict[str, Any]]:
    return [b for b in hook.bodies() if b["service"] == service]


def test_json_logs_webhook_messages_and_github_statuses_for_a_push_and_a_rollback(
    workspace: Workspace,
    controllers: list[Controller],
    receivers: list[Receiver],
    tmp_path: Path,
) -> None:
    hook, api = Receiver(), Receiver()
    receivers += [hook, api]
    token = tmp_path / "github-token"
    token.write_text(TOKEN + "\n")
    controller = Controller(
        workspace,
        "--log-format", "json",
        "--notify", f"{hook.url}/hook",
        "--github-token-file", str(token),
        "--github-api-url", api.url,
        "--github-repository", "acme/config",
    )  # fmt: skip
    controllers.append(controller)
    first_pass_done(controller, workspace)

    good = bump_web(workspace)
    controller.wait_until(
        "the push is deployed",
        lambda: status_is(workspace, "staging/web", commit=good, results=("Synced",)),
    )
    workspace.pull()
    workspace.replace("staging/web/deploy.yaml", "nginx:1.27", "nginx:broken")
    broken = workspace.commit_and_push("web: a broken image")
    controller.wait_until(
        "the broken push is rolled back",
        lambda: status_is(workspace, "staging/web", commit=broken, results=("RolledBack",)),
    )
    controller.wait_until(
        "the rollback is told",
        lambda: any(m["commit"] == broken for m in messages(hook, "web")),
    )
    controller.wait_until(
        "the rollback's commit status",
        lambda: any(r.path.endswith(broken) and r.body["state"] == "failure" for r in api.received),
    )
    _, scraped = controller.get("/metrics")
    assert controller.stop() == 0

    # one message per rolled-back and synced rollout, with env, service, commit and reason
    web = [(m["event"], m["commit"]) for m in messages(hook, "web")]
    assert web.count(("synced", good)) == 1, web
    assert web.count(("rolled-back", broken)) == 1, web
    [rolled_back] = [m for m in messages(hook, "web") if m["commit"] == broken]
    assert (rolled_back["env"], rolled_back["result"]) == ("staging", "RolledBack")
    # the reason is the status file's message (which names the cause ECS saw)
    assert rolled_back["reason"] == workspace.status("staging/web")["message"], rolled_back
    assert rolled_back["strategy"] == "rolling" and rolled_back["kind"] == "ecs-gitops.rollout"
    assert rolled_back["controller"]
    assert metric(scraped, "ecs_gitops_notifications_total", target="webhook", result="sent")

    # GitHub: pending when each rollout starts, then success or failure, on its config commit
    states = {
        sha: [
            r.body["state"] for r in api.received if r.path == f"/repos/acme/config/statuses/{sha}"
        ]
        for sha in (good, broken)
    }
    assert states == {good: ["pending", "success"], broken: ["pending", "failure"]}, states
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api.received)
    assert {r.body["context"] for r in api.received} >= {"ecs-gitops/staging/web"}

    # every line of the log is JSON with an event; the well-known ones carry their fields
    lines = [json.loads(line) for line in controller.lines if line.strip()]
    assert all("event" in line for line in lines), [x for x in lines if "event" not in x]
    events = {line["event"] for line in lines}
    for wanted in (
        "controller-started",
        "pass-requested",
        "pass-started",
        "pass-finished",
        "rollout-started",
        "ecs-event",
        "rollout-finished",
        "status-committed",
    ):
        assert wanted in events, (wanted, sorted(events))
    finished = [x for x in lines if x["event"] == "pass-finished"]
    assert all(x["commit"] and "durationSeconds" in x for x in finished)

    def of_web(event: str, commit: str) -> list[dict[str, Any]]:
        return [
            x
            for x in lines
            if x["event"] == event and x.get("service") == "web" and x.get("commit") == commit
        ]

    [started] = of_web("rollout-started", broken)
    assert (started["env"], started["strategy"]) == ("staging", "rolling")
    [ended] = of_web("rollout-finished", broken)
    assert ended["result"] == "RolledBack" and ended["durationSeconds"] > 0
    assert ended["strategy"] == "rolling"
    assert of_web("ecs-event", broken), "ECS's events of the rollout name its commit"
    [synced] = of_web("rollout-finished", good)
    assert synced["result"] == "Synced"
    assert TOKEN not in controller.output


def test_a_failing_or_hanging_receiver_delays_no_rollout(
    workspace: Workspace, controllers: list[Controller], receivers: list[Receiver]
) -> None:
    failing, hanging = Receiver(answer=500), Receiver(hang=True)
    receivers += [failing, hanging]
    # the hanging one comes from environment.yaml, the failing one from the command line
    workspace.write(
        "staging/environment.yaml",
        workspace.read("staging/environment.yaml")
        + f"notify:\n  - url: {hanging.url}/ecs\n    on: [synced, rolled-back]\n",
    )
    workspace.commit_and_push("staging: notify")
    controller = Controller(workspace, "--notify", f"{failing.url}/secret-path")
    controllers.append(controller)
    first_pass_done(controller, workspace)
    controller.wait_until("the hanging receiver holds a request", lambda: hanging.holding >= 1)

    bump = bump_web(workspace)
    # the status lands while the receiver still holds its request unanswered
    controller.wait_until(
        "the push is deployed",
        lambda: status_is(workspace, "staging/web", commit=bump, results=("Synced",)),
    )
    assert hanging.holding >= 1
    controller.wait_until("the failing receiver was tried", lambda: bool(failing.received))

    def failed() -> bool:
        _, scraped = controller.get("/metrics")
        return bool(
            metric(scraped, "ecs_gitops_notifications_total", target="webhook", result="failed")
        )

    controller.wait_until("a failed delivery is counted", failed)
    assert controller.stop() == 0
    assert "notification failed:" in controller.output
    # the receiver is named by its host: a webhook URL's path is its secret
    assert f"to {failing.url}: HTTP 500" in controller.output
    assert "secret-path" not in controller.output
    assert "Traceback" not in controller.output
