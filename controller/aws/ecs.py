"""The ECS and Application Auto Scaling calls a rollout makes, as typed domain methods.

A thin adapter (does I/O): every boto3 error is translated into ``AwsError`` saying what
was being done and whether a retry helps. Strategies talk to AWS only through this class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from controller.aws.clients import AwsClients, aws_errors
from controller.aws.task_definitions import TASK_DEFINITIONS, TaskDefinitionAnswer
from controller.core.digest import DIGEST_TAG
from controller.errors import AwsError

JsonDict = dict[str, Any]

# How many of a family's newest ACTIVE revisions are searched for one with identical
# content when the status file does not already remember it.
REVISION_SCAN_LIMIT = 20


class EcsApi:
    """ECS and autoscaling operations for one environment (one region and role)."""

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients
        self.ecs = clients.ecs
        self.autoscaling = clients.autoscaling
        self._update_keys = frozenset(
            self.ecs.meta.service_model.operation_model("UpdateService").input_shape.members
        )

    # -- task definitions -------------------------------------------------------------

    def describe_task_definition(self, arn: str) -> TaskDefinitionAnswer:
        """A revision and its tags (fetched once per process: revisions are immutable)."""
        answer = TASK_DEFINITIONS.get(self.clients, arn)
        if answer is None:
            raise AwsError(f"describe task definition {arn}: ECS does not know it", code="NotFound")
        return answer

    def find_task_definition(
        self, *, family: str, digest: str, known_arns: Iterable[str] = (), scan: bool = True
    ) -> str | None:
        """An ACTIVE revision of ``family`` whose content digest tag equals ``digest``.

        ``known_arns`` (from the status file's revision history) are checked first, so a
        revert finds the revision that ran before without listing the family; ``scan``
        also searches the family's newest revisions (when there is no history to trust).
        """
        for arn in known_arns:
            if self._is_active_with_digest(arn, digest):
                return arn
        if not scan:
            return None
        with aws_errors(f"list task definitions of family {family}"):
            response = self.ecs.list_task_definitions(
                familyPrefix=family, status="ACTIVE", sort="DESC", maxResults=REVISION_SCAN_LIMIT
            )
        for arn in response.get("taskDefinitionArns", []):
            # familyPrefix matches prefixes: "web" also lists "web-worker"
            if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] != family:
                continue
            if self._is_active_with_digest(arn, digest):
                return str(arn)
        return None

    def _is_active_with_digest(self, arn: str, digest: str) -> bool:
        try:
            definition, tags = self.describe_task_definition(arn)
        except AwsError:  # a remembered ARN may have been deleted meanwhile
            return False
        return definition.get("status") == "ACTIVE" and any(
            t.get("key") == DIGEST_TAG and t.get("value") == digest for t in tags
        )

    def register_task_definition(self, request: JsonDict, *, digest: str) -> str:
        """Register a new revision tagged with its content digest; return its ARN."""
        tags = [t for t in request.get("tags", []) if t.get("key") != DIGEST_TAG]
        tags.append({"key": DIGEST_TAG, "value": digest})
        with aws_errors(f"register task definition {request.get('family')}"):
            response = self.ecs.register_task_definition(**{**request, "tags": tags})
        definition = response["taskDefinition"]
        arn = str(definition["taskDefinitionArn"])
        TASK_DEFINITIONS.put(arn, (dict(definition), tuple(tags)))
        return arn

    # -- services -----------------------------------------------------------------------

    def describe_service(self, *, cluster: str, name: str) -> JsonDict | None:
        """The service, or None when it does not exist or is INACTIVE."""
        with aws_errors(f"describe service {name} in cluster {cluster}"):
            response = self.ecs.describe_services(
                cluster=cluster, services=[name], include=["TAGS"]
            )
        for service in response.get("services", []):
            if service.get("status") != "INACTIVE":
                return dict(service)
        return None

    def list_service_names(self, *, cluster: str) -> list[str]:
        """The names of the cluster's services (ListServices, every page)."""
        names: list[str] = []
        with aws_errors(f"list services in cluster {cluster}"):
            for page in self.ecs.get_paginator("list_services").paginate(cluster=cluster):
                names.extend(str(arn).rsplit("/", 1)[-1] for arn in page.get("serviceArns", []))
        return names

    def create_service(self, request: JsonDict) -> JsonDict:
        with aws_errors(f"create service {request.get('serviceName')}"):
            return dict(self.ecs.create_service(**request)["service"])

    def update_service(self, *, cluster: str, name: str, fields: JsonDict) -> JsonDict:
        """UpdateService with those of ``fields`` that UpdateService accepts."""
        accepted = {k: v for k, v in fields.items() if k in self._update_keys}
        with aws_errors(f"update service {name} in cluster {cluster}"):
            response = self.ecs.update_service(cluster=cluster, service=name, **accepted)
        return dict(response["service"])

    def update_fields(self, request: JsonDict) -> JsonDict:
        """The part of a CreateService request that UpdateService can apply."""
        skip = {"cluster", "service", "serviceName", "tags"}
        return {k: v for k, v in request.items() if k in self._update_keys and k not in skip}

    def delete_service(self, *, cluster: str, name: str) -> None:
        with aws_errors(f"delete service {name} in cluster {cluster}"):
            self.ecs.delete_service(cluster=cluster, service=name, force=True)

    def tag_service(self, *, arn: str, tags: Sequence[JsonDict]) -> None:
        if not tags:
            return
        with aws_errors(f"tag service {arn}"):
            self.ecs.tag_resource(resourceArn=arn, tags=list(tags))

    def untag_service(self, *, arn: str, keys: Sequence[str]) -> None:
        if not keys:
            return
        with aws_errors(f"untag service {arn}"):
            self.ecs.untag_resource(resourceArn=arn, tagKeys=list(keys))

    # -- service deployments (ECS's own record of each deployment) -----------------------

    def list_service_deployments(
        self, *, cluster: str, name: str, created_after: datetime | None = None
    ) -> list[JsonDict]:
        """The service's deployments (brief), every page; only those created after the time if given."""
        request: JsonDict = {"cluster": cluster, "service": name}
        if created_after is not None:
            request["createdAt"] = {"after": created_after}
        briefs: list[JsonDict] = []
        with aws_errors(f"list service deployments of {name} in cluster {cluster}"):
            while True:
                response = self.ecs.list_service_deployments(**request)
                briefs.extend(response.get("serviceDeployments", []))
                if not response.get("nextToken"):
                    return briefs
                request["nextToken"] = response["nextToken"]

    def describe_service_deployments(self, arns: Sequence[str]) -> list[JsonDict]:
        """Service deployments in full (DescribeServiceDeployments takes 20 at a time)."""
        deployments: list[JsonDict] = []
        for start in range(0, len(arns), 20):
            with aws_errors("describe service deployments"):
                response = self.ecs.describe_service_deployments(
                    serviceDeploymentArns=list(arns[start : start + 20])
                )
            deployments.extend(response.get("serviceDeployments", []))
        return deployments

    def describe_service_revisions(self, arns: Sequence[str]) -> list[JsonDict]:
        """Service revisions (DescribeServiceRevisions takes 20 at a time)."""
        revisions: list[JsonDict] = []
        for start in range(0, len(arns), 20):
            with aws_errors("describe service revisions"):
                response = self.ecs.describe_service_revisions(
                    serviceRevisionArns=list(arns[start : start + 20])
                )
            revisions.extend(response.get("serviceRevisions", []))
        return revisions

    def stop_service_deployment(self, arn: str, *, rollback: bool = True) -> None:
        """Ask ECS to stop a deployment in flight: roll it back (default) or just abort it."""
        with aws_errors(f"stop service deployment {arn}"):
            self.ecs.stop_service_deployment(
                serviceDeploymentArn=arn, stopType="ROLLBACK" if rollback else "ABORT"
            )

    def continue_service_deployment(self, arn: str, *, hook_id: str, approve: bool) -> None:
        """Answer a PAUSE lifecycle hook ECS waits on: go on (CONTINUE) or roll back."""
        with aws_errors(f"continue service deployment {arn}"):
            self.ecs.continue_service_deployment(
                serviceDeploymentArn=arn,
                hookId=hook_id,
                action="CONTINUE" if approve else "ROLLBACK",
            )

    # -- tasks ---------------------------------------------------------------------------

    def run_task(self, request: JsonDict) -> list[JsonDict]:
        with aws_errors(f"run task {request.get('taskDefinition')}"):
            response = self.ecs.run_task(**request)
        failures = response.get("failures") or []
        if failures and not response.get("tasks"):
            reasons = ", ".join(
                f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in failures
            )
            raise AwsError(f"run task {request.get('taskDefinition')}: {reasons}")
        return list(response.get("tasks", []))

    def describe_tasks(self, *, cluster: str, arns: Sequence[str]) -> list[JsonDict]:
        tasks: list[JsonDict] = []
        for start in range(0, len(arns), 100):
            with aws_errors(f"describe tasks in cluster {cluster}"):
                response = self.ecs.describe_tasks(
                    cluster=cluster, tasks=list(arns[start : start + 100])
                )
            tasks.extend(response.get("tasks", []))
        return tasks

    def stop_task(self, *, cluster: str, arn: str, reason: str) -> None:
        with aws_errors(f"stop task {arn} in cluster {cluster}"):
            self.ecs.stop_task(cluster=cluster, task=arn, reason=reason)

    # -- autoscaling --------------------------------------------------------------------

    def scalable_target(self, resource_id: str) -> JsonDict | None:
        with aws_errors(f"describe scalable target {resource_id}"):
            response = self.autoscaling.describe_scalable_targets(
                ServiceNamespace="ecs", ResourceIds=[resource_id]
            )
        targets = response.get("ScalableTargets", [])
        return dict(targets[0]) if targets else None

    def scaling_policies(self, resource_id: str) -> list[JsonDict]:
        with aws_errors(f"describe scaling policies of {resource_id}"):
            response = self.autoscaling.describe_scaling_policies(
                ServiceNamespace="ecs", ResourceId=resource_id
            )
        return list(response.get("ScalingPolicies", []))

    def apply_autoscaling(self, *, target: JsonDict | None, policies: Sequence[JsonDict]) -> None:
        """Register the scalable target, then put each policy (requests as rendered)."""
        if target is not None:
            with aws_errors(f"register scalable target {target.get('ResourceId')}"):
                self.autoscaling.register_scalable_target(**target)
        for policy in policies:
            with aws_errors(f"put scaling policy {policy.get('PolicyName')}"):
                self.autoscaling.put_scaling_policy(**policy)

    def restore_autoscaling(
        self, *, target: JsonDict | None, policies: Sequence[JsonDict], resource_id: str
    ) -> None:
        """Put back a scalable target and policies as DescribeScalableTargets/Policies returned them."""
        if target is not None:
            keep = (
                "ServiceNamespace",
                "ResourceId",
                "ScalableDimension",
                "MinCapacity",
                "MaxCapacity",
                "SuspendedState",
            )
            request = {k: target[k] for k in keep if k in target}
            request["ResourceId"] = resource_id
            with aws_errors(f"restore scalable target {resource_id}"):
                self.autoscaling.register_scalable_target(**request)
        for policy in policies:
            keep = (
                "PolicyName", "ServiceNamespace", "ScalableDimension", "PolicyType",
                "StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration",
            )  # fmt: skip
            request = {k: policy[k] for k in keep if k in policy}
            request["ResourceId"] = resource_id
            with aws_errors(f"restore scaling policy {policy.get('PolicyName')}"):
                self.autoscaling.put_scaling_policy(**request)

    def remove_autoscaling(self, *, resource_id: str) -> None:
        """Delete a service's scaling policies and deregister its scalable target, if any."""
        for policy in self.scaling_policies(resource_id):
            with aws_errors(f"delete scaling policy {policy['PolicyName']}"):
                self.autoscaling.delete_scaling_policy(
                    PolicyName=policy["PolicyName"],
                    ServiceNamespace="ecs",
                    ResourceId=resource_id,
                    ScalableDimension=policy["ScalableDimension"],
                )
        if self.scalable_target(resource_id) is not None:
            with aws_errors(f"deregister scalable target {resource_id}"):
                self.autoscaling.deregister_scalable_target(
                    ServiceNamespace="ecs",
                    ResourceId=resource_id,
                    ScalableDimension="ecs:service:DesiredCount",
                )
