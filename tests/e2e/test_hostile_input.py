"""Hostile input in a config repository: refused at its place, and only its service is Invalid.

The CLI as a subprocess, real git, local-aws. A config checkout is not trusted: a file may be a
symbolic link to a secret of the machine the controller runs on, a FIFO, a device, a YAML alias
bomb, a 10,000-deep document, an integer of 100,000 digits, or a folder named with a newline.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.e2e.support import Workspace, git, run_cli

SECRET = "hunter2-SECRET-c0ffee-9f1b7e"
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
    "family: [*i]\n"
)
# The address space a whole `ecs-gitops sync` may use (a normal pass fits in it, an expanded
# alias bomb does not).
MEMORY_LIMIT = 1536 * 1024 * 1024


def live_names() -> set[str]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    arns = ecs.list_services(cluster="staging")["serviceArns"]
    return {arn.rsplit("/", 1)[-1] for arn in arns}


def copy_service(ws: Workspace, source: str, name: str) -> None:
    """A copy of staging/<source> as staging/<name>, with a family of its own."""
    shutil.copytree(ws.clone / "staging" / source, ws.clone / "staging" / name)
    task = ws.clone / "staging" / name / "task-definition.yaml"
    family = "staging-" + "".join(c if c.isalnum() else "-" for c in name)
    task.write_text(task.read_text().replace(f"staging-{source}", family))


def everything_on_the_remote(ws: Workspace) -> bytes:
    """Every object the remote holds, in every commit and branch: what a reader could fetch."""
    return subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=ws.remote,
        check=True,
        capture_output=True,
    ).stdout


def files_holding(root: Path, secret: str) -> list[Path]:
    """Regular files under ``root`` (links not followed) whose bytes hold ``secret``."""
    found = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink() and path.is_file() and secret.encode() in path.read_bytes():
                found.append(path)
    return found


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_a_symlinked_manifest_never_puts_what_it_points_at_in_output_or_on_the_remote(
    workspace: Workspace, tmp_path: Path
) -> None:
    secrets = tmp_path / "host"
    secrets.mkdir()
    (secrets / "git-credentials").write_text(f"https://ci:{SECRET}@git.example.com\n")
    task = workspace.clone / "staging" / "web" / "task-definition.yaml"
    task.unlink()
    task.symlink_to(secrets / "git-credentials")
    workspace.commit_and_push("web: task definition as a link")

    validated = run_cli("validate", str(workspace.clone))
    planned = run_cli("plan", str(workspace.clone))
    synced = workspace.sync()

    for done in (validated, planned, synced):
        no_traceback(done)
        assert SECRET not in done.stdout + done.stderr
    assert validated.returncode == 1
    assert validated.stdout.splitlines()[0] == (
        "staging/web/task-definition.yaml:1: is a symbolic link, which is never followed: "
        "commit the file itself"
    )
    assert planned.returncode == 1
    assert "staging/web/task-definition.yaml:1: is a symbolic link" in planned.stdout
    assert synced.returncode == 1, synced.stdout + synced.stderr

    web = workspace.status("staging/web")
    assert web["result"] == "Invalid"
    assert "staging/web/task-definition.yaml:1: is a symbolic link" in web["message"]
    for other in ("worker", "api"):
        assert workspace.status(f"staging/{other}")["result"] == "Synced"
    assert live_names() == {"worker", "api"}

    assert SECRET.encode() not in everything_on_the_remote(workspace)
    # nor in anything the controller keeps next to its clone (render cache, journal...)
    assert files_holding(tmp_path, SECRET) == [secrets / "git-credentials"]


def test_a_fifo_and_a_link_to_dev_zero_are_located_errors_and_never_hang(
    workspace: Workspace,
) -> None:
    zero = workspace.clone / "staging" / "worker" / "task-definition.yaml"
    zero.unlink()
    zero.symlink_to("/dev/zero")
    workspace.commit_and_push("worker: a link to /dev/zero")
    # a FIFO cannot be committed; a checkout on disk (validate, plan) can hold one
    os.mkfifo(workspace.clone / "staging" / "api" / "scaling-policy.yaml.fifo")
    fifo = workspace.clone / "staging" / "api" / "scaling-policy.yaml"
    fifo.unlink()
    os.rename(fifo.with_name("scaling-policy.yaml.fifo"), fifo)

    validated = run_cli("validate", str(workspace.clone), timeout=30)
    synced = workspace.sync(timeout=60)

    no_traceback(validated)
    assert validated.returncode == 1
    assert validated.stdout.splitlines() == [
        "staging/api/scaling-policy.yaml:1: is a FIFO, not a regular file: not read",
        "staging/worker/task-definition.yaml:1: is a symbolic link, which is never followed: "
        "commit the file itself",
    ]
    no_traceback(synced)
    assert workspace.status("staging/worker")["result"] == "Invalid"
    assert workspace.status("staging/web")["result"] == "Synced"
    assert workspace.status("staging/api")["result"] == "Synced"  # its committed policy is fine


def test_a_symlinked_service_folder_is_reported_and_its_service_is_invalid(
    workspace: Workspace, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(workspace.clone / "staging" / "worker", outside)
    (workspace.clone / "staging" / "extra").symlink_to(outside)
    workspace.commit_and_push("extra: a linked folder")

    validated = run_cli("validate", str(workspace.clone))
    synced = workspace.sync()

    assert validated.returncode == 1
    assert validated.stdout.splitlines() == [
        "staging/extra:1: is a symbolic link to a folder, which is never followed: "
        "commit a real folder"
    ]
    no_traceback(synced)
    assert workspace.status("staging/extra")["result"] == "Invalid"
    assert {workspace.status(f"staging/{n}")["result"] for n in ("web", "worker", "api")} == {
        "Synced"
    }


def test_files_beyond_the_reading_bounds_are_located_errors_and_the_pass_goes_on(
    workspace: Workspace,
) -> None:
    hostile: dict[str, tuple[str, bytes]] = {
        "deep": ("task-definition.json", b"[" * 10_000 + b"]" * 10_000),
        "bomb": ("task-definition.yaml", ALIAS_BOMB.encode()),
        "digits": ("service.yaml", b"launchType: FARGATE\ndesiredCount: " + b"7" * 100_000),
        "huge": ("task-definition.yaml", b"family: huge\n" + b"# padding\n" * 200_000),
        "latin1": (
            "task-definition.yaml",
            "family: staging-latin1\n# caf\u00e9\n".encode("latin-1"),
        ),
    }
    for name, (file, content) in hostile.items():
        copy_service(workspace, "worker", name)
        folder = workspace.clone / "staging" / name
        if file.startswith("task-definition"):
            (folder / "task-definition.yaml").unlink()  # the hostile one may be its .json twin
        (folder / file).write_bytes(content)
    workspace.commit_and_push("five hostile services")
    assert len(ALIAS_BOMB) < 600

    validated = cli_within_memory("validate", str(workspace.clone))
    synced = sync_within_memory(workspace)

    no_traceback(validated)
    assert validated.stdout.splitlines() == [
        "staging/bomb/task-definition.yaml:1: aliases expand to more than 10,000 values "
        "(a YAML alias bomb?): write the values out",
        "staging/deep/task-definition.json:1: lists and mappings are nested more than 64 "
        "levels deep",
        "staging/digits/service.yaml:2: an integer of 100,000 digits: at most 32 are allowed",
        "staging/huge/task-definition.yaml:1: the file is 2,000,013 bytes: at most 1,048,576 "
        "bytes (1 MiB) are read",
        "staging/latin1/task-definition.yaml:2: not UTF-8: byte 0xe9 at column 6 cannot be "
        "decoded; save the file as UTF-8",
    ]
    no_traceback(synced)
    assert synced.returncode == 1, synced.stdout + synced.stderr
    for name in hostile:
        assert workspace.status(f"staging/{name}")["result"] == "Invalid"
    for name in ("web", "worker", "api"):
        assert workspace.status(f"staging/{name}")["result"] == "Synced"
    assert live_names() == {"web", "worker", "api"}


def cli_within_memory(*args: str, limit: int = MEMORY_LIMIT) -> subprocess.CompletedProcess[str]:
    """The CLI in a process that cannot take more than ``limit`` bytes of address space."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        preexec_fn=cap,
    )


def sync_within_memory(ws: Workspace) -> subprocess.CompletedProcess[str]:
    return cli_within_memory(
        "sync", "--repo", str(ws.remote), "--workdir", str(ws.workdir), "--poll-interval", "0.2"
    )


def test_a_normal_sync_fits_in_the_memory_limit(workspace: Workspace) -> None:
    """The limit of the alias-bomb test measures the bomb, not the controller's normal needs."""
    done = sync_within_memory(workspace)
    assert done.returncode == 0, done.stdout + done.stderr
    assert live_names() == {"web", "worker", "api"}


def test_folder_names_that_are_no_ecs_names_are_located_and_the_others_deploy(
    workspace: Workspace,
) -> None:
    copy_service(workspace, "worker", "we\nb")
    copy_service(workspace, "worker", "my web")
    workspace.commit_and_push("two folders ECS would refuse")

    validated = run_cli("validate", str(workspace.clone))
    synced = workspace.sync()

    assert validated.returncode == 1
    assert validated.stdout.splitlines() == [
        "staging/my web/deploy.yaml:1: service folder name 'my web' is not usable: a folder "
        "name must be an ECS name (letters, digits, '-' and '_', 1 to 255 of them); nothing "
        "in it is loaded",
        "staging/we\\nb/deploy.yaml:1: service folder name 'we\\nb' is not usable: a folder "
        "name must be an ECS name (letters, digits, '-' and '_', 1 to 255 of them); nothing "
        "in it is loaded",
    ]
    no_traceback(synced)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    for name in ("web", "worker", "api"):
        assert workspace.status(f"staging/{name}")["result"] == "Synced"
    files = git(workspace.remote, "ls-tree", "-r", "--name-only", "main", ".ecs-gitops")
    assert sorted(files.splitlines()) == [
        ".ecs-gitops/status/staging/api.yaml",
        ".ecs-gitops/status/staging/web.yaml",
        ".ecs-gitops/status/staging/worker.yaml",
    ]
    assert live_names() == {"web", "worker", "api"}


@pytest.mark.parametrize(
    ("count", "line"),
    [
        ("-3", "desiredCount -3 is less than 0: a negative number of tasks"),
        ("1.0e+38", "desiredCount 1e+38 is more than 10000: more than 10,000 tasks is a typo"),
    ],
)
def test_an_impossible_desired_count_is_refused_at_its_line(
    workspace: Workspace, count: str, line: str
) -> None:
    workspace.replace("staging/web/service.yaml", "desiredCount: 2", f"desiredCount: {count}")
    workspace.commit_and_push("web: a count ECS would refuse")

    validated = run_cli("validate", str(workspace.clone))
    synced = workspace.sync()

    assert validated.returncode == 1
    (problem,) = validated.stdout.splitlines()
    assert problem.startswith(f"staging/web/service.yaml:2: {line}")
    assert synced.returncode == 1
    assert workspace.status("staging/web")["result"] == "Invalid"
    assert workspace.status("staging/worker")["result"] == "Synced"
    assert "web" not in live_names()


@pytest.mark.parametrize("command", ["plan", "sync", "run"])
def test_an_only_that_is_no_env_or_service_is_refused(command: str, tmp_path: Path) -> None:
    where: list[str] = [str(tmp_path)] if command == "plan" else ["--repo", str(tmp_path)]
    done = run_cli(command, *where, "--only", "../../etc", timeout=30)

    assert done.returncode == 2
    no_traceback(done)
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == (
        f"ecs-gitops {command}: error: argument --only: expected ENV or ENV/SERVICE, folder "
        "names of letters, digits, '-' and '_', 1 to 255 of them; got '../../etc'"
    )


@pytest.mark.parametrize("command", ["sync", "run"])
@pytest.mark.parametrize("flag", ["--branch", "--status-branch"])
def test_a_branch_that_looks_like_an_option_is_refused_before_git_runs(
    command: str, flag: str, tmp_path: Path
) -> None:
    marker = tmp_path / "upload-pack-ran"
    workdir = tmp_path / "work"
    hostile = f"--upload-pack=touch {marker}"
    common = ["--repo", str(tmp_path / "nowhere.git"), "--workdir", str(workdir)]

    # with a space in it, argparse passes it on as the flag's value in either form
    for form in ([f"{flag}={hostile}"], [flag, hostile]):
        done = run_cli(command, *common, *form, timeout=30)
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == f"ecs-gitops {command}: not a usable branch name: {hostile!r}\n"
    # without one, argparse takes it for an option of its own and refuses it itself
    done = run_cli(command, *common, flag, "--upload-pack=x", timeout=30)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith(f"argument {flag}: expected one argument")
    no_traceback(done)
    assert not marker.exists()
    assert not workdir.exists()
