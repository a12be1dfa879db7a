"""``ecs-gitops validate`` as a user runs it: a subprocess on real folders."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
REPOS = ROOT / "tests" / "data" / "repos"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_examples_are_clean() -> None:
    done = validate(ROOT / "examples")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "2 environments, 9 services: no problems\n",
        "",
    )


def test_seed_manifests_are_clean() -> None:
    done = validate(REPOS / "seed")
    assert (done.returncode, done.stdout) == (0, "2 environments, 3 services: no problems\n")


def test_broken_seed_manifests_are_reported_as_file_line() -> None:
    done = validate(REPOS / "seed-broken")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        # the seed's JSON service definition leaves "myapp" unquoted
        "staging/web/service.json:3: invalid JSON: Expecting value (column 20)",
        # the seed's first YAML task definition indents its container's keys by one space
        "staging/web/task-definition.yaml:5: invalid YAML: while parsing a block mapping; did not find expected key",
    ]
    assert done.stderr == "1 environment, 1 service: 2 problems (1 invalid service)\n"


def test_controller_folder_and_git_are_never_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "minimal", repo)
    for folder in (".ecs-gitops/status/staging", ".git"):
        (repo / folder).mkdir(parents=True)
        (repo / folder / "web.yaml").write_text("{{{ not yaml")
    (repo / "staging" / "web" / "README.md").write_text("not a manifest")
    done = validate(repo)
    assert (done.returncode, done.stdout) == (0, "1 environment, 2 services: no problems\n")


def test_a_mistake_in_a_copy_of_the_examples(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo)
    service = repo / "production" / "web" / "service.yaml"
    service.write_text(service.read_text().replace("desiredCount: 2", "desiredCount: two"))
    done = validate(repo)
    assert done.returncode == 1
    assert (
        done.stdout
        == "production/web/service.yaml:3: desiredCount: expected an integer, got 'two'\n"
    )


def test_missing_path_is_one_line() -> None:
    done = validate(ROOT / "no-such-folder")
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("ecs-gitops validate: read config repository ")
    assert done.stderr.endswith("no-such-folder: not a directory\n")


def test_repo_layout_skeleton_is_clean() -> None:
    done = validate(ROOT / "repo-layout" / "skeleton")
    assert (done.returncode, done.stdout) == (0, "1 environment, 1 service: no problems\n")


def test_what_ecs_would_refuse_at_apply_time(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo)
    # an EC2 task definition whose container has no memory: RegisterTaskDefinition refuses it
    (repo / "staging" / "checkout" / "task-definition.yaml").write_text(
        "family: staging-checkout\nrequiresCompatibilities: [EC2]\ncontainerDefinitions:\n"
        "  - name: checkout\n    image: ${image}\n    portMappings:\n      - containerPort: 80\n"
    )
    (repo / "staging" / "checkout" / "service.yaml").write_text(
        "launchType: EC2\nserviceName: checkout\ndesiredCount: 2\nloadBalancers:\n"
        "  - targetGroupArn: <+targetGroupArn>\n    containerName: checkout\n    containerPort: 80\n"
    )
    # a Fargate size that does not exist
    web = repo / "production" / "web" / "task-definition.yaml"
    web.write_text(web.read_text().replace("cpu: '256'", "cpu: '1024'"))
    done = validate(repo)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        'production/web/task-definition.yaml:46: ECS answers "No Fargate configuration exists '
        'for given values: 1024 CPU, 512 memory.": with 1024 CPU units Fargate offers memory '
        "2048 to 8192 in steps of 1024",
        'staging/checkout/task-definition.yaml:4: ECS answers "Invalid setting for container '
        "'checkout'. At least one of 'memory' or 'memoryReservation' must be specified.\": set "
        "one of them, or the task-level memory",
    ]
    assert done.stderr == "2 environments, 9 services: 2 problems (2 invalid services)\n"


def test_a_pasted_describe_task_definition_response(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo)
    (repo / "staging" / "web" / "task-definition.yaml").unlink()
    shutil.copy(
        ROOT / "tests" / "data" / "aws" / "describe_task_definition_web.json",
        repo / "staging" / "web" / "task-definition.json",
    )
    done = validate(repo)
    assert done.returncode == 1
    assert done.stdout == (
        "staging/web/task-definition.json:2: this is a DescribeTaskDefinition response, not a "
        "RegisterTaskDefinition request: unwrap 'taskDefinition' (its value is the request) and "
        "remove its read-only fields taskDefinitionArn, revision, status, requiresAttributes, "
        "compatibilities, registeredAt, registeredBy\n"
    )


def test_rules_of_the_deployments_ecs_runs_itself(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo)
    service = repo / "staging" / "web" / "service.yaml"
    # deploy.yaml stays on strategy rolling, while service.yaml asks ECS for blue/green with
    # a PAUSE hook where ECS takes none and a load balancer without its advancedConfiguration
    service.write_text(
        service.read_text()
        + "  strategy: BLUE_GREEN\n"
        + "  bakeTimeInMinutes: 5\n"
        + "  lifecycleHooks:\n"
        + "    - targetType: PAUSE\n"
        + "      lifecycleStages: [PRODUCTION_TRAFFIC_SHIFT]\n"
        + "loadBalancers:\n"
        + "  - targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/w/1\n"
        + "    containerName: nginx\n"
        + "    containerPort: 80\n"
    )
    done = validate(repo)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "staging/web/service.yaml:17: deploymentConfiguration.strategy BLUE_GREEN makes ECS run "
        "the deployment itself, and deploy.yaml's strategy rolling would run its own: the two "
        "would fight over the service's tasks and traffic; set 'strategy: ecs' in deploy.yaml to "
        "let ECS deploy (or drop deploymentConfiguration.strategy)",
        "staging/web/service.yaml:21: a PAUSE hook cannot be configured at "
        "PRODUCTION_TRAFFIC_SHIFT (only AWS_LAMBDA hooks can): pause at POST_TEST_TRAFFIC_SHIFT, "
        "PRE_PRODUCTION_TRAFFIC_SHIFT or POST_PRODUCTION_TRAFFIC_SHIFT instead",
        "staging/web/service.yaml:23: deploymentConfiguration.strategy BLUE_GREEN needs "
        "advancedConfiguration on every load balancer: alternateTargetGroupArn, "
        "productionListenerRule and roleArn (testListenerRule optional), so that ECS can shift "
        "traffic between the two target groups",
    ]
    assert done.stderr.endswith(" services: 3 problems (1 invalid service)\n")


def test_a_timeout_shorter_than_ecs_s_bake_time_is_a_warning(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo)
    web = repo / "staging" / "web"
    (web / "deploy.yaml").write_text(
        "strategy: ecs\nimage: public.ecr.aws/nginx/nginx:1.27\ntimeout: 10m\n"
    )
    service = web / "service.yaml"
    service.write_text(service.read_text() + "  strategy: BLUE_GREEN\n  bakeTimeInMinutes: 15\n")
    done = validate(repo)
    assert (done.returncode, done.stderr) == (0, "")
    warning, summary = done.stdout.splitlines()
    assert warning == (
        "staging/web/deploy.yaml:3: warning: deploy.yaml's timeout (10 minutes) is shorter than "
        "the BLUE_GREEN deployment's total bake time (15 minutes): the controller would roll back "
        "every deployment while ECS is still baking; make timeout longer than the bake time"
    )
    assert summary.startswith("2 environments, ")
    assert summary.endswith(" services: no problems, 1 warning")
