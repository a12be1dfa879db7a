"""examples/ci: the workflows parse, every ecs-gitops command they run exists with those flags,
and the plan step of the GitHub workflow, run as written, leaves the comment CI posts."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.cli import build_parser
from controller.core.report import MARKER
from tests.review.generated_repo import commit, files, repository

CI = Path(__file__).resolve().parent.parent.parent / "examples" / "ci"
SHELL_ENDS = {">", ">>", "|", "||", "&&", ";", "2>&1"}


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((CI / name).read_text())
    assert isinstance(document, dict)
    return document


def github_scripts() -> list[str]:
    steps = [
        step for job in workflow("github-actions.yml")["jobs"].values() for step in job["steps"]
    ]
    return [step["run"] for step in steps if "run" in step]


def gitlab_scripts() -> list[str]:
    job = workflow("gitlab-ci.yml")["ecs-gitops-plan"]
    return [*job["before_script"], *job["script"]]


def commands(scripts: list[str]) -> list[list[str]]:
    """Every ``ecs-gitops ...`` command line in shell scripts, as argv (variables as ``REF``)."""
    found: list[list[str]] = []
    for script in scripts:
        for line in script.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line.startswith("ecs-gitops "):
                continue
            argv: list[str] = []
            for token in shlex.split(line):
                if token in SHELL_ENDS:
                    break
                argv.append("REF" if "$" in token else token)
            found.append(argv)
    return found


@pytest.mark.parametrize("scripts", [github_scripts, gitlab_scripts], ids=["github", "gitlab"])
def test_every_command_the_workflow_runs_exists_with_those_flags(scripts: Any) -> None:
    argvs = commands(scripts())
    assert {tuple(argv[:2]) for argv in argvs} == {
        ("ecs-gitops", "validate"),
        ("ecs-gitops", "plan"),
    }
    plans = [build_parser().parse_args(argv[1:]) for argv in argvs if argv[1] == "plan"]
    # offline by default, live as the option; both read the change since the base
    assert sorted(args.offline for args in plans) == [False, True]
    assert all(args.changed_since == "REF" and args.format == "markdown" for args in plans)
    for argv in argvs:
        build_parser().parse_args(argv[1:])  # exits 2 on an unknown command or flag


def test_both_find_their_comment_by_the_marker_plan_writes() -> None:
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        assert MARKER in (CI / name).read_text()
    github = workflow("github-actions.yml")
    # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
    assert github.get("on", github.get(True)) == {"pull_request": None}
    rules = workflow("gitlab-ci.yml")["ecs-gitops-plan"]["rules"]
    assert rules == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]


def test_the_github_plan_step_as_written_leaves_the_comment(tmp_path: Path) -> None:
    (step,) = [
        step
        for job in workflow("github-actions.yml")["jobs"].values()
        for step in job["steps"]
        if step.get("id") == "plan"
    ]
    root = tmp_path / "config"
    base = repository(root, files(3))
    target = root / "staging/svc001/deploy.yaml"
    target.write_text(target.read_text().replace("nginx:1.27", "nginx:1.28"))
    commit(root, "bump")
    output = tmp_path / "github-output"
    bin_dir = Path(sys.executable).parent  # where the ecs-gitops script is installed
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "BASE": base,
        "LIVE": "",
        "GITHUB_OUTPUT": str(output),
    }
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=root, env=env, check=True, timeout=120)
    comment = (root / "plan.md").read_text()
    assert comment.startswith(MARKER + "\n")
    assert "| `staging/svc001` | update | 1 |" in comment
    assert output.read_text() == "exit=2\n"
