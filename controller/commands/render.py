"""``ecs-gitops render PATH ENV/SERVICE``: print the AWS requests one service renders to, as JSON.

Does I/O: reads the tree at PATH, writes to the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from controller.core.render import as_requests
from controller.errors import ConfigError
from controller.source.tree import load_path


def run(args: argparse.Namespace) -> int:
    """Print one JSON document on stdout; an invalid service's problems go to stderr with exit 1."""
    state = load_path(Path(args.path))
    key = str(args.service).strip("/")
    if key in state.invalid:
        for problem in state.invalid[key]:
            print(problem, file=sys.stderr)
        return 1
    desired = state.services.get(key)
    if desired is None:
        known = ", ".join(sorted({*state.services, *state.invalid})) or "none"
        raise ConfigError(f"no service {key} in {args.path} (services: {known})")
    print(json.dumps(as_requests(desired), indent=2, sort_keys=True))
    return 0
