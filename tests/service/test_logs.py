"""Log formatting: one line per event, JSON that parses, no secret ever printed."""

from __future__ import annotations

import io
import json
import logging

import pytest

from controller.service.logs import Redactor, configure


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("clone https://user:ghp_abcdef123456@github.com/org/repo failed", "ghp_abcdef123456"),
        ("key AKIAIOSFODNN7EXAMPLE was used", "AKIAIOSFODNN7EXAMPLE"),
        ("DB_PASSWORD=hunter2hunter2 in the environment", "hunter2hunter2"),
        ('{"apiToken": "tok-123456"}', "tok-123456"),
        ("X-Gitlab-Token: glpat-zzzzzzzz", "glpat-zzzzzzzz"),
    ],
)
def test_credentials_in_text_are_masked(text: str, leaked: str) -> None:
    redacted = Redactor()(text)
    assert leaked not in redacted
    assert "***" in redacted


def test_values_of_secret_looking_environment_variables_are_masked_anywhere() -> None:
    redact = Redactor.from_environment(
        {"STRIPE_SECRET_KEY": "sk_live_value_42", "HOME": "/home/controller", "LANG": "C.UTF-8"}
    )
    assert redact("charging with sk_live_value_42 now") == "charging with *** now"
    # only secret-looking names are collected
    assert redact("home is /home/controller") == "home is /home/controller"


def test_registered_secrets_are_masked_but_short_ones_are_not_searched() -> None:
    redact = Redactor(["webhook-secret-value", "on"])
    assert redact("got webhook-secret-value; on it") == "got ***; on it"


def emit(fmt: str, redact: Redactor, message: str, **extra: object) -> str:
    stream = io.StringIO()
    logger = configure(fmt=fmt, redact=redact, stream=stream)
    try:
        logger.info(message, extra=extra)
    finally:
        logging.getLogger().handlers.clear()
    return stream.getvalue()


def test_text_lines_are_one_line_per_event_and_redacted() -> None:
    out = emit("text", Redactor(["supersecret1"]), "first\nsecond supersecret1", service="s/w")
    assert out.count("\n") == 1
    assert "first\\nsecond ***" in out
    assert "INFO" in out
    assert "service=s/w" in out


def test_json_lines_parse_and_carry_extra_fields_redacted() -> None:
    out = emit("json", Redactor(["supersecret1"]), "deploying", token_file="supersecret1")
    (line,) = out.splitlines()
    document = json.loads(line)
    assert document["message"] == "deploying"
    assert document["level"] == "info"
    assert document["token_file"] == "***"
    assert document["time"].endswith("Z")


def test_json_lines_mask_numbers_of_secret_named_fields_and_secret_shapes() -> None:
    token = "Zk9xN2tQd1J2c0xtM2FUeUhqQm5XcVo4dkVmR2hKa0w"
    out = emit(
        "json",
        Redactor(),
        "connecting to postgres://admin:pw@db.internal/app",
        DB_PASSWORD=123456,
        environment={"SESSION_BLOB": token, "PORT": 8080},
        commit="0123456789abcdef0123456789abcdef01234567",
        taskDefinitionArn="arn:aws:ecs:us-east-1:123456789012:task-definition/staging-web:3",
    )
    (line,) = out.splitlines()
    document = json.loads(line)
    for leaked in ("pw@", token):
        assert leaked not in line
    assert document["message"] == "connecting to postgres://***@db.internal/app"
    assert document["DB_PASSWORD"] == "***"
    assert document["environment"] == {"SESSION_BLOB": "***", "PORT": 8080}
    # the controller's own identifiers stay readable
    assert document["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert document["taskDefinitionArn"].endswith("task-definition/staging-web:3")


def test_text_lines_mask_numbers_of_secret_named_fields_and_private_keys() -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
    out = emit("text", Redactor(), f"loaded {key} for signing", DB_PASSWORD=123456)
    assert "123456" not in out and "MIIEvQIBADANBg" not in out
    assert "loaded *** for signing" in out
    assert "DB_PASSWORD=***" in out


class _GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_log_reader_that_went_away_silences_the_log_without_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = configure(fmt="text", redact=Redactor(), stream=_GoneReader())

    log.info("first line")
    log.info("second line")

    assert "Logging error" not in capsys.readouterr().err
