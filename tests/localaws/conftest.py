"""Fixtures for the local-aws tests: boto3 clients and moto's default network on the embedded AWS.

The server itself (``local_aws``: one per process, reset for each test, with AWS_* pointing at it)
comes from the suite-wide ``tests/conftest.py``.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws
from tests.localaws.support import Network


@pytest.fixture
def ecs(local_aws: LocalAws) -> Any:
    return boto3.client("ecs")


@pytest.fixture
def ec2(local_aws: LocalAws) -> Any:
    return boto3.client("ec2")


@pytest.fixture
def elbv2(local_aws: LocalAws) -> Any:
    return boto3.client("elbv2")


@pytest.fixture
def network(ec2: Any) -> Network:
    """moto's default VPC, its default subnets and default security group."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0][
        "VpcId"
    ]
    subnets = [
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    ]
    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    return Network(subnets=subnets[:2], security_group=group, vpc=vpc)


@pytest.fixture
def cluster(ecs: Any) -> str:
    ecs.create_cluster(clusterName="staging")
    return "staging"
