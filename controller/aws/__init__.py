"""Thin adapters around boto3: clients, error translation, and reading live ECS state.

Modules here do I/O (AWS API calls); the decisions they feed are made in ``controller.core``.
"""
