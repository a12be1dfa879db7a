"""The rolling strategy: its description (pure, ``description.py``) and its rollout (I/O, ``rollout.py``).

Nothing is imported here, so that the core can read the description without the rollout.
"""
