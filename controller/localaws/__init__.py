"""local-aws: moto's server with a simulation of the ECS deployment lifecycle on top.

``LocalAws`` serves every moto service on one port; ``SimulationOptions`` says which images fail
or hang, which Lambda lifecycle hooks fail, how long tasks take to start and how long a simulated
minute of bake time lasts. Starting a server does network I/O on loopback.

The modules, from the inside out:

- ``simulation`` (with ``native_rollout``, ``blue_green`` and ``service_deployments``): the ECS
  lifecycle, no I/O, driven by the time each call is given (a test can advance a fake clock);
- ``handlers`` and ``service_deployment_api``: moto's ECS request handlers, answered through one
  simulation at one clock; ``autoscaling_api``: Application Auto Scaling's reads, paged as AWS
  pages them;
- ``install``: the one place that patches moto (process-wide, undone on close);
- ``server``: ``LocalAws``, which installs the handlers at the wall clock and serves requests one
  at a time; ``options``: ``SimulationOptions``.
"""

from controller.localaws.options import SimulationOptions
from controller.localaws.server import LocalAws

__all__ = ["LocalAws", "SimulationOptions"]
