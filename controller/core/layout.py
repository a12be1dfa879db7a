"""Discover environments and services in a config repository's files and build the RepoState.

An environment is a top-level folder holding environment.yaml; a service is a folder directly
under an environment holding deploy.yaml. Each file kind may be written as .yaml, .yml or .json.
Problems of one service never stop the others from being checked.

Purely computational: the caller reads the tree (see ``controller.source.tree``).
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from controller.core import schemas
from controller.core.clashes import name_clashes
from controller.core.documents import Document, parse_document
from controller.core.limits import ECS_NAME_RULE, check_service, is_ecs_name
from controller.core.model import DesiredService, Environment, Problem, RepoState
from controller.core.render import RenderedEnvironment, render_environment, render_service

EXTENSIONS = (".yaml", ".yml", ".json")
ENVIRONMENT = "environment"
SERVICE_KINDS = (
    "deploy",
    "task-definition",
    "service",
    "scalable-target",
    "scaling-policy",
    "run-task",
)


def kind_of(filename: str) -> str | None:
    """``task-definition.yml`` -> ``task-definition``; None for other extensions."""
    stem, ext = posixpath.splitext(filename)
    return stem if ext in EXTENSIONS else None


@dataclass
class _Folder:
    """Files of one folder, by kind (a list: two files of one kind is a mistake)."""

    files: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    unknown: list[str] = field(default_factory=list)
    # why the folder itself was not read (a symbolic link), when it was not
    refused: Problem | None = None


_Loaded = tuple[DesiredService | None, list[Problem], dict[str, Document]]
# every path a service's rendering reads, each followed by its text (or why it was not read)
_CacheKey = tuple[str | Problem, ...]


class RenderCache:
    """Services loaded from the very same files, kept from one load to the next.

    A long-running controller loads the repository on every pass; with a cache, a commit
    costs the rendering of the services it changed, not of the whole repository. Each load
    keeps only the entries it used, so the cache never outgrows the repository. Cached
    values are shared between loads: callers must not change them in place.
    """

    def __init__(self) -> None:
        self._entries: dict[_CacheKey, _Loaded] = {}
        self._used: dict[_CacheKey, _Loaded] = {}
        # whether the last load rendered anything anew or dropped anything (worth saving)
        self.changed = False

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> dict[_CacheKey, _Loaded]:
        """Every entry, for a caller that keeps the cache between processes."""
        return dict(self._entries)

    def restore(self, entries: Mapping[_CacheKey, _Loaded]) -> None:
        """Start from entries a caller kept (between processes)."""
        self._entries = dict(entries)

    def get(self, key: _CacheKey) -> _Loaded | None:
        found = self._entries.get(key)
        if found is not None:
            self._used[key] = found
        return found

    def put(self, key: _CacheKey, loaded: _Loaded) -> None:
        self._used[key] = loaded

    def finish(self) -> None:
        """End of a load: keep what it used, drop the rest."""
        self.changed = self._used.keys() != self._entries.keys()
        self._entries, self._used = self._used, {}


def load_repo(files: Mapping[str, str | Problem], *, cache: RenderCache | None = None) -> RepoState:
    """Load, validate and render a whole config repository.

    ``files`` maps each path relative to the repository root (posix, e.g.
    ``"staging/web/deploy.yaml"``) to the file's text, or to the problem that kept the
    reader from reading it (see ``controller.source.tree``): a refused file makes its
    service invalid (all the environment's, for environment.yaml), a refused folder its
    service, and nothing else. Paths under dot-folders (``.git``, ``.ecs-gitops``) and
    files that are not .yaml/.yml/.json are ignored. With a ``cache``, services whose files
    (and environment.yaml) did not change since the last load are not rendered again.
    """
    env_folders: dict[str, _Folder] = defaultdict(_Folder)
    service_folders: dict[tuple[str, str], _Folder] = defaultdict(_Folder)
    refused_top: list[Problem] = []
    for path in sorted(files):
        parts = path.split("/")
        if any(part.startswith(".") for part in parts[:-1]):
            continue
        if kind_of(parts[-1]) is None:
            refused = files[path]
            if isinstance(refused, Problem):  # a folder that was not entered
                if len(parts) == 1:
                    refused_top.append(refused)  # it may have been an environment: say so
                elif len(parts) == 2:
                    service_folders[(parts[0], parts[1])].refused = refused
            continue
        kind = kind_of(parts[-1])
        if len(parts) == 2:
            folder = env_folders[parts[0]]
            if kind == ENVIRONMENT:
                folder.files[kind].append(path)
            else:
                folder.unknown.append(path)
        elif len(parts) == 3:
            folder = service_folders[(parts[0], parts[1])]
            if kind in SERVICE_KINDS:
                folder.files[kind].append(path)
            else:
                folder.unknown.append(path)
        # deeper files are not read: a service is exactly one folder

    problems: list[Problem] = list(refused_top)
    environments: dict[str, Environment] = {}
    services: dict[str, DesiredService] = {}
    invalid: dict[str, tuple[Problem, ...]] = {}
    documents: dict[str, dict[str, Document]] = {}

    for (env_name, service_name), folder in sorted(service_folders.items()):
        if env_name not in env_folders or not env_folders[env_name].files:
            problems.extend(_orphan(env_name, service_name, folder))

    for env_name, env_folder in sorted(env_folders.items()):
        if not env_folder.files:
            continue  # not an environment: a folder for something else
        if not is_ecs_name(env_name):
            # its services' keys would name status files and log lines: not one of them loads
            problems.append(_bad_name("environment", env_name, env_folder.files[ENVIRONMENT][0]))
            continue
        env_doc, env_problems = _single(env_folder.files[ENVIRONMENT], files)
        env_problems.extend(_unknown(env_folder.unknown, [ENVIRONMENT]))
        rendered = render_environment(env_name, env_doc)
        env_problems.extend(rendered.problems)
        problems.extend(env_problems)
        if not env_problems:
            environments[env_name] = rendered.environment
        env_services = {
            name: folder
            for (env, name), folder in service_folders.items()
            if env == env_name and (folder.files.get("deploy") or folder.refused)
        }
        for name, folder in sorted(env_services.items()):
            key = f"{env_name}/{name}"
            if not is_ecs_name(name):
                where = folder.files["deploy"][0] if folder.files.get("deploy") else key
                problems.append(_bad_name("service", name, where))
                continue
            if folder.refused is not None:
                # invalid, not absent: a folder that merely looks gone must not be pruned
                problems.append(folder.refused)
                invalid[key] = tuple(sorted({*env_problems, folder.refused}))
                continue
            cache_key = _cache_key(env_folder, folder, files)
            loaded = cache.get(cache_key) if cache is not None else None
            if loaded is None:
                loaded = _load_service(rendered, name=name, folder=folder, files=files)
            if cache is not None:
                cache.put(cache_key, loaded)
            desired, service_problems, documents[key] = loaded
            service_problems = list(service_problems)
            problems.extend(service_problems)
            if desired is not None and not env_problems:
                services[key] = desired
            else:
                invalid[key] = tuple(sorted({*env_problems, *service_problems}))

    _check_across(services, invalid, documents, problems)
    if cache is not None:
        cache.finish()
    return RepoState(
        environments=environments,
        services=services,
        invalid=invalid,
        problems=tuple(sorted(set(problems))),
    )


def _cache_key(
    env_folder: _Folder, folder: _Folder, files: Mapping[str, str | Problem]
) -> _CacheKey:
    """Every path and text a service's rendering reads: its folder's and its environment.yaml."""
    paths = sorted(
        [p for ps in env_folder.files.values() for p in ps]
        + [p for ps in folder.files.values() for p in ps]
        + list(folder.unknown)
    )
    return tuple(part for path in paths for part in (path, files[path]))


def _bad_name(what: str, name: str, where: str) -> Problem:
    """A folder whose name is no ECS name (shown as a repr: it may hold a newline)."""
    return Problem(
        where,
        1,
        f"{what} folder name {name!r} is not usable: a folder name must be an ECS name "
        f"({ECS_NAME_RULE}); nothing in it is loaded",
    )


def _orphan(env_name: str, service_name: str, folder: _Folder) -> list[Problem]:
    """A service-like folder in a top-level folder without environment.yaml."""
    deploy = folder.files.get("deploy")
    if not deploy:
        return []
    return [
        Problem(
            deploy[0],
            1,
            f"{env_name}/ has no environment.yaml, so service {service_name} belongs to no environment",
        )
    ]


def _single(
    paths: list[str], files: Mapping[str, str | Problem]
) -> tuple[Document | None, list[Problem]]:
    """Parse the one file of a kind; two files of one kind (``x.yaml`` and ``x.json``) is a problem.

    The document is None when it cannot be used (unreadable, or which of two files is meant?).
    """
    problems: list[Problem] = []
    if len(paths) > 1:
        names = ", ".join(posixpath.basename(p) for p in paths)
        problems.extend(
            Problem(path, 1, f"two files of one kind ({names}): keep one") for path in paths[1:]
        )
    parsed: Document | None = None
    for path in paths:
        text = files[path]
        if isinstance(text, Problem):  # not read: the reader said why
            problems.append(text)
            continue
        doc, parse_problems = parse_document(path, text)
        problems.extend(parse_problems)
        parsed = parsed or doc
    if len(paths) > 1:
        return None, problems
    return parsed, problems


def _unknown(paths: list[str], known: list[str]) -> list[Problem]:
    problems = []
    for path in paths:
        name = posixpath.basename(path)
        stem = kind_of(name) or name
        hint = schemas.suggest(f"{stem}.yaml", [f"{k}.yaml" for k in known])
        problems.append(
            Problem(
                path,
                1,
                f"unknown file '{name}'{hint} (a folder holds only {', '.join(f'{k}.yaml' for k in known)})",
            )
        )
    return problems


def _load_service(
    env: RenderedEnvironment, *, name: str, folder: _Folder, files: Mapping[str, str | Problem]
) -> tuple[DesiredService | None, list[Problem], dict[str, Document]]:
    problems = _unknown(folder.unknown, list(SERVICE_KINDS))
    documents: dict[str, Document] = {}
    unusable: list[str] = []
    for kind, paths in folder.files.items():
        doc, kind_problems = _single(paths, files)
        problems.extend(kind_problems)
        if doc is not None:
            documents[kind] = doc
        else:
            unusable.append(kind)
    desired, render_problems = render_service(
        env=env, name=name, documents=documents, unusable=unusable
    )
    problems.extend(render_problems)
    if desired is not None:
        problems.extend(check_service(desired, documents))
    return (desired if not problems else None), problems, documents


def _check_across(
    services: dict[str, DesiredService],
    invalid: dict[str, tuple[Problem, ...]],
    documents: Mapping[str, Mapping[str, Document]],
    problems: list[Problem],
) -> None:
    """Rules between services: runBefore targets, unique names and families, name clashes."""
    found: dict[str, list[Problem]] = defaultdict(list)
    deploy_docs = {key: docs["deploy"] for key, docs in documents.items() if "deploy" in docs}
    for key, doc in sorted(deploy_docs.items()):
        env_name, name = key.split("/", 1)
        target = doc.value.get("runBefore") if isinstance(doc.value, dict) else None
        if not isinstance(target, str):
            continue
        if target == name:
            found[key].append(doc.problem(("runBefore",), "runBefore names this service itself"))
        elif f"{env_name}/{target}" not in documents:
            names = sorted(k.split("/", 1)[1] for k in documents if k.startswith(f"{env_name}/"))
            hint = schemas.suggest(target, names)
            found[key].append(
                doc.problem(("runBefore",), f"runBefore: no service '{target}' in {env_name}{hint}")
            )
        elif _cycle(key, deploy_docs):
            found[key].append(doc.problem(("runBefore",), "runBefore forms a cycle"))

    owners: dict[tuple[str, str, str], list[DesiredService]] = defaultdict(list)
    for desired in services.values():
        if desired.service is not None:
            owners[(desired.env.name, "service", desired.service_name)].append(desired)
        family = desired.task_definition.get("family")
        owners[(desired.env.name, "family", str(family))].append(desired)
    for (_env, what, value), sharing in owners.items():
        if len(sharing) < 2:
            continue
        for desired in sharing:
            others = ", ".join(d.name for d in sharing if d is not desired)
            kind = "service" if what == "service" else "task-definition"
            label = "serviceName" if what == "service" else "family"
            doc = documents[desired.key][kind]
            found[desired.key].append(
                doc.problem(
                    (label,), f"{label} '{value}' is also used by {others} in this environment"
                )
            )

    # names two folders would share in one cluster (a canary next to a folder of its name...)
    for key, clashes in name_clashes(services, documents).items():
        found[key].extend(clashes)

    for key, extra in found.items():
        problems.extend(extra)
        if key in services:
            del services[key]
            invalid[key] = tuple(sorted(set(extra)))
        else:
            invalid[key] = tuple(sorted({*invalid.get(key, ()), *extra}))


def _cycle(start: str, deploy_docs: Mapping[str, Document]) -> bool:
    env_name = start.split("/", 1)[0]
    seen = {start}
    current = start
    while True:
        doc = deploy_docs.get(current)
        target = (
            doc.value.get("runBefore") if doc is not None and isinstance(doc.value, dict) else None
        )
        if not isinstance(target, str):
            return False
        current = f"{env_name}/{target}"
        if current == start:
            return True
        if current in seen:
            return False  # a cycle that does not pass through start: reported on its members
        seen.add(current)
