"""Rollout strategies: resumable state machines that drive one service from live to desired.

Each strategy advances one step at a time from observed ECS state (does I/O through
``controller.aws.ecs.EcsApi``); its progress is a plain record that can be written down
and resumed.
"""
