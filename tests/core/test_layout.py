"""Discovering environments and services, and the rules between files and services."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.core.layout import RenderCache, load_repo
from controller.core.model import Problem
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


# ------------------------------------------------------------- files the reader refused


def refused(path: str, why: str = "is a symbolic link, which is never followed") -> Problem:
    return Problem(path, 1, why)


def test_a_refused_file_makes_only_its_service_invalid() -> None:
    task = "staging/web/task-definition.yaml"
    state = load_repo({**MINIMAL, task: refused(task)})
    assert state.invalid == {"staging/web": (refused(task),)}
    assert state.problems == (refused(task),)
    assert sorted(state.services) == ["staging/job"]


def test_a_refused_deploy_file_still_makes_the_folder_a_service() -> None:
    deploy = "staging/web/deploy.yaml"
    state = load_repo({**MINIMAL, deploy: refused(deploy)})
    assert state.invalid == {"staging/web": (refused(deploy),)}


def test_a_refused_environment_file_takes_its_services_with_it() -> None:
    env = "staging/environment.yaml"
    state = load_repo({**MINIMAL, env: refused(env)})
    assert state.environments == {}
    assert state.services == {}
    assert state.invalid == {"staging/job": (refused(env),), "staging/web": (refused(env),)}


def test_a_refused_folder_is_reported_and_a_service_folder_is_invalid_not_gone() -> None:
    state = load_repo(
        {
            **MINIMAL,
            "staging/linked": refused("staging/linked", "is a symbolic link to a folder"),
            "production": refused("production", "is a symbolic link to a folder"),
            "docs/linked": refused("docs/linked", "is a symbolic link to a folder"),
            "docs/readme.yaml": refused("docs/readme.yaml"),
        }
    )
    # docs/ is no environment: nothing in it is read, so nothing in it is a problem
    assert [str(p) for p in state.problems] == [
        "production:1: is a symbolic link to a folder",
        "staging/linked:1: is a symbolic link to a folder",
    ]
    # invalid, so that prune never takes the service for a removed folder
    assert list(state.invalid) == ["staging/linked"]
    assert sorted(state.services) == ["staging/job", "staging/web"]


def test_refused_files_are_cached_by_why_they_were_refused() -> None:
    cache = RenderCache()
    task = "staging/web/task-definition.yaml"
    first = load_repo({**MINIMAL, task: refused(task)}, cache=cache)
    assert first.invalid["staging/web"] == (refused(task),)
    fixed = load_repo(MINIMAL, cache=cache)
    assert "staging/web" in fixed.services


# ------------------------------------------------------------- folder names


def with_service(name: str, env: str = "staging") -> dict[str, str | Problem]:
    """MINIMAL with staging/web copied to ``env``/``name`` (family and serviceName its own)."""
    files = dict(MINIMAL)
    for path, text in MINIMAL.items():
        if path.startswith("staging/web/"):
            assert isinstance(text, str)
            copy = f"{env}/{name}/" + path.removeprefix("staging/web/")
            files[copy] = text.replace("staging-web", "staging-other")
    if env != "staging":
        files[f"{env}/environment.yaml"] = MINIMAL["staging/environment.yaml"]
    return files


@pytest.mark.parametrize("name", ["we\nb", "my web", "wéb", "web.v2", "w" * 256, "we\x1bb"])
def test_a_service_folder_name_must_be_an_ecs_name(name: str) -> None:
    state = load_repo(with_service(name))
    (problem,) = state.problems
    assert problem.file == f"staging/{name}/deploy.yaml"
    assert problem.message.startswith(f"service folder name {name!r} is not usable")
    # one line, whatever the name holds
    assert "\n" not in str(problem) and "\x1b" not in str(problem)
    # no key: it would name a status file and a log line
    assert sorted(state.services) == ["staging/job", "staging/web"]
    assert state.invalid == {}


def test_a_name_of_255_letters_digits_dashes_and_underscores_is_fine() -> None:
    name = ("a-b_C9" * 43)[:255]
    state = load_repo(with_service(name))
    assert state.problems == ()
    assert state.services[f"staging/{name}"].service_name == name


def test_an_environment_folder_name_must_be_an_ecs_name() -> None:
    state = load_repo(with_service("web", env="prod\nuction"))
    assert [str(p) for p in state.problems] == [
        "prod\\nuction/environment.yaml:1: environment folder name 'prod\\nuction' is not "
        "usable: a folder name must be an ECS name (letters, digits, '-' and '_', 1 to 255 of "
        "them); nothing in it is loaded"
    ]
    assert sorted(state.environments) == ["staging"]
    assert sorted({*state.services, *state.invalid}) == ["staging/job", "staging/web"]


# ------------------------------------------------------------- ECS bounds on rendered services


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        (
            "staging/web/service.yaml",
            "desiredCount: ${replicas}",
            "desiredCount: -3",
            "staging/web/service.yaml:2: desiredCount -3 is less than 0: a negative number of tasks",
        ),
        (
            "staging/web/service.yaml",
            "desiredCount: ${replicas}",
            "desiredCount: 10001",
            "staging/web/service.yaml:2: desiredCount 10001 is more than 10000: more than 10,000 "
            "tasks is a typo, not a deployment",
        ),
        (
            "staging/web/service.yaml",
            "desiredCount: ${replicas}",
            "desiredCount: 1.0e+38",
            "staging/web/service.yaml:2: desiredCount 1e+38 is more than 10000: more than 10,000 "
            "tasks is a typo, not a deployment",
        ),
        (
            "staging/web/service.yaml",
            "desiredCount: ${replicas}",
            "serviceName: my web",
            "staging/web/service.yaml:2: serviceName 'my web' is not an ECS name (letters, "
            "digits, '-' and '_', 1 to 255 of them)",
        ),
        (
            "staging/web/task-definition.yaml",
            "family: staging-web",
            "family: staging/web",
            "staging/web/task-definition.yaml:1: family 'staging/web' is not an ECS name "
            "(letters, digits, '-' and '_', 1 to 255 of them)",
        ),
        (
            "staging/job/run-task.yaml",
            "count: 1",
            "count: 11",
            "staging/job/run-task.yaml:2: count 11 is more than 10: RunTask starts at most 10 "
            "tasks per call",
        ),
        (
            "staging/job/run-task.yaml",
            "count: 1",
            "count: 0",
            "staging/job/run-task.yaml:2: count 0 is less than 1: at least 1 is needed",
        ),
    ],
)
def test_counts_and_names_ecs_would_refuse_are_problems_at_their_line(
    path: str, old: str, new: str, expected: str
) -> None:
    text = str(MINIMAL[path])
    assert old in text
    state = load_repo({**MINIMAL, path: text.replace(old, new)})
    assert [str(p) for p in state.problems] == [expected]
    key = "/".join(path.split("/")[:2])
    assert key in state.invalid


def test_a_count_from_a_variable_is_checked_where_it_is_used() -> None:
    env = "staging/environment.yaml"
    state = load_repo({**MINIMAL, env: str(MINIMAL[env]).replace("replicas: 2", "replicas: -1")})
    # deploy.yaml's replicas (3) wins for web; the environment's reaches no other service
    assert state.problems == ()
    deploy = "staging/web/deploy.yaml"
    state = load_repo(
        {**MINIMAL, deploy: str(MINIMAL[deploy]).replace("replicas: 3", "replicas: -1")}
    )
    assert [str(p) for p in state.problems] == [
        "staging/web/service.yaml:2: desiredCount -1 is less than 0: a negative number of tasks"
    ]


def test_scalable_target_capacities_and_the_canary_count_are_bounded() -> None:
    files = {
        **MINIMAL,
        "staging/web/scalable-target.yaml": "minCapacity: -1\nmaxCapacity: 20000\n",
        "staging/web/deploy.yaml": "strategy: canary\nimage: x\ncanary:\n  desiredCount: 20000\n",
    }
    state = load_repo(files)
    assert [str(p) for p in state.problems] == [
        "staging/web/deploy.yaml:4: desiredCount 20000 is more than 10000: more than 10,000 "
        "tasks is a typo, not a deployment",
        "staging/web/scalable-target.yaml:1: minCapacity -1 is less than 0: a negative number "
        "of tasks",
        "staging/web/scalable-target.yaml:2: maxCapacity 20000 is more than 10000: more than "
        "10,000 tasks is a typo, not a deployment",
    ]


def test_a_service_name_leaves_room_for_the_names_its_strategy_creates() -> None:
    name = "w" * 250
    service = str(MINIMAL["staging/web/service.yaml"])
    files = {
        **MINIMAL,
        "staging/web/deploy.yaml": "strategy: canary\nimage: x\n",
        "staging/web/service.yaml": service.replace("${replicas}", f"1\nserviceName: {name}"),
    }
    state = load_repo(files)
    assert [str(p) for p in state.problems] == [
        "staging/web/service.yaml:3: serviceName is 250 characters long: with strategy canary "
        "at most 249 (the names it creates beside it must stay within ECS's 255)"
    ]
    files["staging/web/deploy.yaml"] = "strategy: rolling\nimage: x\n"
    assert load_repo(files).problems == ()
