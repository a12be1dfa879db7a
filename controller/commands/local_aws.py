"""``ecs-gitops local-aws``: serve the embedded AWS until Ctrl-C or SIGTERM.

Does I/O: binds a port, serves HTTP, prints the endpoint on stdout.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from controller.errors import EcsGitopsError
from controller.localaws import LocalAws, SimulationOptions


def run(args: argparse.Namespace) -> int:
    """Serve until a signal arrives; print ``local-aws listening on URL`` once it answers."""
    if args.task_start_seconds < 0:
        raise EcsGitopsError("--task-start-seconds must be 0 or more")
    if args.minute_seconds < 0:
        raise EcsGitopsError("--minute-seconds must be 0 or more")
    options = SimulationOptions(
        fail_images=tuple(args.fail_image),
        stuck_images=tuple(args.stuck_image),
        pull_fail_images=tuple(args.pull_fail_image),
        fail_hooks=tuple(args.fail_hook),
        task_start_seconds=args.task_start_seconds,
        minute_seconds=args.minute_seconds,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed before binding, so a signal during start-up still ends in a clean stop.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    aws = LocalAws(host=args.host, port=args.port, options=options)
    try:
        aws.start()
    except OSError as e:
        raise EcsGitopsError(f"listen on {args.host}:{args.port}: {e.strerror or e}") from e
    try:
        print(f"local-aws listening on {aws.endpoint_url}", flush=True)
        for glob in options.fail_images:
            print(f"local-aws: tasks of images matching {glob!r} will exit 1", file=sys.stderr)
        for glob in options.pull_fail_images:
            print(f"local-aws: images matching {glob!r} will fail to pull", file=sys.stderr)
        for glob in options.fail_hooks:
            print(f"local-aws: Lambda lifecycle hooks matching {glob!r} will fail", file=sys.stderr)
        for glob in options.stuck_images:
            print(
                f"local-aws: tasks of images matching {glob!r} will stay PENDING", file=sys.stderr
            )
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        aws.stop()
    return 0
