"""Where a change may deploy: --allowed-accounts, --allowed-clusters and allowedAccounts.

The CLI as a subprocess against local-aws and a bare git remote. In local-aws (moto), the
default credentials act in account 123456789012, and assuming a role of another account acts
in that account (ECS resources included), which is how a commit adding a foreign roleArn is
played. The STS call budget is counted in-process, where the controller's calls are visible.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from controller.aws.clients import forget_clients
from controller.cli import build_parser
from controller.core.outcome import Result
from controller.reconcile import PassReport
from tests.e2e.controllers import Controller
from tests.e2e.support import Workspace, pass_in_process, run_cli

HOME = "123456789012"  # the account local-aws's default credentials act in
OTHER = "210987654321"
ROLE = f"arn:aws:iam::{OTHER}:role/x"
REGION = "us-east-1"


def home(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def other(service: str) -> Any:
    """A client acting in the other account, as the controller would after assuming ROLE."""
    credentials = home("sts").assume_role(RoleArn=ROLE, RoleSessionName="test")["Credentials"]
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def image(cluster: str, service: str, ecs: Any = None) -> str:
    ecs = ecs or home("ecs")
    arn = ecs.describe_services(cluster=cluster, services=[service])["services"][0][
        "taskDefinition"
    ]
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return str(definition["containerDefinitions"][0]["image"])


def task_definitions(ecs: Any) -> list[str]:
    return list(ecs.list_task_definitions()["taskDefinitionArns"])


@pytest.fixture
def envs(workspace: Workspace) -> Iterator[Workspace]:
    """staging (web, worker, api on cluster staging) and production (web on cluster production)."""
    shutil.copytree(workspace.clone / "staging" / "web", workspace.clone / "production" / "web")
    workspace.write(
        "production/environment.yaml",
        workspace.read("staging/environment.yaml").replace(
            "cluster: staging", "cluster: production"
        ),
    )
    workspace.replace("production/web/task-definition.yaml", "staging-web", "production-web")
    workspace.commit_and_push("production: web")
    home("ecs").create_cluster(clusterName="production")
    # the other account has a staging cluster too: only the allow-list stands in the way
    other("ecs").create_cluster(clusterName="staging")
    forget_clients()
    yield workspace
    forget_clients()


def point_staging_at_the_other_account(ws: Workspace) -> None:
    """A commit adding a foreign roleArn to staging, with an image bump in both environments."""
    ws.replace(
        "staging/environment.yaml", "region: us-east-1\n", f"region: us-east-1\nroleArn: {ROLE}\n"
    )
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.replace("production/web/deploy.yaml", "nginx:1.26", "nginx:1.27")
    ws.commit_and_push(f"staging: deploy with {ROLE}")


def assert_staging_untouched(ws: Workspace, *, revisions_before: list[str], refusal: str) -> None:
    for name in ("web", "worker", "api"):
        status = ws.status(f"staging/{name}")
        assert status["result"] == "Failed"
        assert status["message"].startswith(refusal), status["message"]
        assert ws.marker(f"staging/{name}") is None  # nothing was deployed, nothing rolled back
    # nothing registered or created in the other account, nothing new in this one for staging
    assert task_definitions(other("ecs")) == []
    assert other("ecs").list_services(cluster="staging")["serviceArns"] == []
    after = [arn for arn in task_definitions(home("ecs")) if ":task-definition/staging-" in arn]
    assert after == revisions_before
    assert image("staging", "web") == "nginx:1.26"


def staging_revisions() -> list[str]:
    return [arn for arn in task_definitions(home("ecs")) if ":task-definition/staging-" in arn]


def test_a_foreign_role_is_refused_by_allowed_accounts_and_other_environments_deploy(
    envs: Workspace,
) -> None:
    first = envs.sync("--allowed-accounts", HOME)
    assert first.returncode == 0, first.stdout + first.stderr
    before = staging_revisions()
    point_staging_at_the_other_account(envs)

    done = envs.sync("--allowed-accounts", HOME)

    refusal = f"refused: account {OTHER} is not in --allowed-accounts ({HOME})"
    assert done.returncode == 1, done.stdout + done.stderr
    assert "staging/web: Failed (refused, " in done.stdout
    assert refusal in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "failed: staging/api, staging/web, staging/worker" in done.stderr
    assert_staging_untouched(envs, revisions_before=before, refusal=refusal)
    assert ROLE in envs.status("staging/web")["message"]  # says how it got there
    assert envs.status("production/web")["result"] == "Synced"
    assert image("production", "web") == "nginx:1.27"

    # the next pass refuses again, and has nothing new to commit
    status_head = envs.remote_head()
    again = envs.sync("--allowed-accounts", HOME)
    assert again.returncode == 1
    assert refusal in again.stdout
    assert envs.remote_head() == status_head
    assert task_definitions(other("ecs")) == []


def test_allowed_accounts_in_environment_yaml_refuses_a_foreign_role(envs: Workspace) -> None:
    for env in ("staging", "production"):
        envs.replace(
            f"{env}/environment.yaml",
            "region: us-east-1\n",
            f"region: us-east-1\nallowedAccounts: ['{HOME}']\n",
        )
    envs.commit_and_push("pin both environments to their account")
    first = envs.sync()
    assert first.returncode == 0, first.stdout + first.stderr  # the account is the pinned one
    before = staging_revisions()
    point_staging_at_the_other_account(envs)

    done = envs.sync()

    refusal = (
        f"refused: account {OTHER} is not in staging/environment.yaml allowedAccounts ({HOME})"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert refusal in done.stdout
    assert_staging_untouched(envs, revisions_before=before, refusal=refusal)
    assert envs.status("production/web")["result"] == "Synced"
    assert image("production", "web") == "nginx:1.27"


def test_allowed_clusters_refuses_an_environment_on_another_cluster(envs: Workspace) -> None:
    envs.replace("production/environment.yaml", "cluster: production", "cluster: prod")
    envs.commit_and_push("production: cluster prod")
    home("ecs").create_cluster(clusterName="prod")

    done = envs.sync("--allowed-clusters", "staging")

    refusal = "refused: cluster prod is not in --allowed-clusters (staging)"
    assert done.returncode == 1, done.stdout + done.stderr
    assert envs.status("production/web")["result"] == "Failed"
    assert envs.status("production/web")["message"] == refusal
    for cluster in ("prod", "production"):
        assert home("ecs").list_services(cluster=cluster)["serviceArns"] == []
    assert not [a for a in task_definitions(home("ecs")) if "production-web" in a]
    for name in ("web", "worker", "api"):
        assert envs.status(f"staging/{name}")["result"] == "Synced"


def test_a_refused_environment_is_not_pruned_either(envs: Workspace) -> None:
    envs.replace("production/environment.yaml", "prune: false", "prune: true")
    envs.commit_and_push("production: prune")
    first = envs.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    shutil.rmtree(envs.clone / "production" / "web")
    envs.commit_and_push("production: web removed")

    done = envs.sync("--allowed-clusters", "staging")

    assert done.returncode == 1, done.stdout + done.stderr
    status = envs.status("production/web")
    assert status["result"] == "Failed"
    assert status["message"] == "refused: cluster production is not in --allowed-clusters (staging)"
    (service,) = home("ecs").describe_services(cluster="production", services=["web"])["services"]
    assert service["status"] == "ACTIVE" and service["desiredCount"] == 2


def test_plan_reports_the_refusal_and_reads_nothing_there(envs: Workspace) -> None:
    point_staging_at_the_other_account(envs)

    done = run_cli("plan", str(envs.clone), "--allowed-accounts", HOME)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "staging/web: invalid (nothing of it is applied)" in done.stdout
    assert (
        f"  refused: account {OTHER} is not in --allowed-accounts ({HOME}); staging acts in it "
        f"through roleArn {ROLE} (sync would not deploy it)"
    ) in done.stdout
    assert "production/web: create" in done.stdout
    # without the flag the same checkout plans the other account's services as creations
    unpinned = run_cli("plan", str(envs.clone))
    assert unpinned.returncode == 2, unpinned.stdout + unpinned.stderr
    assert "staging/web: create" in unpinned.stdout


def run_in_process(ws: Workspace, **options: Any) -> tuple[PassReport, dict[str, int]]:
    result, calls, _ = pass_in_process(ws, **options)
    return result, calls


def test_without_an_allow_list_nothing_changes_and_sts_is_never_asked(envs: Workspace) -> None:
    point_staging_at_the_other_account(envs)

    result, calls = run_in_process(envs)

    assert "GetCallerIdentity" not in calls
    assert {r.key: r.outcome.result for r in result.results}["production/web"] == Result.SYNCED
    # the foreign role is acted on, which is what the allow-lists exist to stop (the deploy
    # itself fails there: the staging subnet is not in that account)
    registered = task_definitions(other("ecs"))
    assert f"arn:aws:ecs:{REGION}:{OTHER}:task-definition/staging-web:1" in registered


def test_one_identity_check_per_credentials_and_none_on_the_next_pass(envs: Workspace) -> None:
    from controller.core.pinning import AllowList

    point_staging_at_the_other_account(envs)
    allow = AllowList(accounts=(HOME,))

    result, calls = run_in_process(envs, allow=allow)

    # staging acts through its role, production through the controller's own credentials
    assert calls.get("GetCallerIdentity") == 2
    by_key = {r.key: r.outcome.result for r in result.results}
    assert by_key["production/web"] == Result.SYNCED
    assert by_key["staging/web"] == Result.FAILED
    # refused before its services were read: nothing was described in the other account
    _, calls = run_in_process(envs, allow=allow)
    assert "GetCallerIdentity" not in calls


def test_run_takes_the_allow_lists_too(
    workspace: Workspace,
    controllers: list[Controller],
) -> None:
    controller = Controller(workspace, "--allowed-clusters", "production,prod-*")
    controllers.append(controller)
    controller.wait_until(
        "staging/web refused",
        lambda: workspace.remote_file(".ecs-gitops/status/staging/web.yaml") is not None,
    )
    controller.wait_for_line("deploying only to accounts (any) and clusters production, prod-*")
    status = workspace.status("staging/web")
    assert status["result"] == "Failed"
    assert status["message"] == (
        "refused: cluster staging is not in --allowed-clusters (production, prod-*)"
    )
    assert home("ecs").list_services(cluster="staging")["serviceArns"] == []
    assert controller.stop() == 0


@pytest.mark.parametrize(
    ("flags", "accounts", "clusters"),
    [
        ([], [], []),
        (
            ["--allowed-accounts", f"{HOME}, {OTHER}", "--allowed-accounts", "111111111111"],
            [HOME, OTHER, "111111111111"],
            [],
        ),
        (
            ["--allowed-clusters", "staging,arn:aws:ecs:*:*:cluster/prod-*"],
            [],
            ["staging", "arn:aws:ecs:*:*:cluster/prod-*"],
        ),
    ],
)
def test_allow_list_flags_are_comma_separated_and_repeatable(
    flags: list[str], accounts: list[str], clusters: list[str]
) -> None:
    for command in ("sync", "run"):
        args = build_parser().parse_args([command, "--repo", "x", *flags])
        assert (args.allowed_accounts, args.allowed_clusters) == (accounts, clusters)


@pytest.mark.parametrize(
    "flags",
    [["--allowed-accounts", "12345"], ["--allowed-accounts", ","], ["--allowed-clusters", ""]],
)
def test_a_wrong_allow_list_flag_is_refused(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["sync", "--repo", "x", *flags])
    assert stopped.value.code == 2
    assert "--allowed-" in capsys.readouterr().err
