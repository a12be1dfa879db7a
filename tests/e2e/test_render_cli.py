"""``ecs-gitops render`` as a user runs it: a subprocess printing the requests of one service."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
REPOS = ROOT / "tests" / "data" / "repos"


def render(path: Path, service: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", "render", str(path), service],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_render_example_web() -> None:
    done = render(ROOT / "examples", "staging/web")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert sorted(out) == ["service", "taskDefinition"]
    assert out["service"]["cluster"] == "staging"
    assert out["service"]["serviceName"] == "web"
    assert out["service"]["desiredCount"] == 2
    assert out["service"]["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert out["service"]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [
        "subnet-00000000000000001"
    ]
    container = out["taskDefinition"]["containerDefinitions"][0]
    assert container["image"] == "public.ecr.aws/nginx/nginx:1.27"
    assert "dnsSearchDomains" not in container  # nulls are "not set"


def test_render_example_api_with_autoscaling() -> None:
    done = render(ROOT / "examples", "production/api/")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert sorted(out) == ["scalableTarget", "scalingPolicies", "service", "taskDefinition"]
    assert out["service"]["desiredCount"] == 2
    assert out["scalableTarget"]["ResourceId"] == "service/production/api"
    assert [p["PolicyName"] for p in out["scalingPolicies"]] == ["cpu60"]


def test_render_example_job() -> None:
    done = render(ROOT / "examples", "staging/migrate")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert sorted(out) == ["runTask", "taskDefinition"]
    assert out["runTask"]["cluster"] == "staging"
    assert "taskDefinition" not in out["runTask"]


def test_render_invalid_service_prints_its_problems() -> None:
    done = render(REPOS / "seed-broken", "staging/web")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "staging/web/service.json:3: invalid JSON: Expecting value (column 20)",
        "staging/web/task-definition.yaml:5: invalid YAML: while parsing a block mapping; did not find expected key",
    ]


def test_render_unknown_service_is_one_line() -> None:
    done = render(ROOT / "examples", "staging/nope")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("ecs-gitops render: no service staging/nope in ")
    assert "staging/web" in done.stderr


def test_render_into_head_ends_quietly() -> None:
    """``render ... | head -c 10``: the first bytes, and no traceback when head stops reading."""
    command = (
        f"{shlex.quote(sys.executable)} -m controller render examples staging/web | head -c 10"
    )
    done = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.stdout == '{\n  "servi'
    assert done.stderr == ""


def test_render_to_a_reader_that_is_gone_exits_as_sigpipe_would() -> None:
    # the read end is closed before render writes: the write meets a closed pipe every time
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", "render", "examples", "staging/web"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141  # 128 + SIGPIPE, as a shell reports it
    assert stderr == b""
