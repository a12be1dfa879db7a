"""Writing into a checkout (import, promote): never through a link, never into a FIFO."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller.errors import ConfigError
from controller.source.tree import folder_inside, write_inside


def test_folders_are_created_and_the_file_written(tmp_path: Path) -> None:
    write_inside(tmp_path, "staging/web/deploy.yaml", "image: a\n")
    write_inside(tmp_path, "staging/web/deploy.yaml", "b\n")  # replaced, not appended
    assert (tmp_path / "staging/web/deploy.yaml").read_text() == "b\n"
    assert folder_inside(tmp_path, "staging/api") == tmp_path / "staging/api"
    assert (tmp_path / "staging/api").is_dir()


def test_a_linked_environment_folder_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "staging").symlink_to(outside)
    with pytest.raises(ConfigError, match="staging is a symbolic link"):
        write_inside(checkout, "staging/web/deploy.yaml", "x")
    with pytest.raises(ConfigError, match="staging is a symbolic link"):
        folder_inside(checkout, "staging/web")
    assert list(outside.iterdir()) == []


def test_a_linked_file_is_never_written_through(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("keep me")
    (tmp_path / "staging/web").mkdir(parents=True)
    (tmp_path / "staging/web/deploy.yaml").symlink_to(secret)
    with pytest.raises(ConfigError, match="symbolic link"):
        write_inside(tmp_path, "staging/web/deploy.yaml", "x")
    assert secret.read_text() == "keep me"


def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    (tmp_path / "staging/web").mkdir(parents=True)
    os.mkfifo(tmp_path / "staging/web/deploy.yaml")
    with pytest.raises(ConfigError, match="FIFO"):
        write_inside(tmp_path, "staging/web/deploy.yaml", "x")


def test_a_path_leading_out_of_the_checkout_is_refused(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for relative in ("../outside/web/deploy.yaml", "staging/./web/x", "staging/we\nb/deploy.yaml"):
        with pytest.raises(ConfigError, match="is not a name inside the checkout"):
            write_inside(checkout, relative, "x")
    with pytest.raises(ConfigError, match="is not a name inside the checkout"):
        folder_inside(checkout, "../outside")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkout"]
