"""The ECS simulation on its own, driven by a fake clock: no server, no patching, no waiting.

The simulation takes the time of every call, so a deployment that takes ten simulated minutes is
checked in microseconds, at exact moments. Its data are moto's model objects, made here in a
backend of their own (not moto's global ones) and set up as CreateService's handler leaves them.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from moto.ecs.models import EC2ContainerServiceBackend

from controller.localaws import SimulationOptions
from controller.localaws.simulation import EcsSimulation, datetime_at

START = 1_700_000_000.0
TASK_START = 600.0  # ten minutes of simulated time per task start: nobody could wait for it


@pytest.fixture
def backend() -> EC2ContainerServiceBackend:
    backend = EC2ContainerServiceBackend("eu-west-1", "123456789012")
    backend.create_cluster("staging")
    return backend


def _task_definition(backend: EC2ContainerServiceBackend, image: str) -> str:
    td = backend.register_task_definition(
        "web", [{"name": "web", "image": image, "memory": 128, "essential": True}]
    )
    return str(td.arn)


def _service(
    backend: EC2ContainerServiceBackend, task_definition: str, *, breaker: bool = False
) -> Any:
    """moto's Service as local-aws's CreateService handler leaves it for the simulation."""
    service: Any = backend.create_service(
        "staging", "web", 2, task_definition_str=task_definition, launch_type="EC2"
    )
    service.deployment_configuration = {
        "deploymentCircuitBreaker": {"enable": breaker, "rollback": breaker},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    service.network_configuration = {}
    service.capacity_provider_strategy = []
    service.platform_family = None
    service.enable_execute_command = False
    return service


def _messages(service: Any) -> list[str]:
    return [str(e["message"]) for e in reversed(service.events)]


def test_a_deployment_completes_exactly_when_its_tasks_have_started(
    backend: EC2ContainerServiceBackend,
) -> None:
    simulation = EcsSimulation(SimulationOptions(task_start_seconds=TASK_START))
    service = _service(backend, _task_definition(backend, "web:1"))
    began = time.monotonic()

    simulation.create_service(service, backend, START)
    simulation.advance(START)  # as the server does after each request: the scheduler acts now
    assert (service.pending_count, service.running_count) == (2, 0)
    assert service.deployments[0]["rolloutState"] == "IN_PROGRESS"

    simulation.advance(START + TASK_START - 0.001)
    assert (service.pending_count, service.running_count) == (2, 0)

    simulation.advance(START + TASK_START)
    assert (service.pending_count, service.running_count) == (0, 2)
    assert service.deployments[0]["rolloutState"] == "COMPLETED"
    steady = service.events[0]
    assert steady["message"] == "(service web) has reached a steady state."
    assert steady["createdAt"] == datetime_at(START + TASK_START)
    record = simulation.service_deployments.of_service(service.arn)[0]
    assert record.status == "SUCCESSFUL"
    assert record.finished_at == START + TASK_START
    assert time.monotonic() - began < 5.0  # ten simulated minutes, no real ones


def test_the_circuit_breaker_trips_and_rolls_back_on_simulated_time(
    backend: EC2ContainerServiceBackend,
) -> None:
    simulation = EcsSimulation(
        SimulationOptions(task_start_seconds=TASK_START, fail_images=("*:broken",))
    )
    good = _task_definition(backend, "web:1")
    service = _service(backend, good, breaker=True)
    simulation.create_service(service, backend, START)
    simulation.advance(START)  # as the server does after each request: the scheduler acts now
    simulation.advance(START + TASK_START)
    assert service.deployments[0]["rolloutState"] == "COMPLETED"

    bumped = START + 2 * TASK_START
    service.task_definition = _task_definition(backend, "web:broken")
    sim = simulation.service_sim(service)
    assert sim is not None
    simulation.update_service(sim, bumped, new_deployment=True)
    simulation.advance(bumped)
    # broken tasks start (one task start), then exit (another): two failures, the breaker
    # (threshold 3 for two tasks) still holds
    simulation.advance(bumped + 2 * TASK_START)
    assert service.deployments[0]["failedTasks"] == 2
    assert service.deployments[0]["rolloutState"] == "IN_PROGRESS"

    # the replacements fail in turn: the third failure trips it, the rollback then completes
    simulation.advance(bumped + 10 * TASK_START)
    messages = _messages(service)
    assert any(m.endswith("deployment failed: tasks failed to start.") for m in messages)
    assert any(m.startswith("(service web) rolling back to deployment") for m in messages)
    assert service.task_definition == good
    assert [d["taskDefinition"] for d in service.deployments] == [good]
    assert service.deployments[0]["rolloutState"] == "COMPLETED"
    assert service.running_count == 2
    newest = simulation.service_deployments.of_service(service.arn)
    failed = next(r for r in newest if r.status != "SUCCESSFUL")
    assert failed.status == "ROLLBACK_SUCCESSFUL"
    assert failed.breaker_triggered
    assert failed.rollback is not None
    assert "circuit breaker" in failed.rollback["reason"]
