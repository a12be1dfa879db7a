"""Verification between steps: alarms and http probes, in the rolling strategy, against local-aws."""

from __future__ import annotations

from controller.aws.clients import API_CALLS
from controller.core.model import Strategy
from controller.core.outcome import Result
from controller.strategies.verify import http_get, shown_url, verify_spec
from tests.strategies.support import Probe, Stage, alarm, image_of, live, scalable_targets


def deployed(stage: Stage, image: str = "nginx:1.26") -> str:
    first = stage.roll_out(stage.service("web", strategy=Strategy.ROLLING, image=image))
    assert first.outcome.result == Result.SYNCED, first.outcome
    service = live("web")
    assert service is not None
    return str(service["taskDefinition"])


def test_a_passing_window_observes_more_than_once_then_attaches_autoscaling(
    stage: Stage, probe: Probe
) -> None:
    deployed(stage)
    alarm("web-5xx", "OK")
    API_CALLS.reset()
    desired = stage.service(
        "web",
        strategy=Strategy.ROLLING,
        image="nginx:1.27",
        autoscaling=True,
        raw={"verify": {"alarms": ["web-5xx"], "http": [{"url": probe.url}], "duration": "1s"}},
    )

    rolled = stage.roll_out(desired)

    assert rolled.outcome.result == Result.SYNCED, rolled.outcome
    assert rolled.phases[-3:] == ["wait", "verify", "autoscaling"]
    # a window, not one look: the first observation opens it, a later one closes it
    assert API_CALLS.by_operation()["DescribeAlarms"] >= 2
    assert probe.hits >= 2
    assert any(line.startswith("verified 1 alarm and 1 http probe") for line in rolled.lines)
    service = live("web")
    assert service is not None and image_of(service["taskDefinition"]) == "nginx:1.27"
    assert [t["MinCapacity"] for t in scalable_targets("web")] == [1]


def test_an_alarm_in_alarm_rolls_back_and_names_the_alarm(stage: Stage) -> None:
    before = deployed(stage)
    alarm("web-5xx", "ALARM")
    desired = stage.service(
        "web",
        strategy=Strategy.ROLLING,
        image="nginx:1.27",
        autoscaling=True,
        raw={"verify": {"alarms": ["web-5xx"], "duration": "30s"}},
    )

    rolled = stage.roll_out(desired)

    outcome = rolled.outcome
    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("verification failed: alarm web-5xx is in ALARM")
    assert outcome.restored_task_definition_arn == before
    assert "autoscaling" not in rolled.phases
    assert rolled.phases[-2:] == ["rollback", "rollback-wait"]
    service = live("web")
    assert service is not None and service["taskDefinition"] == before
    # the restored service serves production: the failed version's autoscaling never attached
    assert scalable_targets("web") == []


def test_an_http_probe_answering_503_rolls_back_and_names_the_url(
    stage: Stage, probe: Probe
) -> None:
    before = deployed(stage)
    probe.answer(503)
    desired = stage.service(
        "web",
        strategy=Strategy.ROLLING,
        image="nginx:1.27",
        raw={"verify": {"http": [{"url": probe.url, "expectStatus": 200}], "duration": "30s"}},
    )

    outcome = stage.roll_out(desired).outcome

    assert outcome.result == Result.ROLLED_BACK, outcome
    assert outcome.failure_reason == (
        f"verification failed: http {probe.url} answered 503, expected 200"
    )
    service = live("web")
    assert service is not None and service["taskDefinition"] == before


def test_a_missing_alarm_fails_verification(stage: Stage) -> None:
    deployed(stage)
    desired = stage.service(
        "web",
        strategy=Strategy.ROLLING,
        image="nginx:1.27",
        raw={"verify": {"alarms": ["web-5xxx"], "duration": "30s"}},
    )

    outcome = stage.roll_out(desired).outcome

    assert outcome.result == Result.ROLLED_BACK
    assert outcome.failure_reason == "verification failed: alarm web-5xxx does not exist"


def test_urls_take_variables_from_environment_and_deploy_yaml(stage: Stage) -> None:
    desired = stage.service(
        "web",
        strategy=Strategy.ROLLING,
        image="nginx:1.27",
        variables={"host": "web.internal"},
        raw={
            "verify": {
                "http": [
                    {"url": "http://${host}/health", "expectStatus": 204},
                    {"url": "http://${hots}/"},
                ]
            }
        },
    )

    spec = verify_spec(desired)

    assert spec.http[0].url == "http://web.internal/health"
    assert spec.http[0].expect_status == 204
    assert spec.http[0].problem is None
    assert spec.http[1].problem is not None
    assert "undefined variable 'hots'" in spec.http[1].problem
    assert spec.window_seconds == 60.0  # the default window


def test_http_get_reports_the_status_without_following_redirects(probe: Probe) -> None:
    probe.answer(302)
    assert http_get(probe.url) == (302, None)
    probe.answer(200)
    assert http_get(probe.url) == (200, None)


def test_http_get_reports_no_answer_and_refuses_other_schemes() -> None:
    status, error = http_get("http://127.0.0.1:9/")  # the discard port: nothing listens
    assert status is None and error
    assert http_get("file:///etc/hostname") == (None, "only http and https urls can be probed")


def test_credentials_in_a_url_are_never_shown() -> None:
    assert (
        shown_url("https://user:s3cret@example.com:8443/x?y=1") == "https://example.com:8443/x?y=1"
    )
    assert shown_url("http://example.com/") == "http://example.com/"
