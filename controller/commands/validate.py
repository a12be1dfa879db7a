"""``ecs-gitops validate PATH``: check a whole config repository, print every problem as FILE:LINE.

Does I/O: reads the tree at PATH, writes to the terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.core import ecs_deployment_rules
from controller.core.layout import load_repo
from controller.source.tree import read_tree


def run(args: argparse.Namespace) -> int:
    """Print each problem and warning on stdout; exit 0 when there are no problems, 1 otherwise.

    A warning (``FILE:LINE: warning: ...``) says what is allowed but likely not meant; it
    never fails validate nor holds a service back.
    """
    files = read_tree(Path(args.path))
    state = load_repo(files)
    warnings = ecs_deployment_rules.warnings(files, state)
    environments = len(
        {key.split("/", 1)[0] for key in (*state.services, *state.invalid)}
        | set(state.environments)
    )
    services = len(state.services) + len(state.invalid)
    counts = f"{_plural(environments, 'environment')}, {_plural(services, 'service')}"
    for problem in (*state.problems, *warnings):
        print(problem)
    warned = f", {_plural(len(warnings), 'warning')}" if warnings else ""
    if state.problems:
        print(
            f"{counts}: {_plural(len(state.problems), 'problem')} "
            f"({_plural(len(state.invalid), 'invalid service')}){warned}",
            file=sys.stderr,
        )
        return 1
    print(f"{counts}: no problems{warned}")
    return 0


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
