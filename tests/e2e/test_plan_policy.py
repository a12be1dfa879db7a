"""examples/ci/plan-policy.json lists exactly the AWS actions ``plan`` calls, and reads only.

``plan`` runs in this process against local-aws over repositories that take every path of its
live read (autoscaling, a revision the status files do not know, the account check of
``--allowed-accounts``, a blue-green prod listener), and the calls it made are compared with
the policy. The two calls no local repository can make are listed below with why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from controller.aws import live
from controller.aws.clients import API_CALLS, forget_clients
from controller.cli import main
from tests.e2e.support import DATA, Workspace, network, publish
from tests.e2e.test_bluegreen_cli import bluegreen  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent.parent
POLICY = ROOT / "examples" / "ci" / "plan-policy.json"
# boto3 service -> IAM prefix
SERVICES = {
    "ecs": "ecs",
    "application-autoscaling": "application-autoscaling",
    "elbv2": "elasticloadbalancing",
    "sts": "sts",
}
# calls plan makes on paths local-aws cannot take, and the code that makes them
NOT_TAKEN = {
    # a blue-green route named by a listener rule (prodListenerRuleArn)
    "elasticloadbalancing:DescribeRules": ("controller/aws/elb.py", ".describe_rules("),
    # an environment with roleArn (moto lets any role be assumed, but no example names one)
    "sts:AssumeRole": ("controller/aws/clients.py", ".assume_role("),
}


def listed() -> set[str]:
    policy = json.loads(POLICY.read_text())
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def iam_actions(operations: set[str]) -> set[str]:
    found: set[str] = set()
    for operation in operations:
        for service, prefix in SERVICES.items():
            model = boto3.client(service, region_name="us-east-1").meta.service_model
            if operation in model.operation_names:
                found.add(f"{prefix}:{operation}")
    return found


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """No client or described revision cached in this process from an earlier test."""
    forget_clients()
    live.TASK_DEFINITIONS.clear()  # revisions are cached by ARN per process
    yield
    live.TASK_DEFINITIONS.clear()


def plan(checkout: Path, *args: str) -> int:
    return main(["plan", str(checkout), "--format", "json", *args])


def test_the_policy_lists_exactly_what_plan_calls(
    tmp_path: Path,
    bluegreen: tuple[Workspace, dict[str, str]],  # noqa: F811 (the fixture, used)
    fresh_clients: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # tests/data/sync-repo beside the blue-green repository (the cluster exists: theirs)
    subnet, group = network(boto3.client("sts").meta.endpoint_url)
    (tmp_path / "sync").mkdir()
    workspace = publish(
        DATA / "sync-repo", tmp_path / "sync", {"SUBNET": subnet, "SECURITY_GROUP": group}
    )
    synced = workspace.sync()
    assert synced.returncode == 0, synced.stdout + synced.stderr
    workspace.pull()
    API_CALLS.reset()
    # a revision no status file records: described
    workspace.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    account = boto3.client("sts").get_caller_identity()["Account"]
    assert plan(workspace.clone, "--allowed-accounts", account) == 2
    blue_green, _ = bluegreen
    assert plan(blue_green.clone) == 2
    capsys.readouterr()

    made = iam_actions(set(API_CALLS.by_operation()))
    assert {"ecs:DescribeTaskDefinition", "sts:GetCallerIdentity", "ecs:ListServices"} <= made
    assert made.isdisjoint(NOT_TAKEN)
    for action, (path, call) in NOT_TAKEN.items():
        assert call in (ROOT / path).read_text(), f"{action} is no longer called"
    assert listed() == made | set(NOT_TAKEN)


def test_the_policy_only_reads() -> None:
    for action in listed() - {"sts:AssumeRole"}:
        assert action.split(":")[1].startswith(("Describe", "List", "Get")), action
