"""``ecs-gitops import PATH --env ENV (--service NAME ... | --all) [--force] [--no-tag]``.

Adopt services that already run: write one service folder per live ECS service, from what ECS
describes (``controller.core.importer`` turns it into manifests), so that right after the
import ``validate`` is clean, ``plan`` shows the services in sync and ``sync`` adopts them
without registering or updating anything. Each imported service is tagged with the owner tag
(``ecs-gitops.owner: ENV/SERVICE``, TagResource) unless ``--no-tag``, so the controller knows it
for its own (prune). A service that cannot be imported says so in one line and the others go on;
with ``--all``, the services the controller made beside others (a canary, a blue-green
generation: tagged as another folder's, or a helper of a listed service) are skipped, one line
each.
Does I/O: reads the checkout and AWS, writes the folders, tags the services.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.aws.clients import clients_for
from controller.aws.ecs import EcsApi
from controller.aws.service_reads import read_service
from controller.core.importer import (
    NotImportable,
    file_texts,
    import_service,
    imported_kinds,
    not_a_folder,
    owner_conflict,
)
from controller.core.limits import is_ecs_name
from controller.core.model import Environment
from controller.core.ownership import OWNER_TAG, owner_of
from controller.errors import EcsGitopsError
from controller.source.tree import folder_inside, load_path, write_inside

EXIT_USAGE = 2
# every spelling of a manifest file: ``--force`` replaces them all, so none is left beside ours
_EXTENSIONS = (".yaml", ".yml", ".json")


def run(args: argparse.Namespace) -> int:
    """Import each service; 0 when all were imported, 1 when any was refused, 2 on usage."""
    root = Path(args.path)
    env = _environment(root, str(args.env))
    if env is None:
        return EXIT_USAGE
    api = EcsApi(clients_for(env))
    names = list(dict.fromkeys(args.service or ())) or sorted(
        api.list_service_names(cluster=env.cluster)
    )
    if not names:
        print(f"ecs-gitops import: cluster {env.cluster} has no services", file=sys.stderr)
        return 1
    # with --all, the services the controller made beside others are not folders of their own
    listed = () if args.service else tuple(names)
    imported = refused = skipped = 0
    for name in names:
        key = f"{env.name}/{name}"
        try:
            _import_one(
                api,
                root=root,
                env=env,
                name=name,
                force=args.force,
                tag=not args.no_tag,
                listed=listed,
            )
            imported += 1
        except _Skipped as e:
            print(f"{key}: skipped: {e}")
            skipped += 1
        except EcsGitopsError as e:
            print(f"ecs-gitops import: {key}: {e}", file=sys.stderr)
            refused += 1
    print(f"{imported} imported, {refused} refused, {skipped} skipped")
    return 1 if refused else 0


class _Skipped(EcsGitopsError):
    """``--all`` leaves this service out on purpose (a helper of another folder)."""


def _environment(root: Path, name: str) -> Environment | None:
    """ENV's environment.yaml under ``root`` (cluster, region, role), or None, said in one line."""
    if not (root / name / "environment.yaml").is_file():
        print(
            f"ecs-gitops import: no environment {name} in {root} (no {name}/environment.yaml)",
            file=sys.stderr,
        )
        return None
    state = load_path(root)
    env = state.environments.get(name)
    if env is None:
        problem = next((p for p in state.problems if p.file.startswith(f"{name}/")), None)
        why = f": {problem}" if problem is not None else ""
        print(f"ecs-gitops import: environment {name} is invalid{why}", file=sys.stderr)
    return env


def _import_one(
    api: EcsApi,
    *,
    root: Path,
    env: Environment,
    name: str,
    force: bool,
    tag: bool,
    listed: tuple[str, ...],
) -> None:
    key = f"{env.name}/{name}"
    if not is_ecs_name(name):
        raise EcsGitopsError(f"{name!r} is not an ECS service name")
    folder = root / env.name / name
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise EcsGitopsError(f"{key} exists and is not a folder: not imported")
    if folder.exists() and not force:
        raise EcsGitopsError(f"folder {key} exists: not imported (--force replaces its manifests)")
    live = read_service(api, cluster=env.cluster, name=name)
    if live is None:
        raise EcsGitopsError(f"no service {name} in cluster {env.cluster}")
    if listed:
        why = not_a_folder(name, env=env.name, importing=listed, service=live.service)
        if why is not None:
            raise _Skipped(why)
    conflict = owner_conflict(live.service, key=key)
    if conflict is not None:
        raise NotImportable(conflict)
    result = import_service(live, folder=name)
    # no link on the way, nor in any write below: a cloned checkout cannot redirect them
    folder = folder_inside(root, f"{env.name}/{name}")
    if force:
        for kind in imported_kinds():
            for extension in _EXTENSIONS:
                (folder / f"{kind}{extension}").unlink(missing_ok=True)
    texts = file_texts(result)
    for file_name, text in texts.items():
        write_inside(root, f"{env.name}/{name}/{file_name}", text)
    revision = str(live.service.get("taskDefinition", "")).rsplit("/", 1)[-1]
    literal = (
        f"; image of {', '.join(result.literal_images)} kept in task-definition.yaml"
        if result.literal_images
        else ""
    )
    print(
        f"{key}: imported service {name} ({revision}) as strategy {result.strategy}, "
        f"image {result.image}{literal}: {', '.join(texts)}"
    )
    if tag and owner_of(live.service) != key:
        api.tag_service(
            arn=str(live.service["serviceArn"]), tags=[{"key": OWNER_TAG, "value": key}]
        )
        print(
            f"{key}: tagged service {name} {OWNER_TAG}={key} (the controller's to update and prune)"
        )
