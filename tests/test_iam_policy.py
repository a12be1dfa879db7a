"""examples/controller/iam-policy.json lists exactly the AWS actions the controller calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
# attribute of AwsClients -> (boto3 service, IAM prefix)
CLIENTS = {
    "ecs": ("ecs", "ecs"),
    "autoscaling": ("application-autoscaling", "application-autoscaling"),
    "elbv2": ("elbv2", "elasticloadbalancing"),
    "cloudwatch": ("cloudwatch", "cloudwatch"),
    "sts": ("sts", "sts"),
    # run --lease-table: the lease table (controller/service/leases.py)
    "dynamodb": ("dynamodb", "dynamodb"),
}
# not called through a client method: PassRole is checked by AWS when a task definition names
# roles, AssumeRole when an environment sets roleArn
IMPLIED = {"iam:PassRole", "sts:AssumeRole"}


def actions_in_code() -> set[str]:
    used: set[str] = set()
    for path in (ROOT / "controller").rglob("*.py"):
        if "localaws" in path.parts:
            continue  # the embedded AWS stand-in is not the controller
        text = path.read_text()
        for attribute, (service, prefix) in CLIENTS.items():
            client = boto3.client(service, region_name="us-east-1")
            mapping = client.meta.method_to_api_mapping
            for method in re.findall(rf"\.{attribute}\.([a-z_]+)\(", text):
                if method in mapping:
                    used.add(f"{prefix}:{mapping[method]}")
            for method in re.findall(rf"\.{attribute}\.get_paginator\(\s*\"([a-z_]+)\"", text):
                used.add(f"{prefix}:{mapping[method]}")
    return used


def test_the_policy_lists_exactly_the_actions_the_code_calls() -> None:
    policy = json.loads((ROOT / "examples" / "controller" / "iam-policy.json").read_text())
    listed = {
        action
        for statement in policy["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    used = actions_in_code()
    assert "ecs:UpdateService" in used  # the scan itself works
    assert used - listed == set(), "called but not allowed"
    assert listed - used - IMPLIED == set(), "allowed but never called"
