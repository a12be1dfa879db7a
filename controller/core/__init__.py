"""The pure core: load, validate, render, normalise, diff and plan.

Purely computational: modules here take values and return values. No boto3, no git,
no filesystem, no clock (import-linter enforces the first two).
"""
