"""Name clashes: two folders that would use one ECS service name in one cluster are both invalid."""

from __future__ import annotations

import pytest

from controller.core.clashes import ClusterId
from controller.core.layout import load_repo
from controller.core.model import Environment

ENV = "cluster: {cluster}\n{extra}"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/{}"


def environment(cluster: str = "shared", extra: str = "region: us-east-1\n") -> str:
    return ENV.format(cluster=cluster, extra=extra)


def service(
    env: str,
    folder: str,
    *,
    strategy: str = "rolling",
    service_name: str | None = None,
    tags: str = "",
) -> dict[str, str]:
    """The files of one service folder; serviceName written only when given."""
    deploy = f"strategy: {strategy}\nimage: nginx:1.27\n"
    service_yaml = "launchType: EC2\ndesiredCount: 1\n"
    if strategy == "blue-green":
        deploy += (
            "blueGreen:\n"
            f"  prodListenerArn: {LISTENER.format('prod')}\n"
            f"  stageListenerArn: {LISTENER.format('stage')}\n"
        )
        service_yaml += (
            "loadBalancers:\n"
            "  - targetGroupArn: <+targetGroupArn>\n"
            "    containerName: app\n"
            "    containerPort: 80\n"
        )
    if service_name is not None:
        service_yaml += f"serviceName: {service_name}\n"
    service_yaml += tags
    return {
        f"{env}/{folder}/deploy.yaml": deploy,
        f"{env}/{folder}/service.yaml": service_yaml,
        f"{env}/{folder}/task-definition.yaml": (
            f"family: {env}-{folder}\n"
            "containerDefinitions:\n"
            "  - name: app\n"
            "    image: ${image}\n"
            "    memory: 128\n"
            "    portMappings:\n"
            "      - containerPort: 80\n"
        ),
    }


def problems(files: dict[str, str]) -> list[str]:
    return [str(p) for p in load_repo(files).problems]


def test_a_folder_named_like_a_canary_clashes_with_the_canary_service() -> None:
    files = {
        "env1/environment.yaml": environment(),
        **service("env1", "web", strategy="canary"),
        **service("env1", "webCanary"),
    }
    state = load_repo(files)
    expected = [
        "env1/web/service.yaml:1: the canary service webCanary of this canary deploy is also "
        "the service webCanary of env1/webCanary (env1/webCanary/service.yaml:1) in cluster "
        "shared: env1/web is not deployed until one is renamed (its rollout would change or "
        "delete that service)",
        "env1/webCanary/service.yaml:1: serviceName webCanary (the folder name) is also the "
        "canary service webCanary of env1/web (env1/web/service.yaml:1) in cluster shared: "
        "env1/web is not deployed until one is renamed (env1/webCanary still is)",
    ]
    assert [str(p) for p in state.problems] == expected
    # the canary would touch webCanary, not the other way round: only web is held back,
    # and its status names both places
    assert [str(p) for p in state.invalid["env1/web"]] == expected
    assert sorted(state.invalid) == ["env1/web"]
    assert sorted(state.services) == ["env1/webCanary"]


def test_a_written_service_name_is_pointed_at_on_its_line() -> None:
    files = {
        "env1/environment.yaml": environment(),
        **service("env1", "web", strategy="canary", service_name="front"),
        **service("env1", "other", service_name="frontCanary"),
    }
    found = problems(files)
    assert [p.split(": ", 1)[0] for p in found] == [
        "env1/other/service.yaml:3",
        "env1/web/service.yaml:3",
    ]
    assert "serviceName frontCanary is also the canary service frontCanary of env1/web" in found[0]
    assert "(env1/other/service.yaml:3)" in found[1]


def test_a_name_in_a_blue_green_generation_pattern_clashes() -> None:
    files = {
        "env1/environment.yaml": environment(),
        **service("env1", "web", strategy="blue-green"),
        **service("env1", "legacy", service_name="web__7"),
    }
    state = load_repo(files)
    found = [str(p) for p in state.problems]
    assert len(found) == 2
    assert found[0].startswith(
        "env1/legacy/service.yaml:3: serviceName web__7 is also the blue-green services "
        "web__<N> of env1/web (env1/web/service.yaml:1)"
    )
    assert found[1].startswith(
        "env1/web/service.yaml:1: the blue-green services web__<N> of this deploy is also the "
        "service web__7 of env1/legacy (env1/legacy/service.yaml:3)"
    )
    assert sorted(state.invalid) == ["env1/web"]


def test_two_blue_green_services_of_one_name_in_one_cluster_are_both_invalid() -> None:
    files = {
        "env1/environment.yaml": environment(),
        "env2/environment.yaml": environment(),
        **service("env1", "web", strategy="blue-green"),
        **service("env2", "web", strategy="blue-green"),
    }
    state = load_repo(files)
    assert sorted(state.invalid) == ["env1/web", "env2/web"]
    assert [p.file for p in state.problems] == ["env1/web/service.yaml", "env2/web/service.yaml"]


@pytest.mark.parametrize("name", ["web__", "web__x", "web_1", "web__1__2", "webCanary"])
def test_names_outside_the_generation_pattern_are_free(name: str) -> None:
    files = {
        "env1/environment.yaml": environment(),
        **service("env1", "web", strategy="blue-green"),
        **service("env1", "other", service_name=name),
    }
    # the blue-green service itself never runs under its plain name
    assert problems(files) == []


def test_two_environments_naming_one_cluster_and_service_clash() -> None:
    files = {
        "env1/environment.yaml": environment(),
        "env2/environment.yaml": environment(),
        **service("env1", "web"),
        **service("env2", "web"),
    }
    state = load_repo(files)
    assert [str(p) for p in state.problems] == [
        "env1/web/service.yaml:1: serviceName web (the folder name) is also the service web of "
        "env2/web (env2/web/service.yaml:1) in cluster shared: a rollout of one would change or "
        "delete the other's service; rename one",
        "env2/web/service.yaml:1: serviceName web (the folder name) is also the service web of "
        "env1/web (env1/web/service.yaml:1) in cluster shared: a rollout of one would change or "
        "delete the other's service; rename one",
    ]
    assert sorted(state.invalid) == ["env1/web", "env2/web"]


def test_one_pair_of_folders_is_reported_once() -> None:
    files = {
        "env1/environment.yaml": environment(),
        "env2/environment.yaml": environment(),
        **service("env1", "web", strategy="canary"),
        **service("env2", "web", strategy="canary"),
    }
    found = problems(files)
    assert len(found) == 2  # the shared serviceName, not the shared canary name again
    assert all("serviceName web (the folder name) is also the service web" in p for p in found)


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        # the same cluster name in the same region
        (environment(), environment(), True),
        # a region left unsaid may be the controller's, which may be the other's
        (environment(extra=""), environment(), True),
        (environment(extra="region: us-east-1\n"), environment(extra="region: eu-west-1\n"), False),
        # a cluster ARN says its region and account
        (
            environment("arn:aws:ecs:us-east-1:111111111111:cluster/shared", ""),
            environment(),
            True,
        ),
        (
            environment("arn:aws:ecs:eu-west-1:111111111111:cluster/shared", ""),
            environment(),
            False,
        ),
        # accounts: from the cluster ARN or the environment's role
        (
            environment("arn:aws:ecs:us-east-1:111111111111:cluster/shared", ""),
            environment(extra="region: us-east-1\nroleArn: arn:aws:iam::222222222222:role/x\n"),
            False,
        ),
        (
            environment(extra="region: us-east-1\nroleArn: arn:aws:iam::111111111111:role/x\n"),
            environment("arn:aws:ecs:us-east-1:111111111111:cluster/shared", ""),
            True,
        ),
        (environment("shared"), environment("other"), False),
    ],
)
def test_clusters_are_compared_as_far_as_the_config_says(
    first: str, second: str, clash: bool
) -> None:
    files = {
        "env1/environment.yaml": first,
        "env2/environment.yaml": second,
        **service("env1", "web"),
        **service("env2", "web"),
    }
    assert bool(problems(files)) is clash


def test_one_environment_sharing_a_service_name_is_reported_once() -> None:
    files = {
        "env1/environment.yaml": environment(),
        **service("env1", "web"),
        **service("env1", "web2", service_name="web"),
    }
    found = problems(files)
    # the layout's own check says it; no second message for the same mistake
    assert [p for p in found if "serviceName" in p] == [
        "env1/web/service.yaml:1: serviceName 'web' is also used by web2 in this environment",
        "env1/web2/service.yaml:3: serviceName 'web' is also used by web in this environment",
    ]


def test_jobs_use_no_service_name() -> None:
    files = {
        "env1/environment.yaml": environment(),
        **service("env1", "web", strategy="canary"),
        "env1/webCanary/deploy.yaml": "strategy: run-task\nimage: busybox\n",
        "env1/webCanary/run-task.yaml": "launchType: EC2\n",
        "env1/webCanary/task-definition.yaml": (
            "family: job\ncontainerDefinitions:\n  - name: job\n    image: ${image}\n"
            "    memory: 128\n"
        ),
    }
    assert problems(files) == []


def test_the_owner_tag_is_the_controllers_own() -> None:
    files = {
        "env1/environment.yaml": environment(),
        **service(
            "env1",
            "web",
            tags="tags:\n  - key: team\n    value: a\n  - key: ecs-gitops.owner\n    value: env2/web\n",
        ),
    }
    assert problems(files) == [
        "env1/web/service.yaml:6: tag ecs-gitops.owner is the controller's own (it marks which "
        "folder owns a service): remove it"
    ]


def test_cluster_identity_from_an_environment() -> None:
    env = Environment(
        name="e",
        cluster="arn:aws:ecs:eu-west-1:111111111111:cluster/main",
        region="us-east-1",  # the ARN's region is where the cluster is
        role_arn="arn:aws:iam::111111111111:role/deployer",
    )
    assert ClusterId.of(env) == ClusterId("main", "eu-west-1", "111111111111")
    assert ClusterId.of(Environment(name="e", cluster="main")) == ClusterId("main")
