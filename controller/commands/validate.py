"""``ecs-gitops validate PATH``: check a whole config repository, print every problem as FILE:LINE.

Does I/O: reads the tree at PATH, writes to the terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.source.tree import load_path


def run(args: argparse.Namespace) -> int:
    """Print each problem on stdout; exit 0 when there are none, 1 otherwise."""
    state = load_path(Path(args.path))
    environments = len(
        {key.split("/", 1)[0] for key in (*state.services, *state.invalid)}
        | set(state.environments)
    )
    services = len(state.services) + len(state.invalid)
    counts = f"{_plural(environments, 'environment')}, {_plural(services, 'service')}"
    for problem in state.problems:
        print(problem)
    if state.problems:
        print(
            f"{counts}: {_plural(len(state.problems), 'problem')} "
            f"({_plural(len(state.invalid), 'invalid service')})",
            file=sys.stderr,
        )
        return 1
    print(f"{counts}: no problems")
    return 0


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
