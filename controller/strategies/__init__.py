"""Rollout strategies: resumable state machines that drive one service from live to desired.

One folder per strategy: ``description.py`` says, as pure data, what the core and the reconcile
pass need to know of it (``controller.core.strategy_traits``); ``rollout.py`` advances one step
at a time from observed ECS state, doing I/O only through the adapters its context carries. Its
progress, with the strategy's own typed record, can be written down and resumed.
"""
