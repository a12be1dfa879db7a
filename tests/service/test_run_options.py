"""Where `ecs-gitops run` takes its webhook secret from: the file, else the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.commands.run import WEBHOOK_SECRET_VARIABLE, _webhook_secret
from controller.errors import EcsGitopsError


def test_the_file_wins_and_its_trailing_newline_is_not_part_of_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_SECRET_VARIABLE, "from-the-environment")
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    assert _webhook_secret(str(secret)) == b"from-the-file"


def test_without_a_file_the_environment_variable_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WEBHOOK_SECRET_VARIABLE, "from-the-environment")
    assert _webhook_secret(None) == b"from-the-environment"
    monkeypatch.delenv(WEBHOOK_SECRET_VARIABLE)
    assert _webhook_secret(None) is None


def test_a_missing_or_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EcsGitopsError, match="webhook-secret-file"):
        _webhook_secret(str(tmp_path / "absent"))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(EcsGitopsError, match="empty"):
        _webhook_secret(str(tmp_path / "empty"))
