"""ConfigRepository against real git: a bare repository as the remote, real clones and pushes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from controller.errors import GitError
from controller.source.git_repo import ConfigRepository


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    done = subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=repo)
    return done.returncode == 0


class Author:
    """Someone with their own clone of the remote, committing and pushing by hand."""

    def __init__(self, remote: Path, clone: Path) -> None:
        git(remote.parent, "clone", "--quiet", str(remote), str(clone))
        self.path = clone

    def write(self, files: dict[str, str | None], message: str) -> str:
        git(self.path, "pull", "--quiet", "--ff-only", "origin", "main")
        for name, text in files.items():
            target = self.path / name
            if text is None:
                git(self.path, "rm", "--quiet", name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
                git(self.path, "add", name)
        git(self.path, "commit", "--quiet", "-m", message)
        git(self.path, "push", "--quiet", "origin", "HEAD:main")
        return git(self.path, "rev-parse", "HEAD")


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A known identity for hand-made commits, and no user configuration or cache touched."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Dev")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "dev@example.com")


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository holding one environment with two services."""
    bare = tmp_path / "config.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(seed))
    for name in ("staging/environment.yaml", "staging/web/deploy.yaml", "staging/api/deploy.yaml"):
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(f"# {name}\n")
    git(seed, "add", ".")
    git(seed, "commit", "--quiet", "-m", "staging: web and api")
    git(seed, "push", "--quiet", str(bare), "main")
    return bare


@pytest.fixture
def author(remote: Path, tmp_path: Path) -> Author:
    return Author(remote, tmp_path / "author")


def tip(remote: Path, branch: str = "main") -> str:
    return git(remote, "rev-parse", f"refs/heads/{branch}")


def files_changed(remote: Path, commit: str) -> list[str]:
    return git(remote, "diff-tree", "--root", "-r", "--name-only", "--no-commit-id", commit).split()


# ------------------------------------------------------------------------------------ pull


def test_pull_clones_then_fetches_into_the_same_clone(
    remote: Path, author: Author, tmp_path: Path
) -> None:
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    assert repo.pull() == tip(remote)
    assert (repo.path / "staging/web/deploy.yaml").read_text() == "# staging/web/deploy.yaml\n"
    (repo.path / ".git" / "still-here").write_text("a re-clone would remove this")

    second = author.write({"staging/web/deploy.yaml": "image: web:2\n"}, "web: v2")
    assert repo.pull() == second
    assert (repo.path / "staging/web/deploy.yaml").read_text() == "image: web:2\n"
    assert (repo.path / ".git" / "still-here").exists()


def test_pull_follows_a_force_pushed_branch_and_drops_strays(
    remote: Path, author: Author, tmp_path: Path
) -> None:
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    author.write({"staging/extra.yaml": "x: 1\n"}, "extra")
    old = repo.pull()
    (repo.path / "stray.txt").write_text("not in git")

    git(author.path, "reset", "--quiet", "--hard", "HEAD~1")
    (author.path / "staging/web/deploy.yaml").write_text("rewritten\n")
    git(author.path, "commit", "--quiet", "-am", "rewritten history")
    git(author.path, "push", "--quiet", "--force", "origin", "HEAD:main")

    new = repo.pull()
    assert new == tip(remote) != old
    assert not is_ancestor(remote, old, new)
    assert not (repo.path / "staging/extra.yaml").exists()
    assert not (repo.path / "stray.txt").exists()
    assert (repo.path / "staging/web/deploy.yaml").read_text() == "rewritten\n"
    assert git(repo.path, "rev-parse", "HEAD") == new


def test_pull_reclones_corrupt_objects(remote: Path, tmp_path: Path) -> None:
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    repo.pull()
    (repo.path / ".git" / "still-here").write_text("gone after a re-clone")
    for folder, _, names in os.walk(repo.path / ".git" / "objects"):
        for name in names:
            path = Path(folder, name)
            path.chmod(0o644)
            path.write_bytes(b"garbage")
    (repo.path / "staging/web/deploy.yaml").unlink()

    again = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    assert again.pull() == tip(remote)
    assert (again.path / "staging/web/deploy.yaml").read_text() == "# staging/web/deploy.yaml\n"
    assert not (again.path / ".git" / "still-here").exists()
    assert git(again.path, "fsck", "--no-progress") == ""


def test_pull_reclones_when_git_folder_is_missing_in_the_default_workdir(
    remote: Path,
) -> None:
    repo = ConfigRepository(url=str(remote))
    repo.pull()
    assert repo.path.is_relative_to(Path(os.environ["XDG_CACHE_HOME"], "ecs-gitops"))
    shutil.rmtree(repo.path / ".git")

    assert ConfigRepository(url=str(remote)).pull() == tip(remote)
    assert (repo.path / ".git").is_dir()


def test_pull_reclones_a_clone_of_another_repository(remote: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(remote), str(other))
    Author(other, tmp_path / "other-author").write({"only-in-other": "x"}, "other")
    ConfigRepository(url=str(other), workdir=tmp_path / "work").pull()
    assert (tmp_path / "work" / "only-in-other").exists()

    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    assert repo.pull() == tip(remote)
    assert not (repo.path / "only-in-other").exists()
    assert git(repo.path, "remote", "get-url", "origin") == str(remote)


def test_pull_refuses_to_delete_a_folder_it_did_not_create(remote: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")

    with pytest.raises(GitError) as caught:
        ConfigRepository(url=str(remote), workdir=mine).pull()
    assert not caught.value.retryable
    assert (mine / "notes.txt").read_text() == "precious"


def test_missing_branch_is_a_permanent_error(remote: Path, tmp_path: Path) -> None:
    repo = ConfigRepository(url=str(remote), branch="nope", workdir=tmp_path / "work")
    with pytest.raises(GitError) as caught:
        repo.pull()
    assert not caught.value.retryable
    assert "fetch nope from" in str(caught.value)
    assert "nope" in str(caught.value).split(":", 1)[1]


def test_credentials_never_appear_in_errors(tmp_path: Path) -> None:
    url = "https://deployer:secret@127.0.0.1:1/config.git"
    repo = ConfigRepository(url=url, workdir=tmp_path / "work")
    with pytest.raises(GitError) as caught:
        repo.pull()
    error = caught.value
    assert error.retryable  # nothing listens there: a network failure
    assert "127.0.0.1" in str(error)
    assert "secret" not in str(error)
    assert "secret" not in str(error.__cause__)
    assert "secret" not in repo.url
    assert "secret" not in str(repo.path)


def test_a_remote_that_never_answers_is_a_retryable_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        repo = ConfigRepository(
            url=f"http://token:secret@127.0.0.1:{port}/config.git",
            workdir=tmp_path / "work",
            network_timeout=1,
        )
        with pytest.raises(GitError) as caught:
            repo.pull()
    assert caught.value.retryable
    assert "secret" not in str(caught.value)
    assert not (tmp_path / "work").exists()  # no half-made clone left behind
    assert not list(tmp_path.glob(".work.*"))


# -------------------------------------------------------------------------- history


def test_commits_touching_a_service_between_two_commits(
    remote: Path, author: Author, tmp_path: Path
) -> None:
    first = tip(remote)
    web2 = author.write({"staging/web/deploy.yaml": "image: web:2\n"}, "web: v2")
    author.write({"staging/api/deploy.yaml": "image: api:2\n"}, "api: v2")
    env = author.write({"staging/environment.yaml": "cluster: c\n"}, "staging: cluster")
    web3 = author.write({"staging/web/deploy.yaml": "image: web:3\n"}, "web: v3")
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    repo.pull()

    paths = ["staging/web", "staging/environment.yaml"]
    assert repo.commits_touching(first, web3, paths) == [web2, env, web3]
    assert repo.commits_touching(web2, web3, ["staging/web"]) == [web3]
    assert repo.commits_touching(web3, first, paths) == []  # not after: nothing to say
    assert repo.commits_touching("0" * 40, web3, paths) == []  # unknown: nothing to say


def test_config_commits_picks_the_newest_commit_per_service(
    remote: Path, author: Author, tmp_path: Path
) -> None:
    first = tip(remote)
    web = author.write({"staging/web/deploy.yaml": "image: web:2\n"}, "web: v2")
    git(author.path, "checkout", "--quiet", "-b", "feature")
    author_api = author.path / "staging/api/deploy.yaml"
    author_api.write_text("image: api:2\n")
    git(author.path, "commit", "--quiet", "-am", "api: v2")
    git(author.path, "checkout", "--quiet", "main")
    git(author.path, "merge", "--quiet", "--no-ff", "-m", "merge feature", "feature")
    git(author.path, "push", "--quiet", "origin", "main")
    merge = tip(remote)
    sibling = author.write({"staging/web2/deploy.yaml": "x\n"}, "web2 appears")
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    repo.pull()
    status = repo.commit_status({".ecs-gitops/status/staging/web.json": "{}"}, message="status")
    assert status is not None
    repo.pull()

    found = repo.config_commits(
        {
            "staging/web": ["staging/web", "staging/environment.yaml"],
            "staging/api": ["staging/api/"],
            "staging/env": ["./staging/environment.yaml"],
            "everything": ["."],
            "ghost": ["production/ghost"],
        }
    )
    assert found == {
        "staging/web": web,
        "staging/api": merge,  # the commit that brought the change to main
        "staging/env": first,
        "everything": sibling,  # not the newer status-only commit
    }


def test_changed_paths_between_commits(remote: Path, author: Author, tmp_path: Path) -> None:
    old = tip(remote)
    author.write({"staging/web/deploy.yaml": "v2\n", "staging/api/deploy.yaml": None}, "two")
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    new = repo.pull()

    assert repo.changed_paths(old, new) == {"staging/web/deploy.yaml", "staging/api/deploy.yaml"}
    assert repo.changed_paths(new, new) == set()
    # answered by the newest commit: the walk stops there
    assert repo.config_commits({"staging/web": ["staging/web"]}) == {"staging/web": new}
    assert repo.changed_paths("1" * 40, new) is None
    with pytest.raises(ValueError):
        repo.changed_paths("--output=x", new)


# --------------------------------------------------------------------------- status


def test_commit_status_makes_one_commit_touching_only_status_files(
    remote: Path, tmp_path: Path
) -> None:
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    before = repo.pull()
    changes: dict[str, str | None] = {
        ".ecs-gitops/status/staging/web.json": '{"synced": true}\n',
        ".ecs-gitops/status/staging/api.json": '{"synced": false}\n',
    }

    commit = repo.commit_status(changes, message="status: 2 services")
    assert commit == tip(remote)
    assert git(remote, "rev-parse", f"{commit}^") == before
    assert sorted(files_changed(remote, commit)) == sorted(changes)
    assert git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", commit) == (
        "ecs-gitops <ecs-gitops@localhost>|ecs-gitops <ecs-gitops@localhost>|status: 2 services"
    )
    assert repo.read_status() == changes
    # the working tree (the tracked config) is left alone
    assert not (repo.path / ".ecs-gitops").exists()

    assert repo.commit_status(changes, message="again") is None
    assert tip(remote) == commit

    deleted = repo.commit_status({".ecs-gitops/status/staging/api.json": None}, message="rm")
    assert deleted == tip(remote)
    assert files_changed(remote, deleted) == [".ecs-gitops/status/staging/api.json"]
    assert repo.commit_status({".ecs-gitops/status/staging/api.json": None}, message="rm") is None
    assert repo.commit_status({}, message="nothing") is None
    assert tip(remote) == deleted


@pytest.mark.parametrize(
    "path",
    [
        "staging/web/deploy.yaml",
        ".ecs-gitops",
        ".ecs-gitops/../x",
        "/.ecs-gitops/a",
        ".ecs-gitops//a",
    ],
)
def test_commit_status_refuses_paths_outside_its_folder(
    remote: Path, tmp_path: Path, path: str
) -> None:
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    repo.pull()
    with pytest.raises(ValueError):
        repo.commit_status({path: "x"}, message="nope")
    assert len(git(remote, "rev-list", "main").split()) == 1


def test_commit_status_uses_the_configured_author(remote: Path, tmp_path: Path) -> None:
    repo = ConfigRepository(
        url=str(remote), workdir=tmp_path / "work", author="Deploy Bot <bot@example.com>"
    )
    repo.pull()
    commit = repo.commit_status({".ecs-gitops/a": "1"}, message="m")
    assert commit is not None
    assert git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>", commit) == (
        "Deploy Bot <bot@example.com>|Deploy Bot <bot@example.com>"
    )


def test_status_commit_survives_a_push_made_during_the_pass(
    remote: Path, author: Author, tmp_path: Path
) -> None:
    sleeps: list[float] = []
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work", sleep=sleeps.append)
    repo.pull()
    theirs = author.write({"staging/web/deploy.yaml": "image: web:3\n"}, "web: v3")

    ours = repo.commit_status({".ecs-gitops/status/staging/web.json": "ok\n"}, message="status")

    assert ours == tip(remote)
    assert git(remote, "rev-parse", f"{ours}^") == theirs  # re-applied on top, not merged
    assert is_ancestor(remote, theirs, ours)
    assert files_changed(remote, ours) == [".ecs-gitops/status/staging/web.json"]
    assert git(remote, "show", f"{ours}:staging/web/deploy.yaml") == "image: web:3"
    assert len(sleeps) == 1  # the first push was refused, the second landed


def test_gives_up_without_forcing_when_the_branch_keeps_moving(
    remote: Path, author: Author, tmp_path: Path
) -> None:
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work", push_attempts=1)
    repo.pull()
    theirs = author.write({"staging/web/deploy.yaml": "image: web:3\n"}, "web: v3")

    with pytest.raises(GitError) as caught:
        repo.commit_status({".ecs-gitops/status/web": "ok\n"}, message="status")
    assert caught.value.retryable
    assert tip(remote) == theirs


def test_remote_wins_for_status_files_this_pass_did_not_write(
    remote: Path, author: Author, tmp_path: Path
) -> None:
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work", sleep=lambda _: None)
    repo.pull()
    repo.commit_status(
        {".ecs-gitops/rollback/staging/web.json": "roll back\n", ".ecs-gitops/status/web": "old\n"},
        message="status",
    )
    repo.pull()
    # Meanwhile a user deletes the rollback marker and edits the status file by hand.
    theirs = author.write(
        {".ecs-gitops/rollback/staging/web.json": None, ".ecs-gitops/status/web": "by hand\n"},
        "clear the rollback marker",
    )

    ours = repo.commit_status({".ecs-gitops/status/web": "new\n"}, message="status")

    assert ours is not None and is_ancestor(remote, theirs, ours)
    assert (
        git(remote, "ls-tree", "-r", "--name-only", ours, ".ecs-gitops") == ".ecs-gitops/status/web"
    )
    assert git(remote, "show", f"{ours}:.ecs-gitops/status/web") == "new"
    assert repo.read_status() == {".ecs-gitops/status/web": "new\n"}


def test_concurrent_controllers_all_land_their_status(remote: Path, tmp_path: Path) -> None:
    writers = [
        ConfigRepository(url=str(remote), workdir=tmp_path / f"work-{n}", push_attempts=20)
        for n in range(4)
    ]
    for writer in writers:
        writer.pull()
    start = threading.Barrier(len(writers))
    results: dict[int, str | None] = {}

    def write(n: int) -> None:
        start.wait()
        results[n] = writers[n].commit_status({f".ecs-gitops/status/{n}": f"{n}\n"}, message=f"{n}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = tip(remote)
    history = git(remote, "rev-list", "--first-parent", final).split()
    assert len(history) == 1 + len(writers)
    assert sorted(results) == list(range(len(writers)))
    assert all(commit in history for commit in results.values())
    listed = git(remote, "ls-tree", "-r", "--name-only", final, ".ecs-gitops").split()
    assert sorted(listed) == [f".ecs-gitops/status/{n}" for n in range(len(writers))]


def test_separate_status_branch_is_created_as_an_orphan(remote: Path, tmp_path: Path) -> None:
    main = tip(remote)
    repo = ConfigRepository(
        url=str(remote), workdir=tmp_path / "work", status_branch="ecs-gitops-status"
    )
    assert repo.pull() == main
    assert repo.read_status() == {}
    assert repo.commit_status({".ecs-gitops/gone": None}, message="nothing to delete") is None

    first = repo.commit_status({".ecs-gitops/status/web": "1\n"}, message="first")
    assert first == tip(remote, "ecs-gitops-status")
    assert git(remote, "rev-list", "--parents", "-n1", first) == first  # no parent
    assert git(remote, "ls-tree", "-r", "--name-only", first) == ".ecs-gitops/status/web"
    assert tip(remote) == main

    second = repo.commit_status({".ecs-gitops/status/web": "2\n"}, message="second")
    assert git(remote, "rev-parse", f"{second}^") == first

    elsewhere = ConfigRepository(
        url=str(remote), workdir=tmp_path / "elsewhere", status_branch="ecs-gitops-status"
    )
    assert elsewhere.pull() == main
    assert elsewhere.read_status() == {".ecs-gitops/status/web": "2\n"}
    assert not (elsewhere.path / ".ecs-gitops").exists()


# ------------------------------------------------------------------------ local paths


def test_a_relative_local_path_works_from_any_working_directory(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(remote.parent)
    repo = ConfigRepository(url=f"./{remote.name}", workdir=tmp_path / "work")
    assert repo.pull() == tip(remote)
    assert repo.commit_status(
        {".ecs-gitops/status/staging/web.yaml": "result: Synced\n"}, message="s"
    )


def test_pushing_status_to_a_checked_out_branch_says_what_to_do(tmp_path: Path) -> None:
    # a developer's own (non-bare) repository, main checked out: git refuses to update it
    checkout = tmp_path / "config"
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(checkout))
    (checkout / "staging").mkdir()
    (checkout / "staging" / "environment.yaml").write_text("cluster: staging\n")
    git(checkout, "add", ".")
    git(checkout, "commit", "--quiet", "-m", "staging")
    repo = ConfigRepository(url=str(checkout), workdir=tmp_path / "work")
    repo.pull()
    with pytest.raises(GitError) as raised:
        repo.commit_status({".ecs-gitops/status/staging/web.yaml": "result: Synced\n"}, message="s")
    assert "--status-branch" in str(raised.value)
    assert not raised.value.retryable
    # with a status branch, the same repository works
    repo = ConfigRepository(url=str(checkout), workdir=tmp_path / "work2", status_branch="status")
    repo.pull()
    assert repo.commit_status(
        {".ecs-gitops/status/staging/web.yaml": "result: Synced\n"}, message="s"
    )
    assert git(checkout, "show", "status:.ecs-gitops/status/staging/web.yaml") == "result: Synced"


def test_foreign_status_files_are_those_last_changed_by_anyone_but_the_controller(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = Author(remote, tmp_path / "dev")
    repo = ConfigRepository(url=str(remote), workdir=tmp_path / "work")
    repo.pull()
    web, api, job = (f".ecs-gitops/status/staging/{n}.yaml" for n in ("web", "api", "job"))
    repo.commit_status({web: "ours\n", api: "ours\n"}, message="status: 2 Synced")
    author.write({api: "edited by hand\n"}, "api: mark it synced")
    # a status commit of a version before the trailer: the controller's author and subject
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "ecs-gitops")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ecs-gitops@localhost")
    author.write({job: "older controller\n"}, "status: 1 Synced")
    # the same identity without the status subject or the trailer is not the controller
    author.write({web: "forged\n"}, "web: looks like ecs-gitops")
    repo.pull()

    current = repo.read_status()
    foreign = repo.foreign_status_files(current)

    assert sorted(foreign) == [api, web]
    assert "Dev <dev@example.com>" in foreign[api]
    # the controller rewriting a file makes it its own again, and a later pass reads only
    # the new history (the verdicts are kept next to the clone)
    repo.commit_status({api: "ours again\n"}, message="status: 1 Synced")
    repo.pull()
    assert sorted(repo.foreign_status_files(repo.read_status())) == [web]
    author.write({web: None}, "delete web's status: deleting is always allowed")
    repo.pull()
    assert repo.foreign_status_files(repo.read_status()) == {}
