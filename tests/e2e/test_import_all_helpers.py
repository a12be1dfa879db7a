"""``ecs-gitops import --all`` leaves out the services the controller made beside other folders.

Against local-aws, with the CLI as a subprocess and real git: a cluster holding ``web`` and the
canary copy ``webCanary`` beside it, a blue-green generation ``api__2`` tagged as
``staging/api``'s, and ``worker`` tagged as its own folder's. ``--all`` imports ``web`` and
``worker`` and skips the other two, one line each saying why; naming a helper with ``--service``
still refuses it when it is another folder's.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from controller.localaws import LocalAws
from tests.e2e.support import Workspace, publish, run_cli

CLUSTER = "staging"
OWNER = "ecs-gitops.owner"


@pytest.fixture
def cluster(tmp_path: Path, local_aws: LocalAws) -> Workspace:
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName=CLUSTER)
    arn = ecs.register_task_definition(
        family="staging-web",
        networkMode="bridge",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[
            {"name": "web", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 128}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    for name, owner in (
        ("web", None),
        ("webCanary", None),
        ("api__2", "staging/api"),
        ("worker", "staging/worker"),
    ):
        tags = [{"key": OWNER, "value": owner}] if owner else []
        ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=arn,
            desiredCount=1,
            launchType="EC2",
            **({"tags": tags} if tags else {}),
        )
    source = tmp_path / "source"
    (source / "staging").mkdir(parents=True)
    (source / "staging" / "environment.yaml").write_text(f"cluster: {CLUSTER}\nregion: us-east-1\n")
    return publish(source, tmp_path, {})


def test_import_all_skips_a_canary_and_another_folders_generation(cluster: Workspace) -> None:
    done = run_cli("import", str(cluster.clone), "--env", "staging", "--all")

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert (
        "staging/api__2: skipped: service api__2 is tagged ecs-gitops.owner=staging/api: the "
        "controller made it for that folder, not a folder of its own"
    ) in lines
    assert (
        "staging/webCanary: skipped: service webCanary is what strategy canary creates beside "
        "staging/web, not a folder of its own"
    ) in lines
    assert lines[-1] == "2 imported, 0 refused, 2 skipped"
    folders = sorted(p.name for p in (cluster.clone / "staging").iterdir() if p.is_dir())
    assert folders == ["web", "worker"]


def test_a_helper_named_with_service_is_refused_when_another_folder_owns_it(
    cluster: Workspace,
) -> None:
    done = run_cli("import", str(cluster.clone), "--env", "staging", "--service", "api__2")

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "ecs-gitops import: staging/api__2: service api__2 is owned by staging/api "
        "(tag ecs-gitops.owner): not imported as staging/api__2"
    )
    assert not (cluster.clone / "staging" / "api__2").exists()
