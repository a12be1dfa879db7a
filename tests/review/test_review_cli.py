"""``ecs-gitops plan --changed-since REF`` as CI runs it on a pull request: a subprocess, real git.

Offline with no AWS credentials at all; live against local-aws, where the changes the pull
request makes read the same as offline and drift it does not cause stands apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from controller.core.report import COMMENT_LIMIT, MARKER
from controller.localaws import LocalAws
from tests.e2e.support import Workspace, network, publish
from tests.review.generated_repo import commit, files, git, repository, write

ROOT = Path(__file__).resolve().parent.parent.parent


def no_aws() -> dict[str, str]:
    """The environment with no AWS credentials or configuration at all, and AWS unreachable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # should anything call AWS, it fails at once
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def plan(
    checkout: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", "plan", str(checkout), *args],
        cwd=ROOT,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )


def bump(root: Path, path: str, old: str, new: str) -> None:
    target = root / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))


@pytest.fixture
def hundred(tmp_path: Path) -> tuple[Path, str]:
    """A repository of 100 services in real git, and the sha of its base commit."""
    root = tmp_path / "config"
    return root, repository(root, files(100))


def test_a_pull_request_changing_two_of_a_hundred_services_names_those_two(
    hundred: tuple[Path, str],
) -> None:
    root, _ = hundred
    git(root, "checkout", "-q", "-b", "pr")
    bump(root, "staging/svc017/deploy.yaml", "nginx:1.27", "nginx:1.28")
    bump(root, "staging/svc042/service.yaml", "desiredCount: 1", "desiredCount: 0")
    commit(root, "two services")

    done = plan(root, "--changed-since", "main", "--offline", "--format", "markdown", env=no_aws())

    assert done.returncode == 2, done.stdout + done.stderr
    comment = done.stdout
    assert comment.startswith(MARKER + "\n")
    rows = [line for line in comment.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["staging/svc017", "staging/svc042"]
    assert "in-sync" not in comment
    assert "| `staging/svc042` | update | 1 | desiredCount to 0 |" in comment
    assert "containerDefinitions[app].image: nginx:1.27 -> nginx:1.28" in comment
    assert "Summary: 0 create, 2 update, 0 replace, 0 run, 0 in sync, 0 invalid" in comment
    assert len(comment.splitlines()) < 60


def test_a_pull_request_changing_all_hundred_stays_under_githubs_limit(
    hundred: tuple[Path, str],
) -> None:
    root, _ = hundred
    # every service gets a new image, forty new variables, and a new one is created
    variables = "".join(
        f"      - name: SETTING_{i}\n        value: {'v' * 60}\n" for i in range(40)
    )
    for index in range(100):
        name = f"svc{index:03d}"
        bump(root, f"staging/{name}/deploy.yaml", "nginx:1.27", "nginx:1.28")
        bump(
            root,
            f"staging/{name}/task-definition.yaml",
            "    environment:\n",
            "    environment:\n" + variables,
        )
    write(
        root,
        {
            k.replace("svc000", "svcnew"): v.replace("svc000", "svcnew")
            for k, v in files(1).items()
            if "svc000" in k
        },
    )
    commit(root, "everything")

    done = plan(
        root, "--changed-since", "HEAD~1", "--offline", "--format", "markdown", env=no_aws()
    )

    assert done.returncode == 2, done.stderr
    assert len(done.stdout) < COMMENT_LIMIT
    assert "left out to keep this comment under 65,536 characters" in done.stdout
    assert done.stdout.count("| `staging/svc") == 101  # a row for each, the details give way
    assert "hunter2" not in done.stdout


def test_services_removed_since_the_base_say_what_prune_would_do(hundred: tuple[Path, str]) -> None:
    root, _ = hundred
    git(root, "rm", "-q", "-r", "staging/svc003")
    commit(root, "retire svc003")
    done = plan(root, "--changed-since", "HEAD~1", "--offline", "--format", "json", env=no_aws())
    assert done.returncode == 2, done.stderr
    document = json.loads(done.stdout)
    assert document["services"] == []
    assert [r["key"] for r in document["removed"]] == ["staging/svc003"]
    assert document["removed"][0]["prune"] is False


def test_a_link_at_the_base_is_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("family: leaked-secret-value\n")
    root = tmp_path / "config"
    contents = files(2)
    repository(root, contents)
    target = root / "staging/svc001/task-definition.yaml"
    target.unlink()
    target.symlink_to(secret)
    commit(root, "a link")
    (root / "staging/svc001/task-definition.yaml").unlink()
    write(
        root,
        {"staging/svc001/task-definition.yaml": contents["staging/svc001/task-definition.yaml"]},
    )
    commit(root, "the file itself again")

    done = plan(root, "--changed-since", "HEAD~1", "--offline", "--format", "json", env=no_aws())

    assert "leaked-secret-value" not in done.stdout + done.stderr
    document = json.loads(done.stdout)
    # invalid at the base (a link), valid now: a create, as against a base without it
    assert [(s["key"], s["action"]) for s in document["services"]] == [("staging/svc001", "create")]


def test_a_giant_file_at_the_base_is_never_read(tmp_path: Path) -> None:
    root = tmp_path / "config"
    contents = files(2)
    giant = contents["staging/svc001/task-definition.yaml"] + "#" * (2 << 20) + "\n"
    repository(root, {**contents, "staging/svc001/task-definition.yaml": giant})
    write(
        root,
        {"staging/svc001/task-definition.yaml": contents["staging/svc001/task-definition.yaml"]},
    )
    commit(root, "the task definition at its size again")

    done = plan(root, "--changed-since", "HEAD~1", "--offline", "--format", "json", env=no_aws())

    document = json.loads(done.stdout)
    # invalid at the base (too large to read), valid now: a create
    assert [(s["key"], s["action"]) for s in document["services"]] == [("staging/svc001", "create")]
    # the same giant at both ends: invalid the same way, so not the change's
    write(root, {"staging/svc001/task-definition.yaml": giant})
    commit(root, "giant again")
    write(root, {"staging/svc000/deploy.yaml": contents["staging/svc000/deploy.yaml"] + "# note\n"})
    commit(root, "a comment elsewhere")
    done = plan(root, "--changed-since", "HEAD~1", "--offline", "--format", "json", env=no_aws())
    assert json.loads(done.stdout)["services"] == [], done.stdout


def test_a_checkout_that_is_no_git_repository_says_so(tmp_path: Path) -> None:
    write(tmp_path / "config", files(1))
    done = plan(tmp_path / "config", "--changed-since", "main", "--offline", env=no_aws())
    assert done.returncode == 1
    assert done.stderr.strip().endswith("is not a git repository"), done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--changed-since", "no-such-branch", "--offline"), "read no-such-branch in"),
        (("--changed-since=--output=x", "--offline"), "not a revision"),
        (("--offline",), "plan --offline: needs --changed-since REF"),
    ],
)
def test_a_bad_request_ends_with_one_line(
    hundred: tuple[Path, str], args: tuple[str, ...], message: str
) -> None:
    root, _ = hundred
    done = plan(root, *args, env=no_aws())
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.fixture
def synced(tmp_path: Path, local_aws: LocalAws) -> Workspace:
    """Four services synced to local-aws from a remote; the clone holds their status files."""
    subnet, group = network(local_aws.endpoint_url)
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="staging")
    source = tmp_path / "source"
    write(source, files(4, subnet=subnet, group=group))
    ws = publish(source, tmp_path, {})
    done = ws.sync()
    assert done.returncode == 0, done.stdout + done.stderr
    ws.pull()
    return ws


def changes(
    document: dict[str, object], section: str = "services"
) -> dict[str, list[tuple[str, object, object, str]]]:
    entries = document[section]
    assert isinstance(entries, list)
    return {
        s["key"]: [(c["path"], c["old"], c["new"], c["against"]) for c in s["changes"]]
        for s in entries
    }


def test_offline_shows_the_same_changes_as_live_and_live_shows_drift_apart(
    synced: Workspace,
) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1")
    # drift nobody asked for: one service the pull request changes, one it does not
    ecs.update_service(cluster="staging", service="svc001", desiredCount=3)
    ecs.update_service(cluster="staging", service="svc003", desiredCount=2)
    clone = synced.clone
    git(clone, "checkout", "-q", "-b", "pr")
    bump(clone, "staging/svc001/deploy.yaml", "nginx:1.27", "nginx:1.28")
    bump(clone, "staging/svc002/service.yaml", "desiredCount: 1", "desiredCount: 0")
    bump(clone, "staging/svc002/task-definition.yaml", "value: info", "value: debug")
    commit(clone, "pull request")

    offline = plan(
        clone, "--changed-since", "origin/main", "--offline", "--format", "json", env=no_aws()
    )
    live = plan(clone, "--changed-since", "origin/main", "--format", "json")

    assert offline.returncode == live.returncode == 2, offline.stderr + live.stderr
    base, against_live = json.loads(offline.stdout), json.loads(live.stdout)
    expected = {
        "staging/svc001": [("containerDefinitions[app].image", "nginx:1.27", "nginx:1.28")],
        "staging/svc002": [
            ("containerDefinitions[app].environment[LOG_LEVEL]", "info", "debug"),
            ("desiredCount", 1, 0),
        ],
    }
    assert changes(base) == {
        key: [(*change, "base") for change in found] for key, found in expected.items()
    }
    assert changes(against_live) == {
        key: [(*change, "live") for change in found] for key, found in expected.items()
    }
    assert base["drift"] == []
    assert changes(against_live, "drift") == {
        "staging/svc001": [("desiredCount", 3, 1, "live")],
        "staging/svc003": [("desiredCount", 2, 1, "live")],
    }
    comment = plan(clone, "--changed-since", "origin/main", "--format", "markdown").stdout
    pull_request, drift = comment.split("### Live drift this pull request does not cause")
    assert "staging/svc003" not in pull_request and "desiredCount: 3 -> 1" not in pull_request
    assert "| `staging/svc003` | update | 1 |" in drift and "desiredCount: 3 -> 1" in drift
    assert "staging/svc000" not in comment  # in sync, untouched
