"""Each subcommand's ``--help`` says what the command does today, as the CLI prints it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _help(command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "controller", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # argparse wraps to the terminal: compare words, not line breaks
    return " ".join(done.stdout.split())


@pytest.mark.parametrize(
    ("command", "claims"),
    [
        (
            "run",
            [
                "GET / (the status page",
                "/api/status (its JSON)",
                "/healthz, /readyz, /metrics and POST /webhook",
            ],
        ),
        ("sync", ["could not be checked (Unknown", "was refused"]),
        (
            "import",
            ["With --all, the services the controller made beside another folder", "skipped"],
        ),
        ("promote", ["for blue-green, in the generation behind the prod listener", "run-task"]),
    ],
)
def test_help_names_what_the_command_does(command: str, claims: list[str]) -> None:
    text = _help(command)
    for claim in claims:
        assert claim in text, (command, claim)
