"""A production install (no `local-aws` extra) says what to install, without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", ["local-aws", "demo"])
def test_commands_needing_the_embedded_aws_say_how_to_get_it(command: str) -> None:
    # moto hidden as if it were not installed
    code = (
        "import sys; sys.modules['moto'] = None; "
        f"from controller.cli import main; sys.exit(main([{command!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "pip install 'ecs-gitops[local-aws]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_controller_itself_does_not_need_it() -> None:
    examples = str(Path(__file__).resolve().parent.parent.parent / "examples")
    code = (
        "import sys; sys.modules['moto'] = None; import controller.reconcile, controller.commands.run; "
        f"from controller.cli import main; sys.exit(main(['validate', {examples!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
