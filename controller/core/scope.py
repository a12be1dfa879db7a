"""Which services a pass must look at: all of them, or only those a commit touched.

A pass triggered by a new commit needs only the services whose files changed since the commit
the previous pass saw (the periodic full pass still catches drift in the others), so its cost
follows the change, not the size of the repository. Purely computational.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# A rollback marker concerns the one service it names: deleting it asks for a retry. (Status
# files are the controller's own notes: rewriting them changes no desired state.)
_MARKER_ROOT = ".ecs-gitops/rollback/"


def touched_keys(keys: Sequence[str], changed: Iterable[str]) -> list[str]:
    """Those of ``keys`` (ENV/SERVICE) whose desired state ``changed`` paths may have moved.

    A path inside a service's folder touches that service; any other path inside an
    environment's folder (environment.yaml, a shared file) touches the whole environment; a
    rollback marker touches its service; anything else at the root (a README, status files)
    touches nothing. A folder that is not one of ``keys`` (a removed service, a shared folder)
    touches its whole environment: without the old tree, that is the safe reading. Order of
    ``keys`` is kept.
    """
    services: set[str] = set()
    environments: set[str] = set()
    wanted = set(keys)
    for path in changed:
        if path.startswith(_MARKER_ROOT):
            services.add(path[len(_MARKER_ROOT) :].removesuffix(".yaml"))
            continue
        parts = path.split("/")
        if len(parts) < 2 or parts[0].startswith("."):
            continue
        key = f"{parts[0]}/{parts[1]}"
        if len(parts) > 2 and key in wanted:
            services.add(key)
        else:
            environments.add(parts[0])
    return [k for k in keys if k in services or k.split("/", 1)[0] in environments]
