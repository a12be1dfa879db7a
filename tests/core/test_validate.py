"""Every kind of mistake in a config repository, reported at its FILE:LINE with a useful message."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.core.layout import load_repo
from controller.source.tree import read_tree

REPOS = Path(__file__).resolve().parent.parent / "data" / "repos"
MINIMAL = read_tree(REPOS / "minimal")

# (path, old, new): replace text in one file of the minimal repository; new=None deletes the file,
# old="" appends new (or creates the file).
Edit = tuple[str, str, str | None]


def problems(*edits: Edit) -> list[str]:
    files = dict(MINIMAL)
    for path, old, new in edits:
        if new is None:
            del files[path]
        elif old == "":
            files[path] = files.get(path, "") + new
        else:
            assert old in files[path], f"{old!r} not in {path}"
            files[path] = files[path].replace(old, new, 1)
    return [str(p) for p in load_repo(files).problems]


WEB_TD = "staging/web/task-definition.yaml"
WEB_SVC = "staging/web/service.yaml"
WEB_DEPLOY = "staging/web/deploy.yaml"
JOB_RUN = "staging/job/run-task.yaml"
ENV = "staging/environment.yaml"


def test_minimal_repository_is_clean() -> None:
    assert problems() == []


CASES: list[tuple[str, list[Edit], list[str]]] = [
    (
        "type error",
        [(WEB_SVC, "${replicas}", "two")],
        [f"{WEB_SVC}:2: desiredCount: expected an integer, got 'two'"],
    ),
    (
        "typo of a known key, nested",
        [(WEB_TD, "  image: ${image}", "  imgae: ${image}")],
        [f"{WEB_TD}:9: unknown key 'imgae' in containerDefinitions[0]; did you mean 'image'?"],
    ),
    (
        "typo of a known key, top level, case only",
        [(WEB_TD, "networkMode:", "NetworkMode:")],
        [f"{WEB_TD}:2: unknown key 'NetworkMode'; did you mean 'networkMode'?"],
    ),
    (
        "unknown key without a near miss",
        [(WEB_SVC, "", "flavour: vanilla\n")],
        [f"{WEB_SVC}:7: unknown key 'flavour'"],
    ),
    (
        "missing required member",
        [(WEB_TD, "family: staging-web\n", "")],
        [f"{WEB_TD}:1: missing required key 'family'"],
    ),
    (
        "number where the API wants a string",
        [(WEB_TD, "memory: '512'", "memory: 512")],
        [f"{WEB_TD}:6: memory: expected a string, got 512 (quote it: '512')"],
    ),
    (
        "string where the API wants an integer, nested",
        [(WEB_TD, "containerPort: 80", "containerPort: '80'")],
        [
            f"{WEB_TD}:12: containerDefinitions[0].portMappings[0].containerPort: expected an integer, got '80'"
        ],
    ),
    (
        "list where the API wants a mapping",
        [
            (
                WEB_SVC,
                "networkConfiguration:\n  awsvpcConfiguration:",
                "networkConfiguration:\n  - awsvpcConfiguration:",
            )
        ],
        [f"{WEB_SVC}:3: networkConfiguration: expected a mapping, got a list"],
    ),
    (
        "bounds from botocore",
        [
            (
                WEB_SVC,
                "",
                "capacityProviderStrategy:\n- capacityProvider: FARGATE\n  weight: 5000\n",
            )
        ],
        [f"{WEB_SVC}:9: capacityProviderStrategy[0].weight: 5000 is more than the maximum 1000"],
    ),
    (
        "undefined variable with a suggestion",
        [(WEB_SVC, "${subnet}", "${subnett}")],
        [f"{WEB_SVC}:6: undefined variable 'subnett'; did you mean 'subnet'?"],
    ),
    (
        "unknown Harness expression",
        [(WEB_TD, "${image}", "<+serviceVariables.image>")],
        [
            f"{WEB_TD}:9: unknown expression '<+serviceVariables.image>'; use ${{name}}, ${{image}} or <+artifact.image>"
        ],
    ),
    (
        "image expression without deploy.yaml image",
        [(WEB_DEPLOY, "image: nginx:1.27\n", "")],
        [f"{WEB_TD}:9: the image expression needs deploy.yaml 'image'"],
    ),
    (
        "a mapping variable cannot be embedded in text",
        [
            (ENV, "variables:\n", "variables:\n  net: {a: 1}\n"),
            (WEB_SVC, "${subnet}", "subnet-${net}"),
        ],
        [f"{WEB_SVC}:6: variable 'net' is a mapping and cannot be part of a string"],
    ),
    (
        "another cluster in service.yaml (authority rule)",
        [(WEB_SVC, "", "cluster: production\n")],
        [
            f"{WEB_SVC}:7: cluster 'production' is not this environment's cluster 'staging': a service runs on the cluster of the environment folder it is in"
        ],
    ),
    (
        "taskDefinition set by the user in run-task.yaml",
        [(JOB_RUN, "", "taskDefinition: staging-job:3\n")],
        [f"{JOB_RUN}:3: taskDefinition is set by the controller"],
    ),
    (
        "taskDefinition set by the user in service.yaml",
        [(WEB_SVC, "", "taskDefinition: staging-web\n")],
        [f"{WEB_SVC}:7: taskDefinition is set by the controller"],
    ),
    (
        "enum from botocore",
        [(JOB_RUN, "launchType: EC2", "launchType: FARGATEE")],
        [
            f"{JOB_RUN}:1: launchType: 'FARGATEE' is not one of EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES; did you mean 'FARGATE'?"
        ],
    ),
    (
        "container without image (ECS requires one)",
        [(WEB_TD, "  image: ${image}\n", "")],
        [f"{WEB_TD}:8: missing required key 'image' in containerDefinitions[0]"],
    ),
    (
        "load balancer naming a container the task definition lacks",
        [
            (
                WEB_SVC,
                "",
                "loadBalancers:\n- targetGroupArn: arn:tg\n  containerName: wbe\n  containerPort: 80\n",
            )
        ],
        [f"{WEB_SVC}:9: container 'wbe' is not in the task definition (it has: web)"],
    ),
    (
        "load balancer on a port the container does not map",
        [
            (
                WEB_SVC,
                "",
                "loadBalancers:\n- targetGroupArn: arn:tg\n  containerName: web\n  containerPort: 8080\n",
            )
        ],
        [f"{WEB_SVC}:10: container 'web' maps no port 8080 (its portMappings: 80)"],
    ),
    (
        "<+targetGroupArn> outside blue-green",
        [
            (
                WEB_SVC,
                "",
                "loadBalancers:\n- targetGroupArn: <+targetGroupArn>\n  containerName: web\n  containerPort: 80\n",
            )
        ],
        [f"{WEB_SVC}:8: <+targetGroupArn> is only filled by strategy blue-green"],
    ),
    (
        "two files of one kind",
        [("staging/web/task-definition.json", "", '{"family": "x", "containerDefinitions": []}')],
        [
            "staging/web/task-definition.yaml:1: two files of one kind (task-definition.json, task-definition.yaml): keep one"
        ],
    ),
    (
        "unknown file with a near miss",
        [("staging/web/task-defintion.yml", "", "family: x\n")],
        [
            "staging/web/task-defintion.yml:1: unknown file 'task-defintion.yml'; did you mean 'task-definition.yaml'? (a folder holds only deploy.yaml, task-definition.yaml, service.yaml, scalable-target.yaml, scaling-policy.yaml, run-task.yaml)"
        ],
    ),
    (
        "rolling service without service.yaml",
        [(WEB_SVC, "", None)],
        [f"{WEB_DEPLOY}:1: strategy rolling needs service.yaml"],
    ),
    (
        "service without task definition",
        [(WEB_TD, "", None)],
        [f"{WEB_DEPLOY}:1: web has no task-definition.yaml (every service needs one)"],
    ),
    (
        "run-task job with a service.yaml",
        [("staging/job/service.yaml", "", "desiredCount: 1\n")],
        ["staging/job/service.yaml:1: strategy run-task does not use service files"],
    ),
    (
        "run-task job without run-task.yaml",
        [(JOB_RUN, "", None)],
        ["staging/job/deploy.yaml:1: strategy run-task needs run-task.yaml"],
    ),
    (
        "run-task.yaml for a rolling service",
        [("staging/web/run-task.yaml", "", "count: 1\n")],
        ["staging/web/run-task.yaml:1: run-task.yaml is only used by strategy run-task"],
    ),
    (
        "deploy.yaml: unknown key, bad strategy, bad timeout",
        [(WEB_DEPLOY, "strategy: rolling", "strategy: rollin\ntimeout: 10 minutes\nimgae: x")],
        [
            f"{WEB_DEPLOY}:1: strategy: 'rollin' is not one of rolling, canary, blue-green, run-task, ecs; did you mean 'rolling'?",
            f"{WEB_DEPLOY}:2: timeout: expected a duration such as 90s, 10m, 1h or 1m30s",
            f"{WEB_DEPLOY}:3: unknown key 'imgae'; did you mean 'image'?",
        ],
    ),
    (
        "deploy.yaml: strategy blocks have schemas",
        [
            (
                WEB_DEPLOY,
                "",
                "rolling:\n  forceNewDeploy: true\nverify:\n  http:\n  - expectStatus: 200\n  duration: 5\n",
            )
        ],
        [
            f"{WEB_DEPLOY}:6: unknown key 'forceNewDeploy' in rolling; did you mean 'forceNewDeployment'?",
            f"{WEB_DEPLOY}:9: missing required key 'url' in verify.http[0]",
            f"{WEB_DEPLOY}:10: verify.duration: expected a string, got 5 (quote it: '5')",
        ],
    ),
    (
        "blue-green needs its listeners",
        [(WEB_DEPLOY, "strategy: rolling", "strategy: blue-green")],
        [
            f"{WEB_DEPLOY}:1: missing required key 'blueGreen'",
            f"{WEB_SVC}:1: strategy blue-green needs a load balancer with targetGroupArn: <+targetGroupArn>",
        ],
    ),
    (
        "deploy.yaml variables named image",
        [(WEB_DEPLOY, "  replicas: 3\n", "  replicas: 3\n  image: x\n")],
        [
            f"{WEB_DEPLOY}:5: invalid key 'image' in variables: variable names are letters, digits, '_' and '-' (not starting with a digit), and 'image' is reserved for deploy.yaml image"
        ],
    ),
    (
        "environment.yaml: missing cluster and a typo",
        [(ENV, "cluster: staging\n", "clutser: staging\n")],
        [
            f"{ENV}:1: missing required key 'cluster'",
            f"{ENV}:1: unknown key 'clutser'; did you mean 'cluster'?",
        ],
    ),
    (
        "environment.yaml: sync flags are booleans",
        [(ENV, "", "sync:\n  auto: yes please\n")],
        [f"{ENV}:8: sync.auto: expected true or false, got 'yes please'"],
    ),
    (
        "scalable target: resourceId and a foreign namespace",
        [
            (
                "staging/web/scalable-target.yaml",
                "",
                "serviceNamespace: dynamodb\nresourceId: service/x/y\nminCapacity: 1\nmaxCapacity: 2\n",
            )
        ],
        [
            "staging/web/scalable-target.yaml:1: serviceNamespace must be 'ecs' (or left out), not 'dynamodb'",
            "staging/web/scalable-target.yaml:2: resourceId is set by the controller (to service/staging/web)",
        ],
    ),
    (
        "scaling policies: policyName is required, per list item",
        [
            ("staging/web/scalable-target.yaml", "", "minCapacity: 1\nmaxCapacity: 2\n"),
            (
                "staging/web/scaling-policy.yaml",
                "",
                "- policyName: a\n  policyType: StepScaling\n- policyType: TargetTrackingScaling\n  targetTrackingScalingPolicyConfiguration:\n    targetValue: high\n",
            ),
        ],
        [
            "staging/web/scaling-policy.yaml:3: missing required key 'policyName' in [1]",
            "staging/web/scaling-policy.yaml:5: [1].targetTrackingScalingPolicyConfiguration.targetValue: expected a number, got 'high'",
        ],
    ),
    (
        "scaling policy without a scalable target",
        [("staging/web/scaling-policy.yaml", "", "policyName: a\n")],
        [
            "staging/web/scaling-policy.yaml:1: a scaling policy needs scalable-target.yaml (the service must be registered first)"
        ],
    ),
    (
        "scaling policy keys are camelCase",
        [
            ("staging/web/scalable-target.yaml", "", "MinCapacity: 1\n"),
        ],
        [
            "staging/web/scalable-target.yaml:1: unknown key 'MinCapacity'; did you mean 'minCapacity'?"
        ],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_is_reported_at_its_line(edits: list[Edit], expected: list[str]) -> None:
    assert problems(*edits) == expected


def test_one_broken_service_does_not_hide_another_services_problems() -> None:
    found = problems(
        (WEB_SVC, "launchType: FARGATE", "launchType: [FARGATE"),
        (JOB_RUN, "count: 1", "count: one"),
    )
    assert found == [
        f"{JOB_RUN}:2: count: expected an integer, got 'one'",
        f"{WEB_SVC}:2: invalid YAML: while parsing a flow sequence; did not find expected ',' or ']'",
    ]


def test_every_problem_of_one_file_is_reported() -> None:
    found = problems(
        (WEB_TD, "family: staging-web", "family: 5"),
        (WEB_TD, "essential: true", "essential: maybe"),
        (WEB_TD, "- name: web", "- name: web\n  memory: lots"),
    )
    assert found == [
        f"{WEB_TD}:1: family: expected a string, got 5 (quote it: '5')",
        f"{WEB_TD}:9: containerDefinitions[0].memory: expected an integer, got 'lots'",
        f"{WEB_TD}:11: containerDefinitions[0].essential: expected true or false, got 'maybe'",
    ]


def test_unreadable_environment_marks_its_services_invalid_without_noise() -> None:
    state = load_repo({**MINIMAL, ENV: "cluster: [staging\n"})
    assert [str(p) for p in state.problems] == [
        f"{ENV}:2: invalid YAML: while parsing a flow sequence; did not find expected ',' or ']'"
    ]
    assert state.services == {}
    assert sorted(state.invalid) == ["staging/job", "staging/web"]
    assert "staging" not in state.environments


def test_an_undefined_variable_in_a_verify_url_is_found_by_validate() -> None:
    verify = (
        "verify:\n  http:\n    - url: http://${host}/health\n    - url: http://${nope}/health\n"
    )
    found = problems(
        (WEB_DEPLOY, "", verify), (ENV, "variables:\n", "variables:\n  host: web.local\n")
    )
    lines = len(MINIMAL[WEB_DEPLOY].splitlines())
    assert found == [f"{WEB_DEPLOY}:{lines + 4}: undefined variable 'nope'"]


LIFECYCLE_HOOK = """\
deploymentConfiguration:
  lifecycleHooks:
    - hookTargetArn: arn:aws:lambda:us-east-1:123456789012:function:smoke-test
      roleArn: arn:aws:iam::123456789012:role/ecsLifecycleHookRole
      lifecycleStages: [POST_SCALE_UP]
      hookDetails:
        S3_BUCKET_NAME: my-bucket
        endpoints: [/healthz, {path: /api, expect: [200, 204]}]
        nested: {retries: 3, verbose: true, extra: null}
"""


@pytest.mark.parametrize(
    "details",
    [
        None,  # the mapping above, as an AWS sample writes it
        "      hookDetails: just text\n",
        "      hookDetails: [1, two, {three: 3}]\n",
        "      hookDetails: 42\n",
    ],
)
def test_hook_details_take_any_json(details: str | None) -> None:
    """hookDetails is botocore's document type: any JSON value, with keys of the user's choice."""
    hook = LIFECYCLE_HOOK
    if details is not None:
        hook = hook.split("      hookDetails:")[0] + details
    assert problems((WEB_SVC, "", hook)) == []


def test_members_beside_a_document_are_still_checked() -> None:
    hook = LIFECYCLE_HOOK.replace("lifecycleStages:", "lifecycleStage:")
    lines = len(MINIMAL[WEB_SVC].splitlines())
    assert problems((WEB_SVC, "", hook)) == [
        f"{WEB_SVC}:{lines + 5}: unknown key 'lifecycleStage' in "
        "deploymentConfiguration.lifecycleHooks[0]; did you mean 'lifecycleStages'?",
    ]
