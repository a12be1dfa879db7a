"""Read the config repository as it was at a git revision (the base of a pull request).

Does I/O: runs ``git`` in the checkout (``git archive`` of the revision) and unpacks the tree
into a temporary folder, which ``controller.source.tree`` then reads exactly as it reads a
checkout: symbolic links are never followed, FIFOs and giants are never read. The archive is
unpacked with tarfile's ``data`` filter, so no entry lands outside the temporary folder, no
link points out of it, and no special file is created.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

from controller.core.layout import load_repo
from controller.core.model import Problem, RepoState
from controller.errors import GitError
from controller.source.tree import read_tree

_GIT_TIMEOUT = 120.0
# where every symbolic link of the archive points once unpacked: nowhere, and never outside
_NOT_FOLLOWED = "ecs-gitops: symbolic link not followed"


def _unpack(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter, after pointing every symbolic link at nothing.

    The tree reader reports a link as a link without reading where it points; a link kept as
    committed could point outside the folder, which the ``data`` filter refuses for the whole
    archive instead of for that one file.
    """
    if member.issym():
        member = member.replace(linkname=_NOT_FOLLOWED, deep=False)
    return tarfile.data_filter(member, path)


def _git(checkout: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(checkout), *args],
        capture_output=True,
        timeout=_GIT_TIMEOUT,
        check=False,
    )


def resolve(checkout: Path, ref: str) -> str:
    """The commit ``ref`` names in the checkout's repository, or a ``GitError`` saying why not."""
    if ref.startswith("-"):
        raise GitError(f"read {ref}: not a revision", retryable=False)
    done = _git(checkout, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
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
            done = subprocess.run(
                ["git", "-C", str(checkout), "archive", "--format=tar", commit],
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=_GIT_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            message = lines[-1] if lines else f"exit status {done.returncode}"
            raise GitError(f"read {ref} ({commit[:12]}): git archive: {message}", retryable=False)
        root = Path(folder) / "tree"
        root.mkdir()
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(root, filter=_unpack)
        except (tarfile.TarError, OSError) as e:
            raise GitError(f"read {ref} ({commit[:12]}): {e}", retryable=False) from e
        return read_tree(root)


def load_at(checkout: Path, ref: str) -> RepoState:
    """Load the config repository as it was at ``ref``."""
    return load_repo(read_tree_at(checkout, ref))
