"""Secret masking: by name and by value shape, and the identifiers that are never masked."""

from __future__ import annotations

from typing import Any

import pytest

from controller.core.secrets import (
    MASK,
    looks_secret_name,
    looks_secret_value,
    mask_at,
    mask_document,
    mask_text,
)

TOKEN = "Zk9xN2tQd1J2c0xtM2FUeUhqQm5XcVo4dkVmR2hKa0w"
AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TASK_DEFINITION_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/staging-web:3"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-AbCdEf"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True), ("apiToken", True), ("AWS_SECRET_ACCESS_KEY", True),
        ("stripe_secret_key", True), ("X-Gitlab-Token", True), ("Authorization", True),
        ("DB_PASS", True), ("db_pwd", True), ("privateKey", True), ("SIGNING_KEY", True),
        ("sessionCookie", True), ("GITHUB_PASSPHRASE", True), ("clientCredentials", True),
        # not secrets: ordinary names, and names of references to a secret
        ("GIT_AUTHOR_NAME", False), ("LOG_LEVEL", False), ("PORT", False),
        ("DATABASE_URL", False), ("PWD", False), ("key", False), ("sort_key", False),
        ("monkey", False), ("DB_PASSWORD_SECRET_ARN", False), ("TOKEN_FILE", False),
        ("passwordPath", False),
    ],
)  # fmt: skip
def test_names_that_look_secret(name: str, secret: bool) -> None:
    assert looks_secret_name(name) is secret


@pytest.mark.parametrize(
    ("text", "leaked", "kept"),
    [
        # credentials in a URL: the user-info goes, the rest stays readable
        ("DATABASE_URL=postgres://admin:pw@host/db", "admin:pw", "@host/db"),
        ("clone https://ghp_abcdef123456@github.com/org/repo", "ghp_abcdef123456", "github.com"),
        # AWS keys, and a secret key next to its access key id
        ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", "key "),
        (f"AKIAIOSFODNN7EXAMPLE {AWS_SECRET_KEY}", "bPxRfiCY", ""),
        ("temporary ASIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "temporary"),
        # private keys, whole, even cut short
        ("k=-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- ok", "MIIEow", " ok"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1r", "b3BlbnNzaC1r", ""),
        # long random tokens, whatever the name (or none)
        (f"SESSION_BLOB={TOKEN}", TOKEN, "SESSION_BLOB="),
        (f"sent ghp_{TOKEN[:36]} to the API", TOKEN[:36], "to the API"),
        (f"http https://127.0.0.1:9/hooks/{TOKEN}/health failed", TOKEN, "/hooks/***/health"),
        ("r238rggys4sftyyijh47b69ya1rvcjdj", "r238rggys4", ""),
        ("c0063f13ded63194fc7f474d08427762f6e230dc98da4577", "c0063f13", ""),
        # secret-named pairs, numbers too, in the forms logs and YAML write them
        ("DB_PASSWORD=hunter2hunter2 set", "hunter2hunter2", " set"),
        ("DB_PASSWORD: 123456", "123456", "DB_PASSWORD: "),
        ('{"apiToken": "tok-123456"}', "tok-123456", '{"apiToken": "'),
        ("Authorization: Bearer abc.def", "abc.def", "Authorization: "),
        ("https://h/cb?code=1&access_token=xyz123&x=1", "xyz123", "&x=1"),
        # validate names an environment entry by index: the value it quotes is masked
        (
            "web/task-definition.yaml:18: containerDefinitions[0].environment[2].value: "
            "expected a string, got 123456 (quote it: '123456')",
            "123456",
            "web/task-definition.yaml:18: containerDefinitions[0].environment[2].value: "
            "expected a string, got *** (quote it: '***')",
        ),
    ],
)  # fmt: skip
def test_secrets_in_text_are_masked(text: str, leaked: str, kept: str) -> None:
    masked = mask_text(text)
    assert leaked not in masked
    assert MASK in masked
    assert kept in masked
    assert mask_text(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        TASK_DEFINITION_ARN,
        SECRET_ARN,  # says "secret:" and is only where the secret is kept
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-blue/73e2d6bc24d8a067",
        f"desiredState: {DIGEST}",
        f"public.ecr.aws/nginx/nginx@{DIGEST}",
        f"deployed commit {COMMIT}",
        "(service web) has started 1 tasks: (task 0b69d5c0d8f34e9c9bd8a1b0e1d2a5c3).",
        "request 123e4567-e89b-12d3-a456-426614174000",
        "deployment ecs-svc/1234567890123456789 COMPLETED",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.2.3",
        "rolling: deployed staging-web:3 in 12s; 2/2 tasks running",
        "ContainerDefinitionsEnvironmentValueFromSomewhere",
        "k8s-production-cluster-2024-east-1-nodes-group",
        "the_quick_brown_fox_jumps_over_the_lazy_dog_2",
        "ECS_GITOPS_WEBHOOK_SECRET_FILE_PATH_V2",
        "/usr/local/lib/python3.11/site-packages/controller/core/secrets_and_more",
        "https://example.com/health?ready=1",
        "LOG_LEVEL=info PORT=8080",
        "PWD=/home/controller",
        "containerDefinitions[web].image: nginx:1.26 -> nginx:1.27",
        "staging/web/service.yaml:3: unknown key 'desiredCont' (did you mean 'desiredCount'?)",
    ],
)
def test_identifiers_and_prose_are_kept(text: str) -> None:
    assert mask_text(text) == text
    assert not looks_secret_value(text)


def test_a_40_character_token_is_a_secret_key_only_next_to_an_access_key_id() -> None:
    mixed_path = "Users/JohnSmith/Library/Application/Data"
    assert len(mixed_path) == 40
    assert mask_text(mixed_path) == mixed_path
    assert mask_text(f"AKIAIOSFODNN7EXAMPLE {mixed_path}") == f"{MASK} {MASK}"
    # a commit sha next to a key id is still a commit sha
    assert COMMIT in mask_text(f"AKIAIOSFODNN7EXAMPLE {COMMIT}")


def test_documents_are_masked_by_name_at_every_level_and_by_shape() -> None:
    task_definition: dict[str, Any] = {
        "family": "staging-web",
        "containerDefinitions": [
            {
                "name": "web",
                "image": f"nginx@{DIGEST}",
                "environment": [
                    {"name": "DB_PASSWORD", "value": 123456},
                    {"name": "DATABASE_URL", "value": "postgres://admin:pw@host/db"},
                    {"name": "SESSION_BLOB", "value": TOKEN},
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "EMPTY_TOKEN", "value": ""},
                ],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}],
            }
        ],
        "tags": [{"key": "team", "value": "payments"}, {"key": "api-token", "value": True}],
    }
    masked = mask_document(task_definition)
    (container,) = masked["containerDefinitions"]
    assert container["environment"] == [
        {"name": "DB_PASSWORD", "value": MASK},
        {"name": "DATABASE_URL", "value": "postgres://***@host/db"},
        {"name": "SESSION_BLOB", "value": MASK},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "EMPTY_TOKEN", "value": ""},  # nothing to hide
    ]
    assert container["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}]
    assert container["image"] == f"nginx@{DIGEST}"
    assert masked["tags"] == [
        {"key": "team", "value": "payments"},
        {"key": "api-token", "value": MASK},
    ]
    # the original is left alone
    assert task_definition["containerDefinitions"][0]["environment"][0]["value"] == 123456


def test_mappings_keyed_by_name_mask_numbers_like_strings() -> None:
    assert mask_document({"DB_PASSWORD": 123456, "PORT": 8080, "apiToken": 1.5}) == {
        "DB_PASSWORD": MASK,
        "PORT": 8080,
        "apiToken": MASK,
    }


@pytest.mark.parametrize(
    ("path", "value", "shown"),
    [
        ("containerDefinitions[web].environment[DB_PASSWORD]", 123456, MASK),
        ("containerDefinitions[web].environment[DB_PASSWORD]", None, None),
        ("containerDefinitions[web].environment[DATABASE_URL]", "redis://u:p@h", "redis://***@h"),
        ("containerDefinitions[web].environment[LOG_LEVEL]", "info", "info"),
        ("containerDefinitions[web].secrets[DB_PASSWORD]", SECRET_ARN, SECRET_ARN),
        ("containerDefinitions[web].dockerLabels.apiToken", "abc", MASK),
        ("containerDefinitions[web]", {"environment": {"DB_PASSWORD": "x"}}, {"environment": {"DB_PASSWORD": MASK}}),
        ("desiredCount", 3, 3),
    ],
)  # fmt: skip
def test_values_at_a_diff_path(path: str, value: Any, shown: Any) -> None:
    assert mask_at(path, value) == shown
