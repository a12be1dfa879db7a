"""local-aws: moto's server with a simulation of the ECS deployment lifecycle on top.

``LocalAws`` serves every moto service on one port; ``SimulationOptions`` says which images fail
or hang, which Lambda lifecycle hooks fail, how long tasks take to start and how long a simulated
minute of bake time lasts. Starting a server does network I/O on loopback.
"""

from controller.localaws.options import SimulationOptions
from controller.localaws.server import LocalAws

__all__ = ["LocalAws", "SimulationOptions"]
