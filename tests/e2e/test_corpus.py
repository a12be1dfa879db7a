"""Real-world-shaped services converge: synced once, they stay in sync.

tests/data/corpus is one environment of services that each use a part of the ECS API whose live
answer is not the request (Service Connect and EBS volumes reported on the deployments, with ECS's
defaults and the cluster's namespace filled in; EFS's filled-in rootDirectory, lifecycle hooks
with hookDetails, FireLens, App Mesh, EC2 bridge networking, Windows, ARM64, GPUs). All of them
are published as one repository and synced together on local-aws; then, for each: validate finds
nothing, the first sync makes it Synced, ``plan`` says in-sync both with the status files
(recorded digests) and without them (every revision described), and three more passes register no
task definition, start no deployment and commit nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from controller.localaws import LocalAws
from tests.conftest import fast_options
from tests.e2e.support import DATA, Workspace, git, network, publish, run_cli

CORPUS = DATA / "corpus"
ENV = "corpus"
ITEMS = sorted(p.name for p in CORPUS.iterdir() if (p / "deploy.yaml").exists())
QUIET_PASSES = 3


@dataclass
class CorpusRun:
    """What happened to the whole corpus, looked at item by item by the tests below."""

    validate: subprocess.CompletedProcess[str]
    first_sync: subprocess.CompletedProcess[str]
    statuses: dict[str, dict[str, Any]]
    plan_with_status: dict[str, dict[str, Any]]
    plan_without_status: dict[str, dict[str, Any]]
    plan_outputs: list[str]
    plan_exit_codes: dict[str, int]
    quiet_syncs: list[subprocess.CompletedProcess[str]]
    # the files under .ecs-gitops/ that the quiet passes committed
    committed: list[str]
    revisions_before: dict[str, list[str]]
    revisions_after: dict[str, list[str]]
    deployments_before: dict[str, list[str]]
    deployments_after: dict[str, list[str]]


def _family(item: str) -> str:
    document = yaml.safe_load((CORPUS / item / "task-definition.yaml").read_text())
    return str(document["family"])


def _revisions(ecs: Any) -> dict[str, list[str]]:
    return {
        item: ecs.list_task_definitions(familyPrefix=_family(item))["taskDefinitionArns"]
        for item in ITEMS
    }


def _deployments(ecs: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for start in range(0, len(ITEMS), 10):
        names = ITEMS[start : start + 10]
        for service in ecs.describe_services(cluster=ENV, services=names)["services"]:
            found[service["serviceName"]] = [d["id"] for d in service.get("deployments") or ()]
    return found


def _plan(path: Path) -> tuple[dict[str, dict[str, Any]], str, int]:
    """``plan --format json`` of ``path``: each service's plan by key, the output, the exit code."""
    done = run_cli("plan", str(path), "--format", "json")
    output = done.stdout + done.stderr
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {}, output, done.returncode
    return {s["key"]: s for s in document["services"]}, output, done.returncode


@pytest.fixture(scope="module")
def corpus(
    _local_aws_server: LocalAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CorpusRun]:
    """The corpus published, validated, synced, planned twice and synced three more times."""
    server = _local_aws_server
    server.reset()
    server.options = fast_options()
    tmp = tmp_path_factory.mktemp("corpus")
    home = tmp / "home"
    # the suite's per-test fixtures (local_aws, git identity) cannot serve a module-wide run:
    # the same environment, set here for the whole module
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ENDPOINT_URL": server.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
        }.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        subnet, group = network(server.endpoint_url)
        ecs = boto3.client("ecs", region_name="us-east-1")
        # service-connect-client names no namespace: ECS gives it the cluster's default
        ecs.create_cluster(clusterName=ENV, serviceConnectDefaults={"namespace": "corpus.local"})
        source = tmp / "source"
        shutil.copytree(CORPUS, source / ENV)
        ws: Workspace = publish(source, tmp, {"SUBNET": subnet, "SECURITY_GROUP": group})

        validate = run_cli("validate", str(ws.clone))
        first_sync = ws.sync()
        statuses = {}
        for item in ITEMS:
            text = ws.remote_file(f".ecs-gitops/status/{ENV}/{item}.yaml")
            statuses[item] = yaml.safe_load(text) if text else {}
        ws.pull()
        with_status, out_with, code_with = _plan(ws.clone)
        bare = tmp / "without-status"
        shutil.copytree(ws.clone, bare, ignore=shutil.ignore_patterns(".git", ".ecs-gitops"))
        without_status, out_without, code_without = _plan(bare)

        head_before = ws.remote_head()
        revisions_before, deployments_before = _revisions(ecs), _deployments(ecs)
        quiet = [ws.sync() for _ in range(QUIET_PASSES)]
        committed = git(ws.remote, "diff", "--name-only", head_before, "main").splitlines()
        yield CorpusRun(
            validate=validate,
            first_sync=first_sync,
            statuses=statuses,
            plan_with_status=with_status,
            plan_without_status=without_status,
            plan_outputs=[out_with, out_without],
            plan_exit_codes={"with status files": code_with, "without status files": code_without},
            quiet_syncs=quiet,
            committed=committed,
            revisions_before=revisions_before,
            revisions_after=_revisions(ecs),
            deployments_before=deployments_before,
            deployments_after=_deployments(ecs),
        )


def _problems_of(item: str, output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{ENV}/{item}/")]


@pytest.mark.parametrize("item", ITEMS)
def test_a_real_world_service_syncs_once_and_then_stays_in_sync(
    corpus: CorpusRun, item: str
) -> None:
    key = f"{ENV}/{item}"
    assert not _problems_of(item, corpus.validate.stdout + corpus.validate.stderr), (
        corpus.validate.stdout
    )

    status = corpus.statuses[item]
    assert status.get("result") == "Synced", (
        f"{status}\n{corpus.first_sync.stdout}{corpus.first_sync.stderr}"
    )

    for name, plans in (
        ("with status files", corpus.plan_with_status),
        ("without status files", corpus.plan_without_status),
    ):
        plan = plans.get(key)
        assert plan is not None, f"plan {name}: {key} missing\n" + "\n".join(corpus.plan_outputs)
        assert plan["action"] == "in-sync", f"plan {name}: {json.dumps(plan, indent=2)}"
        if all(p["action"] == "in-sync" for p in plans.values()):
            assert corpus.plan_exit_codes[name] == 0, "\n".join(corpus.plan_outputs)

    for done in corpus.quiet_syncs:
        line = next((x for x in done.stdout.splitlines() if x.startswith(f"{key}: ")), "")
        assert line.startswith(f"{key}: Synced (in-sync"), done.stdout + done.stderr
    assert corpus.revisions_after[item] == corpus.revisions_before[item], "registered again"
    assert corpus.deployments_after[item] == corpus.deployments_before[item], "deployed again"
    mine = [path for path in corpus.committed if path.endswith(f"/{key}.yaml")]
    assert not mine, f"a pass with nothing changed committed {mine}"
