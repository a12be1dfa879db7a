"""A generated config repository of many small services, as files or as a git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

ENVIRONMENT = """\
cluster: {env}
region: us-east-1
variables:
  subnet: {subnet}
  securityGroup: {group}
sync:
  auto: true
  prune: {prune}
"""

DEPLOY = "strategy: rolling\nimage: nginx:1.27\ntimeout: 2m\n"

TASK_DEFINITION = """\
family: {env}-{name}
networkMode: awsvpc
requiresCompatibilities: [FARGATE]
cpu: "256"
memory: "512"
containerDefinitions:
  - name: app
    image: ${{image}}
    essential: true
    portMappings:
      - containerPort: 80
    environment:
      - name: LOG_LEVEL
        value: info
      - name: DB_PASSWORD
        value: hunter2-not-for-comments
"""

SERVICE = """\
launchType: FARGATE
desiredCount: 1
networkConfiguration:
  awsvpcConfiguration:
    subnets:
      - ${subnet}
    securityGroups:
      - ${securityGroup}
    assignPublicIp: ENABLED
"""


def service_name(index: int) -> str:
    return f"svc{index:03d}"


def files(
    count: int,
    *,
    env: str = "staging",
    subnet: str = "subnet-00000000000000001",
    group: str = "sg-00000000000000001",
    prune: bool = False,
) -> dict[str, str]:
    """Repository path -> text: one environment and ``count`` services."""
    found = {
        f"{env}/environment.yaml": ENVIRONMENT.format(
            env=env, subnet=subnet, group=group, prune=str(prune).lower()
        )
    }
    for index in range(count):
        name = service_name(index)
        found[f"{env}/{name}/deploy.yaml"] = DEPLOY
        found[f"{env}/{name}/task-definition.yaml"] = TASK_DEFINITION.format(env=env, name=name)
        found[f"{env}/{name}/service.yaml"] = SERVICE
    return found


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def write(root: Path, contents: dict[str, str]) -> None:
    for path, text in contents.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def repository(root: Path, contents: dict[str, str]) -> str:
    """A git repository at ``root`` holding ``contents`` in one commit; returns its sha."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    write(root, contents)
    return commit(root, "base")


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")
