"""The CloudWatch calls a verification makes: the state of named alarms.

A thin adapter (does I/O): boto3 errors become ``AwsError`` saying what was being done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controller.aws.clients import aws_errors, clients_for
from controller.core.model import Environment

# DescribeAlarms takes at most 100 names per call.
NAMES_PER_CALL = 100


@dataclass(frozen=True)
class AlarmState:
    """One alarm as DescribeAlarms reports it: ``OK``, ``ALARM`` or ``INSUFFICIENT_DATA``."""

    name: str
    state: str
    reason: str = ""


class AlarmsApi:
    """Metric and composite alarms of one environment (one region and role)."""

    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch

    @staticmethod
    def for_environment(env: Environment) -> AlarmsApi:
        return AlarmsApi(clients_for(env).cloudwatch)

    def alarm_states(self, names: Sequence[str]) -> dict[str, AlarmState]:
        """The state of each named alarm that exists; a missing name is simply absent."""
        found: dict[str, AlarmState] = {}
        for start in range(0, len(names), NAMES_PER_CALL):
            batch = list(names[start : start + NAMES_PER_CALL])
            with aws_errors(f"describe alarms {', '.join(batch)}"):
                response = self.cloudwatch.describe_alarms(
                    AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
                )
            for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
                name = str(alarm["AlarmName"])
                found[name] = AlarmState(
                    name=name,
                    state=str(alarm.get("StateValue", "")),
                    reason=str(alarm.get("StateReason", "")),
                )
        return found
