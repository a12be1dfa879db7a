"""How local-aws's simulated ECS behaves: which images fail or hang, which hooks fail, how fast.

A plain value, no I/O: ``LocalAws`` takes it (and lets tests replace it), the simulation reads it
when it launches tasks and runs hooks, the server reads the refusals (``throttle``,
``server_errors``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimulationOptions:
    """How simulated tasks behave. Globs are shell-style (fnmatch) on the full image reference."""

    fail_images: tuple[str, ...] = ()
    stuck_images: tuple[str, ...] = ()
    fail_hooks: tuple[str, ...] = ()  # AWS_LAMBDA lifecycle hooks whose ARN matches answer FAILED
    # tasks of matching images never start: the pull fails (CannotPullContainerError)
    pull_fail_images: tuple[str, ...] = ()
    task_start_seconds: float = 1.0
    # calls to refuse before serving them, by ECS operation ("UpdateService") or operation and
    # cluster ("DescribeServices/prod"): so many ThrottlingException (HTTP 400) answers, then so
    # many HTTP 500 answers; counted from when the options are set (see ``LocalAws``)
    throttle: Mapping[str, int] = field(default_factory=dict)
    server_errors: Mapping[str, int] = field(default_factory=dict)
    # how long one simulated minute (bakeTimeInMinutes) lasts, in real seconds
    minute_seconds: float = 60.0

    def fails(self, image: str) -> bool:
        """True when tasks of ``image`` start and then exit 1."""
        return any(fnmatch.fnmatchcase(image, glob) for glob in self.fail_images)

    def pull_fails(self, image: str) -> bool:
        """True when tasks of ``image`` stop in PENDING, their image not pulled."""
        return any(fnmatch.fnmatchcase(image, glob) for glob in self.pull_fail_images)

    def hook_fails(self, arn: str) -> bool:
        """True when the Lambda lifecycle hook ``arn`` answers FAILED."""
        return any(fnmatch.fnmatchcase(arn, glob) for glob in self.fail_hooks)

    def stuck(self, image: str) -> bool:
        """True when tasks of ``image`` stay PENDING forever."""
        return any(fnmatch.fnmatchcase(image, glob) for glob in self.stuck_images)
