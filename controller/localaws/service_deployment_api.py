"""moto handlers for the service deployments API, answered from the ECS simulation's records.

ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
StopServiceDeployment and ContinueServiceDeployment, which moto does not implement (it answered
HTTP 500). ``handlers`` builds them around a simulation and a clock;
``controller.localaws.install`` puts them into moto with the other handlers. No I/O of its own:
answers come from the simulation's records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.responses import EC2ContainerServiceResponse

from controller.localaws import native_rollout

if TYPE_CHECKING:
    from controller.localaws.simulation import EcsSimulation

Handler = Callable[[EC2ContainerServiceResponse], ActionResult]
MAX_DESCRIBED = 20  # DescribeServiceDeployments: "You can specify a maximum of 20 ARNs."


def _seconds(value: Any) -> float | None:
    """A createdAt bound as the ECS JSON protocol sends it (epoch seconds), or None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def handlers(
    simulation: Callable[[], EcsSimulation], clock: Callable[[], float]
) -> dict[str, Handler]:
    """The handlers, by moto's method name, bound to the installed simulation and clock."""

    def list_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
        backend = self.ecs_backend
        service = backend._get_service(  # ClusterNotFound, ServiceNotFound as ECS answers
            self._get_param("cluster", "default"), self._get_param("service")
        )
        max_results = self._get_param("maxResults")
        if max_results is not None and not 1 <= int(max_results) <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
        created = self._get_param("createdAt") or {}
        found = simulation().service_deployments.of_service(
            service.arn,
            statuses=frozenset(self._get_param("status") or ()),
            created_after=_seconds(created.get("after")),
            created_before=_seconds(created.get("before")),
        )
        start = int(self._get_param("nextToken") or 0)
        size = int(max_results or 20)  # "returns up to 20 results" by default
        answer: dict[str, Any] = {
            "serviceDeployments": [d.brief() for d in found[start : start + size]]
        }
        if start + size < len(found):
            answer["nextToken"] = str(start + size)
        return ActionResult(answer)

    def describe_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
        arns = list(self._get_param("serviceDeploymentArns") or [])
        if not arns or len(arns) > MAX_DESCRIBED:
            raise InvalidParameterException(
                f"serviceDeploymentArns must name between 1 and {MAX_DESCRIBED} ARNs."
            )
        records = simulation().service_deployments
        found, failures = [], []
        for arn in arns:
            d = records.deployment(arn)
            if d is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(d.answer())
        return ActionResult({"serviceDeployments": found, "failures": failures})

    def describe_service_revisions(self: EC2ContainerServiceResponse) -> ActionResult:
        arns = list(self._get_param("serviceRevisionArns") or [])
        if not arns or len(arns) > MAX_DESCRIBED:
            raise InvalidParameterException(
                f"serviceRevisionArns must name between 1 and {MAX_DESCRIBED} ARNs."
            )
        records = simulation().service_deployments
        found, failures = [], []
        for arn in arns:
            r = records.revision(arn)
            if r is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(r.answer())
        return ActionResult({"serviceRevisions": found, "failures": failures})

    def stop_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
        arn = self._get_param("serviceDeploymentArn")
        stop_type = self._get_param("stopType") or "ROLLBACK"
        if stop_type not in ("ROLLBACK", "ABORT"):
            raise InvalidParameterException("stopType must be ROLLBACK or ABORT.")
        if simulation().service_deployments.deployment(arn) is None:
            raise ECSException(
                "ServiceDeploymentNotFoundException",
                f"The service deployment {arn} does not exist.",
            )
        simulation().stop_service_deployment(arn, clock(), stop_type=stop_type)
        return ActionResult({"serviceDeploymentArn": arn})

    def continue_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
        arn = self._get_param("serviceDeploymentArn")
        action = self._get_param("action") or "CONTINUE"
        if action not in ("CONTINUE", "ROLLBACK"):
            raise InvalidParameterException("action must be CONTINUE or ROLLBACK.")
        if simulation().service_deployments.deployment(arn) is None:
            raise ECSException(
                "ServiceDeploymentNotFoundException",
                f"The service deployment {arn} does not exist.",
            )
        native_rollout.continue_deployment(
            simulation(), arn, clock(), hook_id=str(self._get_param("hookId")), action=action
        )
        return ActionResult({"serviceDeploymentArn": arn})

    return {
        "continue_service_deployment": continue_service_deployment,
        "list_service_deployments": list_service_deployments,
        "describe_service_deployments": describe_service_deployments,
        "describe_service_revisions": describe_service_revisions,
        "stop_service_deployment": stop_service_deployment,
    }
