"""Every strategy's description, by deploy.yaml ``strategy``: the one place they are looked up.

A strategy lives in the folder named after it (``blue-green`` -> ``blue_green/``), its
description in ``description.py`` as ``DESCRIPTION``: adding a strategy is its ``Strategy``
value and its folder. Pure (descriptions only, never a rollout), so that the core may import
it: import-linter allows the core this one module of ``controller.strategies`` and keeps the
descriptions pure.
"""

from __future__ import annotations

import importlib

from controller.core.model import Strategy
from controller.core.strategy_traits import StrategyTraits


def folder(strategy: Strategy) -> str:
    """The package of a strategy's folder: its deploy.yaml name as a Python name."""
    return str(strategy).replace("-", "_")


def _load(strategy: Strategy) -> StrategyTraits:
    module = importlib.import_module(f"controller.strategies.{folder(strategy)}.description")
    description = getattr(module, "DESCRIPTION", None)
    if not isinstance(description, StrategyTraits) or description.strategy is not strategy:
        raise TypeError(f"{module.__name__}.DESCRIPTION does not describe strategy {strategy}")
    return description


DESCRIPTIONS: dict[Strategy, StrategyTraits] = {s: _load(s) for s in Strategy}


def describe(strategy: Strategy) -> StrategyTraits:
    """The description of ``strategy``."""
    return DESCRIPTIONS[strategy]
