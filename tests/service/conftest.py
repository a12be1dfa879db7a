"""The end-to-end workspace (a config repository in a bare remote, local-aws) for service tests."""

from tests.e2e.conftest import workspace

__all__ = ["workspace"]
