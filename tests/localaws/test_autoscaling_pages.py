"""Application Auto Scaling's reads page as AWS pages them: every item once, opaque tokens.

DescribeScalableTargets returns at most 50 targets a page (MaxResults 1 to 50, default 50),
DescribeScalingPolicies at most 10 policies (1 to 10, default 10); a paginated read ends.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller.localaws import LocalAws
from tests.localaws.support import Network, register

SERVICES = 160


@pytest.fixture
def autoscaling(local_aws: LocalAws) -> Any:
    return boto3.client("application-autoscaling")


@pytest.fixture
def resource_ids(ecs: Any, cluster: str, network: Network, autoscaling: Any) -> list[str]:
    """SERVICES services of ``cluster``, each with a scalable target and one scaling policy."""
    register(ecs, "web", "registry.example/web:1")
    ids = []
    for i in range(SERVICES):
        name = f"svc{i}"
        ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition="web",
            desiredCount=0,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": network.subnets,
                    "securityGroups": [network.security_group],
                }
            },
        )
        resource_id = f"service/{cluster}/{name}"
        autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=resource_id,
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=0,
            MaxCapacity=2,
        )
        autoscaling.put_scaling_policy(
            PolicyName="cpu",
            ServiceNamespace="ecs",
            ResourceId=resource_id,
            ScalableDimension="ecs:service:DesiredCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                },
            },
        )
        ids.append(resource_id)
    return ids


def test_scalable_targets_page_to_the_end_each_once(
    autoscaling: Any, resource_ids: list[str]
) -> None:
    pages = list(
        autoscaling.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="ecs")
    )

    seen = [t["ResourceId"] for page in pages for t in page["ScalableTargets"]]
    assert sorted(seen) == sorted(resource_ids)
    assert [len(page["ScalableTargets"]) for page in pages] == [50, 50, 50, 10]
    assert "NextToken" not in pages[-1]


def test_scalable_targets_page_by_max_results(autoscaling: Any, resource_ids: list[str]) -> None:
    pages = autoscaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="ecs", PaginationConfig={"PageSize": 7}
    )

    seen = [t["ResourceId"] for page in pages for t in page["ScalableTargets"]]
    assert sorted(seen) == sorted(resource_ids)


def test_scalable_targets_refuse_more_than_50_a_page(
    autoscaling: Any, resource_ids: list[str]
) -> None:
    with pytest.raises(ClientError) as refused:
        autoscaling.describe_scalable_targets(ServiceNamespace="ecs", MaxResults=51)
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_scaling_policies_page_to_the_end_each_once(
    autoscaling: Any, resource_ids: list[str]
) -> None:
    pages = list(
        autoscaling.get_paginator("describe_scaling_policies").paginate(ServiceNamespace="ecs")
    )

    seen = [p["ResourceId"] for page in pages for p in page["ScalingPolicies"]]
    assert sorted(seen) == sorted(resource_ids)
    assert {len(page["ScalingPolicies"]) for page in pages} == {10}


def test_scaling_policies_of_one_resource_only(autoscaling: Any, resource_ids: list[str]) -> None:
    # svc1 is within svc15: the resource is matched whole, not as a substring
    answer = autoscaling.describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=resource_ids[15]
    )

    assert [p["ResourceId"] for p in answer["ScalingPolicies"]] == [resource_ids[15]]
