"""`ecs-gitops run` as a subprocess, for the end-to-end tests that drive it: start it, follow
its output, reach its HTTP endpoints, stop it; and what those tests look at (the remote's
status files, live services, Prometheus samples). Every wait has a generous deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import yaml

from tests.e2e.support import Workspace

DEADLINE = 90.0


class Controller:
    """``ecs-gitops run`` in a subprocess, its output collected line by line."""

    def __init__(self, ws: Workspace, *args: str) -> None:
        command = [
            sys.executable, "-m", "controller", "run",
            "--repo", str(ws.remote), "--workdir", str(ws.workdir),
            "--poll-interval", "0.2", "--listen", "127.0.0.1:0", "--interval", "600s",
            *args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for_line("listening on http://")
        found = re.search(r"listening on (http://[0-9a-f.:\[\]]+)", line)
        assert found, line
        self.url = found.group(1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert self.process.poll() is None, f"the controller exited: {self.output}"
            assert time.monotonic() < deadline, f"never happened: {what}\n{self.output}"
            time.sleep(0.05)

    def wait_for_line(self, text: str) -> str:
        found: list[str] = []

        def seen() -> bool:
            found.extend(line for line in list(self.lines) if text in line)
            return bool(found)

        self.wait_until(f"a log line with {text!r}", seen)
        return found[0]

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=DEADLINE)
        self._reader.join(timeout=10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start(started: list[Controller], ws: Workspace, *args: str) -> Controller:
    controller = Controller(ws, *args)
    started.append(controller)
    return controller


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def live(name: str) -> dict[str, Any]:
    return ecs().describe_services(cluster="staging", services=[name])["services"][0]


def image_of(task_definition_arn: str) -> str:
    definition = ecs().describe_task_definition(taskDefinition=task_definition_arn)
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def status(ws: Workspace, key: str) -> dict[str, Any] | None:
    text = ws.remote_file(f".ecs-gitops/status/{key}.yaml")
    return None if text is None else dict(yaml.safe_load(text))


def status_is(ws: Workspace, key: str, *, commit: str, results: tuple[str, ...]) -> bool:
    st = status(ws, key)
    return st is not None and st["commit"] == commit and st["result"] in results


def first_pass_done(controller: Controller, ws: Workspace) -> None:
    head = ws.remote_head()
    controller.wait_until(
        "the first pass synced web",
        lambda: status_is(ws, "staging/web", commit=head, results=("Synced",)),
    )
    controller.wait_for_line("finished in")


def bump_web(ws: Workspace, image: str = "nginx:1.27") -> str:
    ws.pull()
    ws.replace("staging/web/deploy.yaml", "nginx:1.26", image)
    return ws.commit_and_push(f"web: {image}")


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        found = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?", sample)
        if not found or found.group(1) != name:
            continue
        have = ",".join(sorted(p for p in (found.group(2) or "").split(",") if p))
        if have == wanted:
            return float(value)
    return None
