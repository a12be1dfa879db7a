"""botocore's own retries of AWS calls are counted, and exported as a metric by operation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from prometheus_client import generate_latest

from controller.aws.clients import API_CALLS, clients_for, forget_clients
from controller.core.model import Environment
from controller.localaws import LocalAws
from controller.service.metrics import ControllerMetrics
from tests.conftest import fast_options


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    # botocore's adaptive mode slows a client down after throttling: no later test inherits it
    forget_clients()
    yield
    forget_clients()


def test_throttled_calls_that_botocore_sent_again_are_counted(local_aws: LocalAws) -> None:
    ecs = clients_for(Environment(name="staging", cluster="staging", region="us-east-1")).ecs
    before = API_CALLS.retries().get("ListClusters", 0)
    local_aws.options = replace(fast_options(), throttle={"ListClusters": 2})

    ecs.list_clusters()  # two throttled attempts, then served

    assert API_CALLS.retries().get("ListClusters", 0) - before == 2
    text = generate_latest(ControllerMetrics().registry).decode()
    line = next(
        row
        for row in text.splitlines()
        if row.startswith('ecs_gitops_aws_api_retries_total{operation="ListClusters"}')
    )
    assert float(line.rsplit(" ", 1)[1]) == before + 2
