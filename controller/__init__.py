"""ecs-gitops: a GitOps controller for Amazon ECS.

The path of one commit through the code, by folder:
source (git) -> core (layout, render, diff, plan) -> strategies (rolling, canary,
blue-green, run-task) -> status (write-back). ``reconcile`` ties them together,
``aws`` holds the thin boto3 adapters, and ``localaws`` the embedded AWS stand-in.
"""

__version__ = "0.1.0"
