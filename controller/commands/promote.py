"""``ecs-gitops promote FROM_ENV/SERVICE TO_ENV [--path PATH] [--by-digest]``.

Copy the image one environment runs live into another's deploy.yaml: the service's cluster,
name and image container come from the checkout (FROM_ENV/SERVICE), the image from ECS
(DescribeServices, DescribeTaskDefinition; with ``--by-digest`` ListTasks and DescribeTasks for
the running tasks' ``imageDigest``). The live service is where the strategy's description says
its live state is: for blue-green the ``<name>__<N>`` generation behind the prod listener (else
the one the checkout's status file records); a job (run-task) has none and is refused. Only
TO_ENV/SERVICE/deploy.yaml's ``image:`` line changes; the diff is printed and the user commits
it. Refused, in one line, when the image is not running healthily. Does I/O: reads the
checkout and AWS, writes one file, prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.service_reads import live_service, running_tasks
from controller.commands.plan import recorded_statuses
from controller.core.limits import is_ecs_name
from controller.core.promotion import (
    NotPromotable,
    by_digest,
    health_refusal,
    image_container,
    live_image,
    nothing_live,
    primary_task_definition,
    recorded_generation,
    running_digest,
    unified_diff,
    with_image,
)
from controller.errors import ConfigError
from controller.source.tree import load_path, read_regular, write_inside

EXIT_USAGE = 2


def run(args: argparse.Namespace) -> int:
    """Write the live image into the target's deploy.yaml and print the diff; 1 when refused."""
    root = Path(args.path)
    source = str(args.source).strip("/")
    env_name, _, name = source.partition("/")
    if not env_name or not name or "/" in name:
        print(
            f"ecs-gitops promote: {args.source!r} is not FROM_ENV/SERVICE (e.g. staging/web)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    target_key = f"{args.target}/{name}"
    if not is_ecs_name(str(args.target)):
        print(
            f"ecs-gitops promote: {args.target!r} is not an environment folder name",
            file=sys.stderr,
        )
        return EXIT_USAGE
    deploy_file = _deploy_file(root, target_key)
    if deploy_file is None:
        print(
            f"ecs-gitops promote: no service folder {target_key} with a deploy.yaml in {root}",
            file=sys.stderr,
        )
        return EXIT_USAGE

    state = load_path(root)
    desired = state.services.get(source)
    if desired is None:
        if source in state.invalid:
            raise ConfigError(f"{source} is invalid: {state.invalid[source][0]}")
        raise ConfigError(f"no service {source} in {root}")
    container = image_container(desired)
    refusal = nothing_live(desired)
    if refusal is not None:
        raise NotPromotable(f"{refusal}: not promoted")
    api = EcsApi(clients_for(desired.env))
    cluster = desired.cluster
    recorded = recorded_statuses(root).get(source)
    service = live_service(
        api,
        desired,
        recorded_name=recorded_generation(
            recorded.details if recorded else None, base=desired.service_name
        ),
    )
    if service is None:
        raise NotPromotable(f"{source}: no service {desired.service_name} in cluster {cluster}")
    # a strategy may run it under another name (a blue-green generation ``web__3``)
    service_name = str(service.get("serviceName") or desired.service_name)
    refusal = health_refusal(service, key=source)
    if refusal is not None:
        raise NotPromotable(f"{refusal}: not promoted")
    arn = primary_task_definition(service)
    task_definition, _ = api.describe_task_definition(arn)
    image = live_image(task_definition, container=container, key=source)
    if args.by_digest:
        tasks = running_tasks(api, cluster=cluster, name=service_name)
        digest = running_digest(tasks, container=container, task_definition=arn, key=source)
        image = by_digest(image, digest)

    relative = deploy_file.relative_to(root).as_posix()
    before = read_regular(deploy_file)
    if before is None:
        raise ConfigError(f"{relative}: not a regular file")
    after = with_image(before, image, file=relative)
    if after == before:
        print(f"{target_key}: already at {image} (what {source} runs): nothing to change")
        return 0
    write_inside(root, relative, after)  # never through a link, even one made meanwhile
    sys.stdout.write(unified_diff(before, after, file=relative))
    print(f"{target_key}: image {image} (what {source} runs); review and commit it")
    return 0


def _deploy_file(root: Path, key: str) -> Path | None:
    folder = root / key
    for extension in (".yaml", ".yml"):
        candidate = folder / f"deploy{extension}"
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None
