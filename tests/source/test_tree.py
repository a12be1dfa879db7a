"""Reading a checkout: only regular files and real folders of the checkout itself are read."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from controller.core.limits import MAX_FILE_BYTES
from controller.core.model import Problem
from controller.source.tree import load_path, read_tree

SECRET = "s3cr3t-4b9d-ssh-key-material"
MINIMAL = Path(__file__).resolve().parent.parent / "data" / "repos" / "minimal"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the minimal repository, and a secret outside it (as ~/.ssh would be)."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "id_ed25519").write_text(f"{SECRET}\n")
    return Path(shutil.copytree(MINIMAL, tmp_path / "repo"))


def problem(files: dict[str, str | Problem], path: str) -> str:
    found = files[path]
    assert isinstance(found, Problem), f"{path} was read"
    return str(found)


def test_regular_files_are_read_by_relative_path(checkout: Path) -> None:
    files = read_tree(checkout)
    assert sorted(files) == [
        "staging/environment.yaml",
        "staging/job/deploy.yaml",
        "staging/job/run-task.yaml",
        "staging/job/task-definition.yaml",
        "staging/web/deploy.yaml",
        "staging/web/service.yaml",
        "staging/web/task-definition.yaml",
    ]
    assert files["staging/web/deploy.yaml"] == (checkout / "staging/web/deploy.yaml").read_text()


def test_a_symlinked_file_is_refused_without_being_read(checkout: Path, tmp_path: Path) -> None:
    task = checkout / "staging" / "web" / "task-definition.yaml"
    task.unlink()
    task.symlink_to(tmp_path / "outside" / "id_ed25519")
    relative = checkout / "staging" / "job" / "run-task.yaml"
    relative.unlink()
    relative.symlink_to("task-definition.yaml")  # even inside the checkout: a link is a link

    files = read_tree(checkout)

    assert problem(files, "staging/web/task-definition.yaml") == (
        "staging/web/task-definition.yaml:1: is a symbolic link, which is never followed: "
        "commit the file itself"
    )
    assert "symbolic link" in problem(files, "staging/job/run-task.yaml")
    state = load_path(checkout)
    assert SECRET not in repr(state)
    assert sorted(state.invalid) == ["staging/job", "staging/web"]


def test_fifos_devices_and_sockets_are_refused_without_blocking(
    checkout: Path, tmp_path: Path
) -> None:
    os.mkfifo(checkout / "staging" / "web" / "scaling-policy.yaml")
    (checkout / "staging" / "web" / "scalable-target.yaml").symlink_to("/dev/zero")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(checkout / "staging" / "job" / "service.json"))

        files = read_tree(checkout)

    assert problem(files, "staging/web/scaling-policy.yaml") == (
        "staging/web/scaling-policy.yaml:1: is a FIFO, not a regular file: not read"
    )
    assert "symbolic link" in problem(files, "staging/web/scalable-target.yaml")
    assert problem(files, "staging/job/service.json") == (
        "staging/job/service.json:1: is a socket, not a regular file: not read"
    )


def test_a_symlinked_service_or_environment_folder_is_reported(
    checkout: Path, tmp_path: Path
) -> None:
    (checkout / "staging" / "linked").symlink_to(checkout / "staging" / "web")
    (checkout / "production").symlink_to(checkout / "staging")
    (checkout / "staging" / "web" / "nested").symlink_to(tmp_path / "outside")  # never read

    files = read_tree(checkout)

    assert problem(files, "staging/linked") == (
        "staging/linked:1: is a symbolic link to a folder, which is never followed: "
        "commit a real folder"
    )
    assert "symbolic link to a folder" in problem(files, "production")
    assert not any(path.startswith(("production/", "staging/linked/")) for path in files)
    assert "staging/web/nested" not in files
    state = load_path(checkout)
    assert [str(p) for p in state.problems] == [
        str(files["production"]),
        str(files["staging/linked"]),
    ]
    assert sorted(state.services) == ["staging/job", "staging/web"]
    assert sorted(state.invalid) == ["staging/linked"]


def test_links_and_files_that_are_never_desired_state_are_left_alone(
    checkout: Path, tmp_path: Path
) -> None:
    (checkout / "README.md").symlink_to(tmp_path / "outside" / "id_ed25519")
    (checkout / "renovate.json").symlink_to("/dev/zero")  # a file at the root is never read
    os.mkfifo(checkout / "staging" / "web" / "notes.txt")
    (checkout / "staging" / "web" / "extra").mkdir()
    (checkout / "staging" / "web" / "extra" / "deploy.yaml").symlink_to("/dev/zero")
    (checkout / ".github").symlink_to(tmp_path / "outside")

    files = read_tree(checkout)

    assert all(isinstance(text, str) for text in files.values())
    assert load_path(checkout).problems == ()


def test_a_file_over_the_size_limit_is_not_read(checkout: Path) -> None:
    big = checkout / "staging" / "web" / "service.yaml"
    big.write_bytes(b"launchType: FARGATE\n" + b"#" * MAX_FILE_BYTES)
    just_fits = checkout / "staging" / "job" / "run-task.yaml"
    just_fits.write_bytes(b"count: 1\n" + b"#" * (MAX_FILE_BYTES - 10) + b"\n")

    files = read_tree(checkout)

    assert problem(files, "staging/web/service.yaml") == (
        "staging/web/service.yaml:1: the file is 1,048,596 bytes: at most 1,048,576 bytes "
        "(1 MiB) are read"
    )
    assert isinstance(files["staging/job/run-task.yaml"], str)


def test_bytes_that_are_not_utf8_are_located_at_their_line_and_column(checkout: Path) -> None:
    (checkout / "staging" / "web" / "deploy.yaml").write_bytes(
        b"strategy: rolling\nimage: caf\xe9:1\n"
    )

    files = read_tree(checkout)

    assert problem(files, "staging/web/deploy.yaml") == (
        "staging/web/deploy.yaml:2: not UTF-8: byte 0xe9 at column 11 cannot be decoded; "
        "save the file as UTF-8"
    )
    # never silently U+FFFD in an image or a cluster name
    assert load_path(checkout).invalid["staging/web"] == (files["staging/web/deploy.yaml"],)
