"""The installation: the one place where local-aws patches moto, process-wide.

moto's backends and response classes are global to the process, so local-aws can only answer
through them by replacing methods on moto's classes: :func:`install` sets every replacement of
:meth:`EcsHandlers.replacements <controller.localaws.handlers.EcsHandlers.replacements>` (and one
fix to moto's network interfaces), then Application Auto Scaling's paginated reads
(:func:`controller.localaws.autoscaling_api.replacements`), and returns an :class:`Installation`
whose :meth:`close` puts moto's own methods back. One installation at a time per process. No I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.ec2.models.elastic_network_interfaces import NetworkInterface

from controller.localaws import autoscaling_api
from controller.localaws.handlers import EcsHandlers
from controller.localaws.simulation import EcsSimulation

_ABSENT = object()  # an attribute moto's class does not have (the service deployments API)
_guard = threading.Lock()
_installed: Installation | None = None


class Installation:
    """moto patched to answer through one simulation at one clock; :meth:`close` undoes it."""

    def __init__(self, simulation: EcsSimulation, clock: Callable[[], float]) -> None:
        self.simulation = simulation
        self._originals: dict[tuple[type, str], Any] = {}
        # the handlers call moto's own methods through this mapping, filled in just below
        replacements = EcsHandlers(simulation, clock, moto=self._originals).replacements()
        if "private_dns_name" not in NetworkInterface.__dict__:
            # moto names an ENI's private DNS only in VPCs with DNS hostnames enabled, but its ECS
            # tasks always read it: without this, a task in any other VPC fails with a 500
            replacements[(NetworkInterface, "private_dns_name")] = None
        replacements.update(autoscaling_api.replacements())
        for (owner, name), replacement in replacements.items():
            self._originals[(owner, name)] = owner.__dict__.get(name, _ABSENT)
            setattr(owner, name, replacement)

    def close(self) -> None:
        """Give moto its own methods back (moto's state is kept). Closing twice does nothing."""
        global _installed
        with _guard:
            for (owner, name), original in self._originals.items():
                if original is _ABSENT:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            self._originals.clear()
            if _installed is self:
                _installed = None


def install(simulation: EcsSimulation, clock: Callable[[], float]) -> Installation:
    """Patch moto so that its ECS requests are answered through ``simulation`` at ``clock()``.

    Raises RuntimeError when another installation is still open in this process.
    """
    global _installed
    with _guard:
        if _installed is not None:
            raise RuntimeError(
                "local-aws: another ECS simulation is already installed in this process"
            )
        _installed = Installation(simulation, clock)
        return _installed
