"""What ECS refuses although botocore's model allows it, and pasted responses: each at FILE:LINE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.core import ecs_rules, schemas
from controller.core.documents import parse_document
from controller.core.layout import load_repo
from controller.source.tree import read_tree

DATA = Path(__file__).resolve().parent.parent / "data"
MINIMAL = read_tree(DATA / "repos" / "minimal")

TD = "web/task-definition.yaml"
SVC = "web/service.yaml"
RUN = "web/run-task.yaml"

FARGATE = """\
family: web
networkMode: awsvpc
requiresCompatibilities: [FARGATE]
cpu: '256'
memory: '512'
containerDefinitions:
  - name: web
    image: nginx
    portMappings:
      - containerPort: 80
"""
EC2 = """\
family: web
containerDefinitions:
  - name: web
    image: nginx
    memory: 256
    portMappings:
      - containerPort: 80
        hostPort: 8080
"""
AWSVPC_SERVICE = """\
launchType: FARGATE
networkConfiguration:
  awsvpcConfiguration:
    subnets: [subnet-1]
"""
EC2_SERVICE = "launchType: EC2\ndesiredCount: 1\n"


def problems(
    task_definition: str, *, service: str | None = None, run_task: str | None = None
) -> list[str]:
    """The ECS rules' problems for these files, as ``validate`` prints them."""
    texts = {TD: task_definition, SVC: service, RUN: run_task}
    documents = {}
    for path, text in texts.items():
        if text is not None:
            doc, parse_problems = parse_document(path, text)
            assert doc is not None and not parse_problems, parse_problems
            documents[path.split("/")[1].removesuffix(".yaml")] = doc
    found = ecs_rules.check(
        documents,
        task_definition=documents["task-definition"].value,
        service=documents["service"].value if service is not None else None,
        run_task=documents["run-task"].value if run_task is not None else None,
    )
    return [str(problem) for problem in found]


def test_valid_fargate_and_ec2_services_pass() -> None:
    assert problems(FARGATE, service=AWSVPC_SERVICE) == []
    assert problems(EC2, service=EC2_SERVICE) == []


# --- memory -------------------------------------------------------------------------------------

NO_MEMORY = EC2.replace("    memory: 256\n", "")
MISSING_MEMORY = (
    f"{TD}:3: ECS answers \"Invalid setting for container 'web'. At least one of 'memory' or "
    "'memoryReservation' must be specified.\": set one of them, or the task-level memory"
)


@pytest.mark.parametrize(
    ("task_definition", "expected"),
    [
        pytest.param(NO_MEMORY, [MISSING_MEMORY], id="no compatibilities: EC2"),
        pytest.param(
            NO_MEMORY.replace("family: web\n", "family: web\nrequiresCompatibilities: [EC2]\n"),
            [MISSING_MEMORY.replace(":3:", ":4:")],
            id="EC2",
        ),
        pytest.param(
            NO_MEMORY.replace(
                "family: web\n", "family: web\nrequiresCompatibilities: [EXTERNAL]\n"
            ),
            [MISSING_MEMORY.replace(":3:", ":4:")],
            id="EXTERNAL",
        ),
        pytest.param(
            NO_MEMORY.replace("family: web\n", "family: web\nmemory: '512'\n"),
            [],
            id="task-level memory instead",
        ),
        pytest.param(
            NO_MEMORY.replace(
                "    image: nginx\n", "    image: nginx\n    memoryReservation: 64\n"
            ),
            [],
            id="a soft limit is enough",
        ),
        pytest.param(
            NO_MEMORY.replace(
                "family: web\n", "family: web\nrequiresCompatibilities: [MANAGED_INSTANCES]\n"
            ),
            [],
            id="not claimed for MANAGED_INSTANCES",
        ),
        pytest.param(
            EC2.replace("    memory: 256\n", "    memory: 256\n    memoryReservation: 512\n"),
            [
                f"{TD}:6: memoryReservation 512 of container 'web' is more than its memory 256: "
                "the soft limit must not exceed the hard limit"
            ],
            id="reservation above the hard limit",
        ),
        pytest.param(
            EC2.replace("    memory: 256\n", "    memory: 256\n    memoryReservation: 256\n"),
            [],
            id="reservation equal to the hard limit",
        ),
        pytest.param(
            FARGATE.replace("    image: nginx\n", "    image: nginx\n    memory: 1024\n"),
            [
                f"{TD}:9: ECS answers \"The 'memory' setting for container 'web' is greater than "
                'for the task.": 1024 MiB, the task has 512'
            ],
            id="container above the task",
        ),
    ],
)
def test_container_memory(task_definition: str, expected: list[str]) -> None:
    assert problems(task_definition) == expected


# --- Fargate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            ("cpu: '256'\n", ""),
            [f"{TD}:3: ECS answers \"Fargate requires that 'cpu' be defined at the task level.\""],
            id="no task cpu",
        ),
        pytest.param(
            ("memory: '512'\n", ""),
            [
                f"{TD}:3: ECS answers \"Fargate requires that 'memory' be defined at the task level.\""
            ],
            id="no task memory",
        ),
        pytest.param(
            ("networkMode: awsvpc\n", "networkMode: bridge\n"),
            [
                f"{TD}:2: ECS answers \"Fargate only supports network mode 'awsvpc'.\" "
                "(networkMode is bridge)"
            ],
            id="bridge",
        ),
        pytest.param(
            ("networkMode: awsvpc\n", ""),
            [
                f"{TD}:2: ECS answers \"Fargate only supports network mode 'awsvpc'.\" "
                "(networkMode is not set)"
            ],
            id="network mode left out",
        ),
    ],
)
def test_fargate_needs_task_size_and_awsvpc(edit: tuple[str, str], expected: list[str]) -> None:
    assert problems(FARGATE.replace(*edit)) == expected


def fargate(cpu: str, memory: str) -> str:
    return FARGATE.replace("cpu: '256'", f"cpu: '{cpu}'").replace(
        "memory: '512'", f"memory: '{memory}'"
    )


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        ("256", "512"),
        ("256", "2048"),
        ("512", "1024"),
        ("512", "4096"),
        ("1024", "8192"),
        ("2048", "4096"),
        ("2048", "16384"),
        ("4096", "8192"),
        ("4096", "30720"),
        ("8192", "16384"),
        ("8192", "20480"),
        ("8192", "61440"),
        ("16384", "32768"),
        ("16384", "40960"),
        ("16384", "122880"),
        ("1 vCPU", "2 GB"),
        (".25 vcpu", "0.5GB"),
        ("0.25 vCPU", "1GB"),
        ("8 vCPU", "60 GB"),
    ],
)
def test_every_documented_fargate_size_passes(cpu: str, memory: str) -> None:
    assert problems(fargate(cpu, memory)) == []


@pytest.mark.parametrize(
    ("cpu", "memory", "expected"),
    [
        ("256", "4096", "5: ECS answers \"No Fargate configuration exists for given values: 256 CPU, 4096 memory.\": with 256 CPU units Fargate offers memory 512, 1024 or 2048"),
        ("512", "512", "5: ECS answers \"No Fargate configuration exists for given values: 512 CPU, 512 memory.\": with 512 CPU units Fargate offers memory 1024 to 4096 in steps of 1024"),
        ("4096", "31744", "5: ECS answers \"No Fargate configuration exists for given values: 4096 CPU, 31744 memory.\": with 4096 CPU units Fargate offers memory 8192 to 30720 in steps of 1024"),
        ("8192", "17408", "5: ECS answers \"No Fargate configuration exists for given values: 8192 CPU, 17408 memory.\": with 8192 CPU units Fargate offers memory 16384 to 61440 in steps of 4096"),
        ("16384", "36864", "5: ECS answers \"No Fargate configuration exists for given values: 16384 CPU, 36864 memory.\": with 16384 CPU units Fargate offers memory 32768 to 122880 in steps of 8192"),
        ("300", "1024", "4: ECS answers \"No Fargate configuration exists for given values: 300 CPU, 1024 memory.\": Fargate's task cpu is one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
        ("32 vCPU", "65536", "4: ECS answers \"No Fargate configuration exists for given values: 32768 CPU, 65536 memory.\": Fargate's task cpu is one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
    ],
)  # fmt: skip
def test_sizes_fargate_does_not_offer(cpu: str, memory: str, expected: str) -> None:
    assert problems(fargate(cpu, memory)) == [f"{TD}:{expected}"]


def test_ec2_task_sizes_are_not_held_to_fargate_s_table() -> None:
    assert problems(EC2.replace("family: web\n", "family: web\ncpu: '300'\nmemory: '700'\n")) == []


# --- network mode -------------------------------------------------------------------------------


def ports(mode: str | None, mapping: str) -> str:
    network = f"networkMode: {mode}\n" if mode else ""
    return (
        f"family: web\n{network}containerDefinitions:\n  - name: web\n    image: nginx\n"
        f"    memory: 256\n    portMappings:\n      - {mapping}\n"
    )


@pytest.mark.parametrize(
    ("mode", "mapping", "expected"),
    [
        ("awsvpc", "{containerPort: 80, hostPort: 8080}", 'ECS answers "When networkMode=awsvpc, the host ports and container ports in port mappings must match.": leave hostPort out or make it 80'),
        ("host", "{containerPort: 80, hostPort: 0}", 'ECS answers "When networkMode=host, the host ports and container ports in port mappings must match.": leave hostPort out or make it 80'),
        ("awsvpc", "{containerPort: 80, hostPort: 80}", None),
        ("awsvpc", "{containerPort: 80}", None),
        ("host", "{containerPort: 80, hostPort: 80}", None),
        ("bridge", "{containerPort: 80, hostPort: 8080}", None),
        ("bridge", "{containerPort: 80, hostPort: 0}", None),
        (None, "{containerPort: 80, hostPort: 8080}", None),
    ],
)  # fmt: skip
def test_host_ports_by_network_mode(mode: str | None, mapping: str, expected: str | None) -> None:
    found = problems(ports(mode, mapping))
    assert found == ([] if expected is None else [f"{TD}:8: {expected}"])


NETWORK_NOT_VALID = (
    'ECS answers "Network Configuration is not valid for the given networkMode of this task '
    'definition.": networkConfiguration needs networkMode awsvpc (it is {mode})'
)
NETWORK_NEEDED = (
    "ECS answers \"Network Configuration must be provided when networkMode 'awsvpc' is "
    'specified.": the task definition uses awsvpc, so this {kind} file needs '
    "networkConfiguration.awsvpcConfiguration (subnets, securityGroups)"
)


def test_network_configuration_needs_awsvpc() -> None:
    bridge = EC2.replace("family: web\n", "family: web\nnetworkMode: bridge\n")
    on_ec2 = AWSVPC_SERVICE.replace("FARGATE", "EC2")
    assert problems(bridge, service=on_ec2) == [
        f"{SVC}:2: " + NETWORK_NOT_VALID.format(mode="bridge")
    ]
    assert problems(EC2, run_task=on_ec2) == [
        f"{RUN}:2: " + NETWORK_NOT_VALID.format(mode="not set (bridge)")
    ]


def test_awsvpc_needs_network_configuration() -> None:
    assert problems(FARGATE, service="launchType: FARGATE\ndesiredCount: 2\n") == [
        f"{SVC}:1: " + NETWORK_NEEDED.format(kind="service")
    ]
    assert problems(FARGATE, run_task="launchType: FARGATE\n") == [
        f"{RUN}:1: " + NETWORK_NEEDED.format(kind="run-task")
    ]


def test_an_external_deployment_controller_keeps_network_configuration_to_its_task_sets() -> None:
    external = "desiredCount: 2\ndeploymentController:\n  type: EXTERNAL\n"
    assert problems(FARGATE, service=external) == []


# --- launch type --------------------------------------------------------------------------------

NOT_ON_FARGATE = (
    'ECS answers "Task definition does not support launch_type FARGATE.": {shown}; add FARGATE '
    "to it in the task definition"
)
UNSET = "requiresCompatibilities is not set, which ECS takes as [EC2]"
FARGATE_AND_EC2 = FARGATE.replace("[FARGATE]", "[EC2, FARGATE]")
EXTERNAL_SERVICE = AWSVPC_SERVICE.replace("FARGATE", "EXTERNAL")


def compatible(task_definition: str, compatibilities: str) -> str:
    return task_definition.replace("family: web\n", f"family: web\n{compatibilities}")


@pytest.mark.parametrize(
    ("task_definition", "service", "expected"),
    [
        pytest.param(EC2, "launchType: FARGATE\n", [f"{SVC}:1: " + NOT_ON_FARGATE.format(shown=UNSET)], id="FARGATE, requiresCompatibilities not set"),
        pytest.param(compatible(EC2, "requiresCompatibilities: [EC2]\n"), "desiredCount: 1\nlaunchType: FARGATE\n", [f"{SVC}:2: " + NOT_ON_FARGATE.format(shown="requiresCompatibilities is [EC2]")], id="FARGATE, EC2 only"),
        pytest.param(compatible(EC2, "requiresCompatibilities: [EXTERNAL]\n"), "launchType: FARGATE\n", [f"{SVC}:1: " + NOT_ON_FARGATE.format(shown="requiresCompatibilities is [EXTERNAL]")], id="FARGATE, EXTERNAL only"),
        pytest.param(FARGATE, AWSVPC_SERVICE, [], id="FARGATE, FARGATE"),
        pytest.param(FARGATE_AND_EC2, AWSVPC_SERVICE, [], id="FARGATE, EC2 and FARGATE"),
        # ECS validates every task definition for EC2 too: [FARGATE] is described as [EC2, FARGATE]
        pytest.param(FARGATE, AWSVPC_SERVICE.replace("FARGATE", "EC2"), [], id="EC2, FARGATE only"),
        pytest.param(EC2, EC2_SERVICE, [], id="EC2, requiresCompatibilities not set"),
        pytest.param(FARGATE, EXTERNAL_SERVICE, [f"{SVC}:1: the task definition does not support launch type EXTERNAL: requiresCompatibilities is [FARGATE], which ECS validates for EC2 and FARGATE only; add EXTERNAL (or EC2) to it"], id="EXTERNAL, FARGATE only"),
        pytest.param(FARGATE_AND_EC2, EXTERNAL_SERVICE, [], id="EXTERNAL, EC2 and FARGATE"),
        pytest.param(EC2, "launchType: EXTERNAL\n", [], id="EXTERNAL, requiresCompatibilities not set"),
        pytest.param(compatible(EC2, "requiresCompatibilities: [EXTERNAL]\n"), "launchType: EXTERNAL\n", [], id="EXTERNAL, EXTERNAL"),
        pytest.param(EC2, "desiredCount: 1\n", [], id="no launch type: the cluster's default"),
        pytest.param(EC2, "launchType: MANAGED_INSTANCES\n", [], id="MANAGED_INSTANCES is not judged"),
    ],
)  # fmt: skip
def test_the_launch_type_must_be_one_the_task_definition_supports(
    task_definition: str, service: str, expected: list[str]
) -> None:
    assert problems(task_definition, service=service) == expected


def test_a_job_s_launch_type_is_held_to_its_task_definition_too() -> None:
    assert problems(EC2, run_task="count: 1\nlaunchType: FARGATE\n") == [
        f"{RUN}:2: " + NOT_ON_FARGATE.format(shown=UNSET)
    ]
    assert problems(FARGATE, run_task=AWSVPC_SERVICE) == []


def strategy(*providers: str) -> str:
    items = "".join(f"  - capacityProvider: {p}\n    weight: 1\n" for p in providers)
    return f"desiredCount: 1\ncapacityProviderStrategy:\n{items}"


@pytest.mark.parametrize(
    ("task_definition", "service", "expected"),
    [
        pytest.param(EC2, strategy("FARGATE_SPOT"), [f"{SVC}:3: capacity provider FARGATE_SPOT runs tasks on Fargate, which the task definition does not support ({UNSET}): add FARGATE to its requiresCompatibilities"], id="FARGATE_SPOT, requiresCompatibilities not set"),
        pytest.param(compatible(EC2, "requiresCompatibilities: [EC2]\n"), strategy("my-asg", "FARGATE"), [f"{SVC}:5: capacity provider FARGATE runs tasks on Fargate, which the task definition does not support (requiresCompatibilities is [EC2]): add FARGATE to its requiresCompatibilities"], id="FARGATE after a custom provider, EC2 only"),
        pytest.param(FARGATE, strategy("FARGATE", "FARGATE_SPOT").replace("desiredCount: 1\n", AWSVPC_SERVICE.replace("launchType: FARGATE\n", "")), [], id="Fargate providers, FARGATE"),
        # what an Auto Scaling group provider runs on is the cluster's business, not checked
        pytest.param(EC2, strategy("my-asg"), [], id="custom provider, not set"),
        pytest.param(FARGATE, strategy("my-asg").replace("desiredCount: 1\n", AWSVPC_SERVICE.replace("launchType: FARGATE\n", "")), [], id="custom provider, FARGATE"),
    ],
)  # fmt: skip
def test_fargate_capacity_providers_need_a_fargate_task_definition(
    task_definition: str, service: str, expected: list[str]
) -> None:
    assert problems(task_definition, service=service) == expected


def test_validate_reports_the_launch_type_at_its_line() -> None:
    job = MINIMAL["staging/job/run-task.yaml"].replace("launchType: EC2", "launchType: FARGATE")
    state = load_repo({**MINIMAL, "staging/job/run-task.yaml": job})
    assert [str(p) for p in state.problems] == [
        "staging/job/run-task.yaml:1: " + NOT_ON_FARGATE.format(shown=UNSET)
    ]
    assert "staging/job" in state.invalid


# --- names, counts, references ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("web", True),
        ("Web_app-2", True),
        ("x" * 255, True),
        ("x" * 256, False),
        ("web app", False),
        ("web.app", False),
        ("wéb", False),
    ],
)
def test_container_names(name: str, valid: bool) -> None:
    found = problems(FARGATE.replace("- name: web", f"- name: '{name}'"))
    expected = (
        f"{TD}:7: container name {name!r} is not valid in ECS: up to 255 letters, digits, "
        "'-' and '_'"
    )
    assert found == ([] if valid else [expected])


def containers(count: int) -> str:
    items = "".join(f"  - name: c{n}\n    image: nginx\n" for n in range(count))
    return FARGATE.split("containerDefinitions:")[0] + "containerDefinitions:\n" + items


def test_at_most_ten_containers() -> None:
    assert problems(containers(10)) == []
    assert problems(containers(12)) == [
        f"{TD}:27: a task definition holds at most 10 containers (an ECS quota that cannot be "
        "raised); this one has 12"
    ]


def test_a_container_name_used_twice_is_reported_by_validate() -> None:
    twice = MINIMAL["staging/web/task-definition.yaml"] + "- name: web\n  image: busybox\n"
    found = [
        str(p) for p in load_repo({**MINIMAL, "staging/web/task-definition.yaml": twice}).problems
    ]
    assert found == ["staging/web/task-definition.yaml:13: container name 'web' is used twice"]


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/web/token",
        "/prod/db/password",
        "DB_PASSWORD",
        "prod.db-password",
    ],
)
def test_secret_references_ecs_reads(value: str) -> None:
    secrets = f"    secrets:\n      - name: SECRET\n        valueFrom: '{value}'\n"
    assert problems(FARGATE + secrets) == []


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:s3:::bucket/secret.txt",
        "arn:aws:secretsmanager:us-east-1:123:secret:db",
        "arn:aws:ssm:us-east-1:123456789012:db-password",
        "my database password",
        "db@prod",
    ],
)
def test_secret_references_ecs_cannot_read(value: str) -> None:
    secrets = f"    secrets:\n      - name: SECRET\n        valueFrom: '{value}'\n"
    assert problems(FARGATE + secrets) == [
        f"{TD}:13: valueFrom {value!r} is no secret ECS can read: it takes a Secrets Manager "
        "secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), an SSM parameter ARN "
        "(arn:aws:ssm:REGION:ACCOUNT:parameter/NAME) or an SSM parameter name"
    ]


def test_log_secret_options_are_secret_references_too() -> None:
    log = (
        "    logConfiguration:\n      logDriver: splunk\n      secretOptions:\n"
        "        - name: splunk-token\n          valueFrom: 'splunk token'\n"
    )
    assert [p.split(": valueFrom")[0] for p in problems(FARGATE + log)] == [f"{TD}:15"]


def test_port_mapping_names() -> None:
    second = (
        "  - name: sidecar\n    image: envoy\n    portMappings:\n"
        "      - containerPort: 9901\n        name: http\n"
        "      - containerPort: 9902\n        name: HTTP\n"
        "      - containerPort: 9903\n        name: -admin\n"
        "      - containerPort: 9904\n        name: ok_name-2\n"
    )
    named = FARGATE.replace("- containerPort: 80\n", "- containerPort: 80\n        name: http\n")
    rule = "up to 64 lowercase letters, digits, '_' and '-', not starting with '-'"
    assert problems(named + second) == [
        f"{TD}:16: port mapping name 'http' is already used by "
        "containerDefinitions[0].portMappings[0]: a name must be unique in the task definition",
        f"{TD}:18: port mapping name 'HTTP' is not valid in ECS: {rule}",
        f"{TD}:20: port mapping name '-admin' is not valid in ECS: {rule}",
    ]
    assert problems(named.replace("name: http", "name: " + "p" * 65)) == [
        f"{TD}:11: port mapping name {'p' * 65!r} is not valid in ECS: {rule}"
    ]


# --- rules run where the other validation runs --------------------------------------------------


def test_validate_reports_ecs_rules_and_holds_the_service_back() -> None:
    td = MINIMAL["staging/web/task-definition.yaml"].replace("cpu: '256'", "cpu: '512'")
    state = load_repo({**MINIMAL, "staging/web/task-definition.yaml": td})
    assert [str(p) for p in state.problems] == [
        'staging/web/task-definition.yaml:6: ECS answers "No Fargate configuration exists for '
        'given values: 512 CPU, 512 memory.": with 512 CPU units Fargate offers memory 1024 to '
        "4096 in steps of 1024"
    ]
    assert "staging/web" in state.invalid and "staging/web" not in state.services
    assert "staging/job" in state.services


def test_a_file_the_strategy_does_not_use_is_not_held_to_ecs_rules() -> None:
    # a rolling service's run-task.yaml is reported as unused, not checked against awsvpc
    state = load_repo({**MINIMAL, "staging/web/run-task.yaml": "count: 1\n"})
    assert [str(p) for p in state.problems] == [
        "staging/web/run-task.yaml:1: run-task.yaml is only used by strategy run-task"
    ]


# --- pasted responses ---------------------------------------------------------------------------


def aws(name: str) -> Any:
    return json.loads((DATA / "aws" / f"{name}.json").read_text())


def validate(path: str, value: Any) -> list[str]:
    text = yaml.safe_dump(value, sort_keys=False) if isinstance(value, dict) else value
    return [str(p) for p in load_repo({**MINIMAL, f"staging/web/{path}": text}).problems]


TD_READ_ONLY = (
    "taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt, "
    "registeredBy"
)
SERVICE_READ_ONLY = (
    "serviceArn, clusterArn, status, runningCount, pendingCount, platformFamily, deployments, "
    "roleArn, events, createdAt, createdBy"
)


def test_a_describe_task_definition_response() -> None:
    assert validate("task-definition.yaml", aws("describe_task_definition_web")) == [
        "staging/web/task-definition.yaml:1: this is a DescribeTaskDefinition response, not a "
        "RegisterTaskDefinition request: unwrap 'taskDefinition' (its value is the request) and "
        f"remove its read-only fields {TD_READ_ONLY}"
    ]


def test_the_task_definition_of_a_describe_response() -> None:
    described = aws("describe_task_definition_web")["taskDefinition"]
    assert validate("task-definition.yaml", described) == [
        "staging/web/task-definition.yaml:1: this is a DescribeTaskDefinition response, not a "
        f"RegisterTaskDefinition request: remove the read-only fields {TD_READ_ONLY}"
    ]
    # and that is all there is to it: without them, ECS's own answer is a valid request
    request = {
        k: v for k, v in described.items() if k not in schemas.read_only_fields("task-definition")
    }
    assert validate("task-definition.yaml", request) == []


def test_a_describe_services_response() -> None:
    assert validate("service.yaml", aws("describe_services_web")) == [
        "staging/web/service.yaml:1: this is a DescribeServices response, not a CreateService "
        "request: take the service out of 'services' (one service per folder) and remove its "
        f"read-only fields {SERVICE_READ_ONLY}"
    ]


def test_a_create_service_response() -> None:
    created = {"service": aws("describe_services_web")["services"][0]}
    assert validate("service.yaml", created) == [
        "staging/web/service.yaml:1: this is a CreateService or UpdateService response, not a "
        "CreateService request: unwrap 'service' (its value is the request) and remove its "
        f"read-only fields {SERVICE_READ_ONLY}"
    ]


def test_the_service_of_a_describe_response() -> None:
    described = aws("describe_services_web")["services"][0]
    found = validate("service.yaml", described)
    assert found[0] == (
        "staging/web/service.yaml:1: this is a DescribeServices response, not a CreateService "
        f"request: remove the read-only fields {SERVICE_READ_ONLY}"
    )
    # no "unknown key" for any of them; what else is wrong is still said
    assert not any("unknown key" in problem for problem in found)
    assert found[1:] == ["staging/web/service.yaml:16: taskDefinition is set by the controller"]


@pytest.mark.parametrize(
    ("path", "line", "expected"),
    [
        ("task-definition.yaml", "status: ACTIVE", "'status' is a read-only field of a DescribeTaskDefinition response, not part of a RegisterTaskDefinition request: remove it"),
        ("task-definition.yaml", "compatibilities: [FARGATE]", "'compatibilities' is a read-only field of a DescribeTaskDefinition response, not part of a RegisterTaskDefinition request: remove it (the request's field is 'requiresCompatibilities')"),
        ("service.yaml", "roleArn: arn:aws:iam::123456789012:role/ecs", "'roleArn' is a read-only field of a DescribeServices response, not part of a CreateService request: remove it (the request's field is 'role')"),
        ("service.yaml", "runningCount: 2", "'runningCount' is a read-only field of a DescribeServices response, not part of a CreateService request: remove it"),
    ],
)  # fmt: skip
def test_one_read_only_field(path: str, line: str, expected: str) -> None:
    text = MINIMAL[f"staging/web/{path}"] + line + "\n"
    assert validate(path, text) == [f"staging/web/{path}:{text.count(chr(10))}: {expected}"]
