"""Which services a change touches, and what it changes compared with its base, without AWS."""

from __future__ import annotations

import pytest

from controller.core.layout import load_repo
from controller.core.model import RepoState
from controller.core.plan import Action, FieldChange, ServicePlan
from controller.core.review import base_plan, changed_services, paths_of, split_live
from tests.review.generated_repo import files

BASE = files(3)


def load(changes: dict[str, str | None]) -> RepoState:
    contents = {**BASE, **{k: v for k, v in changes.items() if v is not None}}
    for path in [k for k, v in changes.items() if v is None]:
        contents.pop(path)
    return load_repo(contents)


def bumped(path: str, old: str, new: str) -> dict[str, str | None]:
    assert old in BASE[path]
    return {path: BASE[path].replace(old, new)}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({}, ()),
        (bumped("staging/svc001/deploy.yaml", "nginx:1.27", "nginx:1.28"), ("staging/svc001",)),
        (
            bumped("staging/svc002/service.yaml", "desiredCount: 1", "desiredCount: 3"),
            ("staging/svc002",),
        ),
        # an environment variable every service renders: all of them change
        (
            bumped(
                "staging/environment.yaml", "subnet-00000000000000001", "subnet-0000000000000000f"
            ),
            ("staging/svc000", "staging/svc001", "staging/svc002"),
        ),
        # a variable no service reads, and the sync policy: nothing rendered changes
        (bumped("staging/environment.yaml", "variables:\n", "variables:\n  unused: 1\n"), ()),
        (bumped("staging/environment.yaml", "auto: true", "auto: false"), ()),
        # where the services deploy moves them all
        (
            bumped("staging/environment.yaml", "region: us-east-1", "region: eu-west-1"),
            ("staging/svc000", "staging/svc001", "staging/svc002"),
        ),
        # a comment or a reordering that renders the same requests
        (bumped("staging/svc000/deploy.yaml", "timeout: 2m\n", "timeout: 2m  # why\n"), ()),
    ],
)
def test_a_service_is_changed_when_its_rendered_desired_state_differs(
    edit: dict[str, str | None], expected: tuple[str, ...]
) -> None:
    assert changed_services(load({}), load(edit)).changed == expected


def test_a_new_service_is_changed_and_a_removed_one_says_what_prune_does() -> None:
    extra = {
        k.replace("svc002", "svc009"): v.replace("svc002", "svc009")
        for k, v in BASE.items()
        if "svc002" in k
    }
    gone = {k: None for k in BASE if "svc001" in k}
    changes = changed_services(load({}), load({**extra, **gone}))
    assert changes.changed == ("staging/svc009",)
    (removed,) = changes.removed
    assert removed.key == "staging/svc001" and not removed.prune
    assert "prune is off" in removed.outcome
    pruning = load({**gone, **bumped("staging/environment.yaml", "prune: false", "prune: true")})
    (removed,) = changed_services(load({}), pruning).removed
    assert removed.prune and "deleted" in removed.outcome


def test_an_invalid_service_is_changed_unless_it_was_invalid_the_same_way_before() -> None:
    broken = bumped("staging/svc001/deploy.yaml", "strategy: rolling", "strategy: sideways")
    assert changed_services(load({}), load(broken)).changed == ("staging/svc001",)
    assert changed_services(load(broken), load(broken)).changed == ()


def test_the_base_plan_shows_the_fields_the_change_makes() -> None:
    head = load(
        {
            **bumped("staging/svc001/deploy.yaml", "nginx:1.27", "nginx:1.28"),
            **bumped("staging/svc001/service.yaml", "desiredCount: 1", "desiredCount: 0"),
        }
    )
    plan = base_plan("staging/svc001", base=load({}), head=head)
    assert plan.action is Action.UPDATE
    assert [str(c) for c in plan.changes] == [
        "containerDefinitions[app].image: nginx:1.27 -> nginx:1.28",
        "desiredCount: 1 -> 0",
    ]
    assert base_plan("staging/svc000", base=load({}), head=head).action is Action.IN_SYNC


def test_the_base_plan_of_a_new_service_is_a_create() -> None:
    base = load({k: None for k in BASE if "svc001" in k})
    assert base_plan("staging/svc001", base=base, head=load({})).action is Action.CREATE


def test_a_live_plan_is_split_into_what_the_change_causes_and_drift() -> None:
    live = ServicePlan(
        "staging/web",
        Action.UPDATE,
        task_definition_changes=(
            FieldChange("containerDefinitions[app].image", "nginx:1.27", "nginx:1.28"),
            FieldChange("containerDefinitions[app].cpu", 0, 256),
        ),
        service_changes=(FieldChange("desiredCount", 5, 1),),
    )
    caused = ServicePlan(
        "staging/web",
        Action.UPDATE,
        task_definition_changes=(
            FieldChange("containerDefinitions[app].image", "nginx:1.27", "nginx:1.28"),
        ),
    )
    split = split_live(live, caused_paths=paths_of(caused))
    assert [c.path for c in split.caused.changes] == ["containerDefinitions[app].image"]
    assert split.drift is not None
    assert [c.path for c in split.drift.changes] == [
        "containerDefinitions[app].cpu",
        "desiredCount",
    ]
    # all of it drift: the service itself is in sync as far as the change goes
    only_drift = split_live(live, caused_paths=frozenset({"loadBalancers"}))
    assert only_drift.caused.action is Action.IN_SYNC and not only_drift.caused.changes
    # a new service: everything is the change's
    assert split_live(live, caused_paths=None).drift is None


def test_a_change_inside_a_field_the_change_replaced_whole_is_the_changes() -> None:
    live = ServicePlan(
        "s/a",
        Action.UPDATE,
        task_definition_changes=(FieldChange("containerDefinitions[side].image", "a", "b"),),
    )
    split = split_live(live, caused_paths=frozenset({"containerDefinitions[side]"}))
    assert split.drift is None and split.caused.changes == live.changes
