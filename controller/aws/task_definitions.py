"""Task definition revisions by ARN, fetched once per process: a revision never changes.

Shared by the live-state lookup and the rollouts, so that a pass describes each revision at
most once. Does I/O (DescribeTaskDefinition).
"""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError

from controller.aws.clients import AwsClients, aws_errors
from controller.core.model import JsonDict

TaskDefinitionAnswer = tuple[JsonDict, tuple[JsonDict, ...]]


class TaskDefinitionCache:
    """Task definitions by ARN: a revision never changes, so each is fetched once per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_arn: dict[str, TaskDefinitionAnswer] = {}

    def get(self, clients: AwsClients, arn: str) -> TaskDefinitionAnswer | None:
        """The revision ``arn`` and its tags, or None if AWS no longer knows it."""
        with self._lock:
            cached = self._by_arn.get(arn)
        if cached is not None:
            return cached
        return self._describe(clients, arn)

    def latest(self, clients: AwsClients, family: str) -> TaskDefinitionAnswer | None:
        """The newest ACTIVE revision of ``family`` (always asked: it moves), or None."""
        return self._describe(clients, family)

    def put(self, arn: str, answer: TaskDefinitionAnswer) -> None:
        """Remember a revision the controller itself just registered."""
        with self._lock:
            self._by_arn[arn] = answer

    def clear(self) -> None:
        """Forget every revision (a fresh process would)."""
        with self._lock:
            self._by_arn.clear()

    def _describe(self, clients: AwsClients, name: str) -> TaskDefinitionAnswer | None:
        try:
            with aws_errors(f"describe task definition {name}"):
                answer = _describe_task_definition(clients, name)
        except _MissingTaskDefinition:
            return None
        with self._lock:
            self._by_arn[str(answer[0].get("taskDefinitionArn", name))] = answer
        return answer


class _MissingTaskDefinition(Exception):
    pass


def _describe_task_definition(clients: AwsClients, name: str) -> TaskDefinitionAnswer:
    try:
        answer = clients.ecs.describe_task_definition(taskDefinition=name, include=["TAGS"])
    except ClientError as e:
        # ECS answers ClientException "Unable to describe task definition" for unknown names.
        if e.response.get("Error", {}).get("Code") == "ClientException":
            raise _MissingTaskDefinition(name) from e
        raise
    return dict(answer["taskDefinition"]), tuple(answer.get("tags") or ())


TASK_DEFINITIONS = TaskDefinitionCache()
