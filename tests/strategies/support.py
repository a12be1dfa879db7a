"""Helpers for rollout tests: a staging cluster in local-aws, services built as the loader builds them."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.elb import ElbApi
from controller.aws.live import TaskDefinitionCache, fetch_live
from controller.core.model import DeploySpec, DesiredService, Environment, Strategy
from controller.core.outcome import Outcome
from controller.core.plan import plan_service
from controller.localaws import LocalAws
from controller.strategies.base import Progress, RolloutContext, drive
from controller.strategies.registry import rollout_for
from tests.e2e.support import network

JsonDict = dict[str, Any]


@dataclass
class Rolled:
    """What one rollout did: its outcome, every phase it checkpointed, every line it reported."""

    outcome: Outcome
    phases: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class Stage:
    """The ``staging`` environment of local-aws: one cluster, one subnet, one security group."""

    env: Environment
    subnet: str
    group: str

    def job(
        self,
        name: str,
        *,
        image: str,
        containers: list[JsonDict] | None = None,
        raw: Mapping[str, Any] | None = None,
        count: int = 1,
        timeout: float = 60,
    ) -> DesiredService:
        return DesiredService(
            env=self.env,
            name=name,
            deploy=DeploySpec(
                strategy=Strategy.RUN_TASK,
                image=image,
                timeout_seconds=timeout,
                raw={"strategy": "run-task", **(raw or {})},
            ),
            task_definition=self._task_definition(name, image, containers),
            run_task={
                "cluster": "staging",
                "launchType": "FARGATE",
                "count": count,
                "networkConfiguration": self._network(),
            },
        )

    def service(
        self,
        name: str,
        *,
        strategy: Strategy,
        image: str,
        raw: Mapping[str, Any] | None = None,
        desired_count: int = 2,
        autoscaling: bool = False,
        timeout: float = 60,
        variables: Mapping[str, Any] | None = None,
    ) -> DesiredService:
        resource_id = f"service/staging/{name}"
        return DesiredService(
            env=self.env,
            name=name,
            deploy=DeploySpec(
                strategy=strategy,
                image=image,
                timeout_seconds=timeout,
                variables=variables or {},
                raw={"strategy": str(strategy), **(raw or {})},
            ),
            task_definition=self._task_definition(name, image, None),
            service={
                "cluster": "staging",
                "serviceName": name,
                "launchType": "FARGATE",
                "desiredCount": desired_count,
                "networkConfiguration": self._network(),
                "deploymentConfiguration": {
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                },
            },
            scalable_target={
                "ServiceNamespace": "ecs",
                "ResourceId": resource_id,
                "ScalableDimension": "ecs:service:DesiredCount",
                "MinCapacity": 1,
                "MaxCapacity": 4,
            }
            if autoscaling
            else None,
            scaling_policies=(
                {
                    "PolicyName": "cpu60",
                    "ServiceNamespace": "ecs",
                    "ResourceId": resource_id,
                    "ScalableDimension": "ecs:service:DesiredCount",
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {
                        "TargetValue": 60.0,
                        "PredefinedMetricSpecification": {
                            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                        },
                    },
                },
            )
            if autoscaling
            else (),
        )

    def roll_out(
        self,
        desired: DesiredService,
        *,
        commit: str = "0123456789abcdef",
        on_report: Any = None,
    ) -> Rolled:
        """Plan against live local-aws, then drive the service's rollout to its end."""
        live = fetch_live([desired], cache=TaskDefinitionCache())[desired.key]
        rolled = Rolled(outcome=None)  # type: ignore[arg-type]

        def report(line: str) -> None:
            rolled.lines.append(line)
            if on_report is not None:
                on_report(line)

        def checkpoint(progress: Progress) -> None:
            if not rolled.phases or rolled.phases[-1] != progress.phase:
                rolled.phases.append(progress.phase)

        ctx = RolloutContext(
            desired=desired,
            plan=plan_service(desired, live),
            api=EcsApi(clients_for(desired.env)),
            elb=ElbApi(clients_for(desired.env)),
            commit=commit,
            poll_seconds=0.05,
            report=report,
            checkpoint=checkpoint,
        )
        rollout = rollout_for(ctx)
        assert rollout is not None
        checkpoint(rollout.progress)
        rolled.outcome = drive(rollout, ctx)
        return rolled

    def _task_definition(
        self, name: str, image: str, containers: list[JsonDict] | None
    ) -> JsonDict:
        return {
            "family": f"staging-{name}",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": containers
            or [{"name": "app", "image": image, "essential": True}],
        }

    def _network(self) -> JsonDict:
        return {
            "awsvpcConfiguration": {
                "subnets": [self.subnet],
                "securityGroups": [self.group],
                "assignPublicIp": "ENABLED",
            }
        }


def make_stage(local_aws: LocalAws) -> Stage:
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    env = Environment(name="staging", cluster="staging", region="us-east-1")
    return Stage(env=env, subnet=subnet, group=group)


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Any = self.server
        self.send_response(server.status)
        if 300 <= server.status < 400:
            self.send_header("Location", "/elsewhere")
        self.end_headers()
        server.hits += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@dataclass
class Probe:
    """A local http server whose answer status a test sets."""

    server: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/health"

    @property
    def hits(self) -> int:
        return int(self.server.hits)

    def answer(self, status: int) -> None:
        self.server.status = status


@contextmanager
def serving_probe() -> Iterator[Probe]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.status = 200
    server.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Probe(server)
    finally:
        server.shutdown()
        server.server_close()


def alarm(name: str, state: str = "OK") -> None:
    """Create a CloudWatch alarm and force it into ``state``."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ECS",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"set to {state}")


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def live(name: str) -> JsonDict | None:
    services = ecs().describe_services(cluster="staging", services=[name])["services"]
    active = [s for s in services if s["status"] == "ACTIVE"]
    return dict(active[0]) if active else None


def image_of(task_definition_arn: str) -> str:
    definition = ecs().describe_task_definition(taskDefinition=task_definition_arn)
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def scalable_targets(name: str) -> list[JsonDict]:
    autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
    return list(
        autoscaling.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/staging/{name}"]
        )["ScalableTargets"]
    )
