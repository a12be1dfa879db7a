"""Rollout test fixtures: the staging environment of local-aws and a local http probe target."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.localaws import LocalAws
from tests.strategies.support import Probe, Stage, make_stage, serving_probe


@pytest.fixture
def stage(local_aws: LocalAws) -> Stage:
    return make_stage(local_aws)


@pytest.fixture
def probe() -> Iterator[Probe]:
    with serving_probe() as served:
        yield served
