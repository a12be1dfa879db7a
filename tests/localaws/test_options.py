"""Image globs and the reset between tests."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from controller.localaws import LocalAws, SimulationOptions


@pytest.mark.parametrize(
    ("image", "fails"),
    [
        ("registry.example/web:broken", True),
        ("web:broken", True),
        ("registry.example/web:broken-2", False),
        ("registry.example/web:1", False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc", False),
    ],
)
def test_fail_glob_matches_the_full_image_reference(image: str, fails: bool) -> None:
    options = SimulationOptions(fail_images=("*:broken",))
    assert options.fails(image) is fails
    assert options.stuck(image) is False


def test_several_globs_any_matches() -> None:
    options = SimulationOptions(stuck_images=("*:stuck", "registry.example/slow/*"))
    assert options.stuck("registry.example/slow/web:1")
    assert options.stuck("web:stuck")
    assert not options.stuck("registry.example/web:1")


def test_reset_wipes_moto_and_the_simulation(local_aws: LocalAws, ecs: Any) -> None:
    ecs.create_cluster(clusterName="staging")
    boto3.client("s3").create_bucket(Bucket="artifacts")

    local_aws.reset()

    assert ecs.list_clusters()["clusterArns"] == []
    assert boto3.client("s3").list_buckets()["Buckets"] == []
