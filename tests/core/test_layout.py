"""Discovering environments and services, and the rules between files and services."""

from __future__ import annotations

from pathlib import Path

from controller.core.layout import RenderCache, load_repo
from controller.source.tree import read_tree

REPOS = Path(__file__).resolve().parent.parent / "data" / "repos"
MINIMAL = read_tree(REPOS / "minimal")


def test_environments_and_services_are_found_by_their_files() -> None:
    state = load_repo(
        {
            **MINIMAL,
            "docs/config.json": "{}",  # a top-level folder without environment.yaml is not ours
            "renovate.json": "{",  # nor is a file at the root
            "staging/web/extra/notes.yaml": "[",  # nor anything below a service folder
            ".ecs-gitops/status/staging/web.yaml": "{{{",  # written by the controller only
            "staging/.hidden/deploy.yaml": "{{{",
            "production/environment.yaml": "cluster: prod\nsync:\n  auto: false\n  prune: true\n",
        }
    )
    assert state.problems == ()
    assert sorted(state.environments) == ["production", "staging"]
    assert sorted(state.services) == ["staging/job", "staging/web"]
    production = state.environments["production"]
    assert production.cluster == "prod"
    assert (production.sync.auto, production.sync.self_heal, production.sync.prune) == (
        False,
        False,
        True,
    )
    assert production.variables == {}


def test_manifests_may_be_yml_or_json() -> None:
    files = dict(MINIMAL)
    files["staging/web/deploy.yml"] = files.pop("staging/web/deploy.yaml")
    files["staging/web/service.json"] = (
        '{"launchType": "EC2", "desiredCount": "${replicas}",'
        ' "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["${subnet}"]}}}'
    )
    del files["staging/web/service.yaml"]
    state = load_repo(files)
    assert state.problems == ()
    web = state.services["staging/web"]
    assert web.service == {
        "launchType": "EC2",
        "desiredCount": 3,
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
        "cluster": "staging",
        "serviceName": "web",
    }
    assert web.files["deploy"] == "staging/web/deploy.yml"


def test_service_folder_outside_an_environment_is_reported() -> None:
    state = load_repo({**MINIMAL, "prod/web/deploy.yaml": "strategy: rolling\n"})
    assert [str(p) for p in state.problems] == [
        "prod/web/deploy.yaml:1: prod/ has no environment.yaml, so service web belongs to no environment"
    ]


def test_invalid_services_are_listed_with_their_problems_and_valid_ones_still_render() -> None:
    state = load_repo({**MINIMAL, "staging/job/run-task.yaml": "count: one\n"})
    assert sorted(state.services) == ["staging/web"]
    assert [str(p) for p in state.invalid["staging/job"]] == [
        "staging/job/run-task.yaml:1: count: expected an integer, got 'one'"
    ]
    assert state.select("staging") == ["staging/job", "staging/web"]


def test_broken_environment_takes_its_services_with_it() -> None:
    env = MINIMAL["staging/environment.yaml"].replace("cluster: staging\n", "")
    state = load_repo({**MINIMAL, "staging/environment.yaml": env})
    problem = "staging/environment.yaml:1: missing required key 'cluster'"
    assert [str(p) for p in state.problems] == [problem]
    assert state.environments == {}
    assert state.services == {}
    assert {k: [str(p) for p in v] for k, v in state.invalid.items()} == {
        "staging/job": [problem],
        "staging/web": [problem],
    }


def test_unknown_file_in_an_environment_folder() -> None:
    state = load_repo({**MINIMAL, "staging/enviroment.yml": "cluster: x\n"})
    assert [str(p) for p in state.problems] == [
        "staging/enviroment.yml:1: unknown file 'enviroment.yml'; did you mean 'environment.yaml'? "
        "(a folder holds only environment.yaml)"
    ]


def test_run_before_must_name_another_service_of_the_environment() -> None:
    deploy = "staging/job/deploy.yaml"
    for run_before, expected in [
        ("web", []),
        ("wbe", [f"{deploy}:3: runBefore: no service 'wbe' in staging; did you mean 'web'?"]),
        ("job", [f"{deploy}:3: runBefore names this service itself"]),
    ]:
        state = load_repo({**MINIMAL, deploy: MINIMAL[deploy] + f"runBefore: {run_before}\n"})
        assert [str(p) for p in state.problems] == expected
        assert ("staging/job" in state.services) is (not expected)


def test_run_before_cycle() -> None:
    state = load_repo(
        {
            **MINIMAL,
            "staging/job/deploy.yaml": MINIMAL["staging/job/deploy.yaml"] + "runBefore: web\n",
            "staging/web/deploy.yaml": MINIMAL["staging/web/deploy.yaml"] + "runBefore: job\n",
        }
    )
    assert [str(p) for p in state.problems] == [
        "staging/job/deploy.yaml:3: runBefore forms a cycle",
        "staging/web/deploy.yaml:5: runBefore forms a cycle",
    ]


def test_two_services_of_one_environment_cannot_share_a_service_name_or_family() -> None:
    files = {**MINIMAL}
    for path, text in MINIMAL.items():
        if path.startswith("staging/web/"):
            files[path.replace("/web/", "/web2/")] = text
    files["staging/web2/service.yaml"] += "serviceName: web\n"
    state = load_repo(files)
    assert [str(p) for p in state.problems] == [
        "staging/web/service.yaml:1: serviceName 'web' is also used by web2 in this environment",
        "staging/web/task-definition.yaml:1: family 'staging-web' is also used by web2 in this environment",
        "staging/web2/service.yaml:7: serviceName 'web' is also used by web in this environment",
        "staging/web2/task-definition.yaml:1: family 'staging-web' is also used by web in this environment",
    ]
    assert sorted(state.services) == ["staging/job"]


def test_a_render_cache_reuses_unchanged_services_and_renders_changed_ones() -> None:
    cache = RenderCache()
    first = load_repo(MINIMAL, cache=cache)
    again = load_repo(MINIMAL, cache=cache)
    assert again == load_repo(MINIMAL)
    # unchanged files: the very same rendered values, no second rendering
    assert again.services["staging/web"] is first.services["staging/web"]

    web_deploy = next(p for p in MINIMAL if p.startswith("staging/web/deploy."))
    changed = {**MINIMAL, web_deploy: MINIMAL[web_deploy] + "\n# a comment\n"}
    third = load_repo(changed, cache=cache)
    assert third.services["staging/web"] is not first.services["staging/web"]
    assert third.services["staging/job"] is first.services["staging/job"]

    # environment.yaml is part of every service of the environment
    env_file = next(p for p in MINIMAL if p.startswith("staging/environment."))
    moved = {**changed, env_file: MINIMAL[env_file] + "\n# a comment\n"}
    assert (
        load_repo(moved, cache=cache).services["staging/job"] is not first.services["staging/job"]
    )

    # a broken file is reported with or without the cache
    broken = {**MINIMAL, web_deploy: "strategy: sideways\n"}
    assert load_repo(broken, cache=cache).invalid == load_repo(broken).invalid
