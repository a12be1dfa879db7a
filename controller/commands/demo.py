"""``ecs-gitops demo``: the end-to-end demo on an embedded local AWS (see ``controller.demo``)."""

from __future__ import annotations

import argparse

from controller.demo import run_demo


def run(args: argparse.Namespace) -> int:
    return run_demo()
