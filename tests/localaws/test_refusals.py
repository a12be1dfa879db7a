"""local-aws refuses the ECS calls its options name: throttling, then server errors, then serves."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from controller.localaws import LocalAws, SimulationOptions

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _code(call: object) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()  # type: ignore[operator]
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_named_calls_are_throttled_then_fail_then_served(local_aws: LocalAws) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1", config=NO_RETRY)
    ecs.create_cluster(clusterName="staging")
    local_aws.options = SimulationOptions(
        throttle={"ListClusters": 2}, server_errors={"ListClusters": 1}
    )
    assert _code(ecs.list_clusters) == ("ThrottlingException", 400)
    assert _code(ecs.list_clusters) == ("ThrottlingException", 400)
    assert _code(ecs.list_clusters)[1] == 500
    assert ecs.list_clusters()["clusterArns"]
    ecs.describe_clusters(clusters=["staging"])  # other operations were never refused


def test_a_call_can_be_refused_for_one_cluster_only(local_aws: LocalAws) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1", config=NO_RETRY)
    for name in ("staging", "prod"):
        ecs.create_cluster(clusterName=name)
    local_aws.options = SimulationOptions(throttle={"DescribeServices/prod": 100})
    assert ecs.describe_services(cluster="staging", services=["web"])["failures"]
    arn = ecs.describe_clusters(clusters=["prod"])["clusters"][0]["clusterArn"]
    for cluster in ("prod", arn):
        assert _code(lambda c=cluster: ecs.describe_services(cluster=c, services=["web"]))[0] == (
            "ThrottlingException"
        )
