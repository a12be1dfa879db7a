"""Read the config repository as it was at a git revision (the base of a pull request).

Does I/O: runs ``git`` in the checkout (``git archive`` of the revision) and unpacks the tree
into a temporary folder, which ``controller.source.tree`` then reads exactly as it reads a
checkout: symbolic links are never followed, FIFOs and giants are never read. Only config
files are unpacked (a giant is reported, never written), with tarfile's ``data`` filter, so no
entry lands outside the temporary folder, no link points out of it, and no special file is
created.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from controller.core.documents import too_large
from controller.core.layout import EXTENSIONS, load_repo
from controller.core.limits import MAX_FILE_BYTES
from controller.core.model import Problem, RepoState
from controller.errors import GitError
from controller.source.tree import read_tree

_GIT_TIMEOUT = 120.0
# where every symbolic link of the archive points once unpacked: nowhere, and never outside
_NOT_FOLLOWED = "ecs-gitops: symbolic link not followed"
# <env>/environment.yaml and <env>/<service>/<file>: nothing else is ever desired state
_CONFIG_DEPTHS = (2, 3)


class _Unpacker:
    """tarfile's ``data`` filter, after leaving out what the tree reader would not read.

    Only config files (manifest extensions, at the depths the layout reads, no dot entries) are
    written; one over ``MAX_FILE_BYTES`` is not written but reported as the reader reports it.
    Every symbolic link is pointed at nothing: the tree reader reports a link as a link without
    reading where it points, and a link kept as committed could point outside the folder, which
    the ``data`` filter refuses for the whole archive instead of for that one file.
    """

    def __init__(self) -> None:
        self.too_large: dict[str, Problem] = {}

    def __call__(self, member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        parts = member.name.strip("/").split("/")
        if any(part.startswith(".") for part in parts) or len(parts) > max(_CONFIG_DEPTHS):
            return None  # .ecs-gitops, .github, deeper folders: never read
        if member.isfile():
            if len(parts) not in _CONFIG_DEPTHS or not member.name.endswith(EXTENSIONS):
                return None
            if member.size > MAX_FILE_BYTES:
                self.too_large[member.name] = Problem(member.name, 1, too_large(member.size))
                return None
        elif member.issym():
            member = member.replace(linkname=_NOT_FOLLOWED, deep=False)
        return tarfile.data_filter(member, path)


def _git(
    checkout: Path, *args: str, stdout: IO[bytes] | int = subprocess.PIPE
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(checkout), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GitError(f"git {args[0]} in {checkout}: {e}", retryable=False) from e


def resolve(checkout: Path, ref: str) -> str:
    """The commit ``ref`` names in the checkout's repository, or a ``GitError`` saying why not."""
    if ref.startswith("-"):
        raise GitError(f"read {ref}: not a revision", retryable=False)
    done = _git(checkout, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if b"not a git repository" in done.stderr:
        raise GitError(f"read {ref}: {checkout} is not a git repository", retryable=False)
    if done.returncode != 0:
        raise GitError(
            f"read {ref} in {checkout}: no such commit in this repository "
            "(a shallow CI clone needs the base fetched: git fetch origin BRANCH)",
            retryable=False,
        )
    return done.stdout.decode().strip()


def read_tree_at(checkout: Path, ref: str) -> dict[str, str | Problem]:
    """Every config file of the repository at ``ref``, read as ``read_tree`` reads a checkout."""
    commit = resolve(checkout, ref)
    with tempfile.TemporaryDirectory(prefix="ecs-gitops-base-") as folder:
        archive = Path(folder) / "tree.tar"
        with archive.open("wb") as out:
            done = _git(checkout, "archive", "--format=tar", commit, stdout=out)
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            message = lines[-1] if lines else f"exit status {done.returncode}"
            raise GitError(f"read {ref} ({commit[:12]}): git archive: {message}", retryable=False)
        root = Path(folder) / "tree"
        root.mkdir()
        unpack = _Unpacker()
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(root, filter=unpack)
        except (tarfile.TarError, OSError) as e:
            raise GitError(f"read {ref} ({commit[:12]}): {e}", retryable=False) from e
        return {**read_tree(root), **unpack.too_large}


def load_at(checkout: Path, ref: str) -> RepoState:
    """Load the config repository as it was at ``ref``."""
    return load_repo(read_tree_at(checkout, ref))
