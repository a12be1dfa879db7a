"""The installation: the one place that patches moto, once per process, undone on close."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2.models import FakeTargetGroup

from controller.localaws import LocalAws, SimulationOptions
from controller.localaws.install import install
from controller.localaws.simulation import EcsSimulation

# What the installation replaces, by (class, attribute): a sample of each kind
PATCHED = (
    (EC2ContainerServiceResponse, "create_service"),
    (EC2ContainerServiceResponse, "list_service_deployments"),  # moto has none
    (EC2ContainerServiceBackend, "describe_task_definition"),
    (FakeTargetGroup, "health_for"),
    (NetworkInterface, "private_dns_name"),
)


_ABSENT = object()


def _attributes() -> dict[tuple[type, str], object]:
    return {(owner, name): owner.__dict__.get(name, _ABSENT) for owner, name in PATCHED}


@pytest.fixture
def uninstalled(local_aws: LocalAws) -> Iterator[None]:
    """moto as it is with no installation: the suite's server stopped meanwhile."""
    local_aws.stop()
    try:
        yield
    finally:
        local_aws.start()


@pytest.mark.usefixtures("uninstalled")
def test_install_patches_moto_and_close_gives_its_methods_back() -> None:
    before = _attributes()
    with pytest.raises(AttributeError):
        NetworkInterface.private_dns_name  # noqa: B018 (moto's, as it comes: the fix is ours)

    installation = install(EcsSimulation(SimulationOptions()), lambda: 0.0)
    try:
        during = _attributes()
        assert all(during[key] is not before[key] for key in PATCHED)
    finally:
        installation.close()

    assert _attributes() == before
    installation.close()  # twice does nothing
    assert _attributes() == before


@pytest.mark.usefixtures("uninstalled")
def test_one_installation_at_a_time_per_process() -> None:
    first = install(EcsSimulation(SimulationOptions()), lambda: 0.0)
    try:
        with pytest.raises(RuntimeError, match="already installed"):
            install(EcsSimulation(SimulationOptions()), lambda: 0.0)
    finally:
        first.close()
    install(EcsSimulation(SimulationOptions()), lambda: 0.0).close()  # free again once closed
