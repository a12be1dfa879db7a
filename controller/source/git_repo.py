"""The config repository as a git clone: pull it, read its history, commit status back.

Does I/O: runs the git binary through GitPython (so SSH agents, credential helpers and
``GIT_SSH_COMMAND`` work as they do for the user) and writes the working clone on disk.
Credentials are never handled here and never appear in messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path

from git import Git, GitCommandError, Repo

from controller.errors import GitError
from controller.source.git_errors import (
    Failure,
    classify,
    git_error,
    redact_url,
    same_repository,
    scrub,
    stderr_of,
    summary,
)

STATUS_DIR = ".ecs-gitops"
"""The only folder the controller ever writes to in the config repository."""

DEFAULT_AUTHOR_EMAIL = "ecs-gitops@localhost"

TRAILER = "Ecs-Gitops-Controller"
"""The trailer every status commit carries (with the controller's identity): how the
controller tells its own commits under ``.ecs-gitops/`` from anyone else's."""

# Inside .git, so that no checkout or clean can remove it and no reader of the tree sees it:
# it marks a folder as ours to delete and re-clone when it is damaged.
_OWNED_MARKER = "ecs-gitops-clone"
_NULL_SHA = "0" * 40
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_AUTHOR = re.compile(r"\s*(?P<name>[^<>]*?)\s*(?:<(?P<email>[^<>\s]+)>)?\s*")
# Status paths go through `update-index --index-info`, which would unquote a leading '"'.
_PATH_SEGMENT = re.compile(r"[^\x00-\x1f\x7f\\\"]+")
# Git must never stop to ask for a password: a controller has no terminal. (GitPython already
# runs git in the C locale, which the error classification relies on.)
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}
# Push rejections that mean "someone else moved the branch first": fetch and try again.
_MOVED = ("[rejected]", "fetch first", "non-fast-forward", "cannot lock ref", "incorrect old value")


def default_workdir(url: str) -> Path:
    """Where the clone of ``url`` lives unless told otherwise: the user's cache directory.

    The folder name hashes the URL without credentials, so rotating a token keeps the clone.
    """
    cache = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    digest = hashlib.sha256(redact_url(url).rstrip("/").encode()).hexdigest()[:12]
    return root / "ecs-gitops" / digest


def parse_author(author: str) -> tuple[str, str]:
    """``"NAME"`` or ``"NAME <EMAIL>"`` as (name, email); the email defaults to ecs-gitops@localhost."""
    match = _AUTHOR.fullmatch(author)
    if not match or not match.group("name"):
        raise ValueError(f'author must be "NAME" or "NAME <EMAIL>", got {author!r}')
    return match.group("name"), match.group("email") or DEFAULT_AUTHOR_EMAIL


def status_path(path: str) -> str:
    """``path`` checked to be a file under ``.ecs-gitops/``, relative to the repository root."""
    parts = path.split("/")
    if (
        len(parts) < 2
        or parts[0] != STATUS_DIR
        or any(p in ("", ".", "..") or not _PATH_SEGMENT.fullmatch(p) for p in parts)
    ):
        raise ValueError(f"status files must be under {STATUS_DIR}/, got {path!r}")
    return path


def _check_branch(name: str) -> str:
    # A name reaches git's command line: '--upload-pack=...' would be read as an option. The
    # error is an expected one (a typo in a flag), so it is ours: one line, no traceback.
    if not _BRANCH.fullmatch(name) or ".." in name or name.endswith((".lock", "/", ".")):
        raise GitError(f"not a usable branch name: {name!r}", retryable=False)
    return name


def _check_rev(rev: str) -> str:
    # Revisions reach git's command line: one starting with '-' would be read as an option.
    if not rev or rev.startswith("-"):
        raise ValueError(f"not a commit: {rev!r}")
    return rev


class _Damaged(Exception):
    """The working clone is broken in a way that a fresh clone fixes."""


class ConfigRepository:
    """A working clone of the config repository, kept in ``workdir`` across passes.

    ``pull()`` must run first in each process; every other method works on what it fetched.
    One instance per workdir at a time: two controllers sharing a clone would race on its
    index and refs (they may share the remote, which is what ``commit_status`` is built for).
    """

    def __init__(
        self,
        *,
        url: str,
        branch: str = "main",
        workdir: Path | None = None,
        status_branch: str | None = None,
        author: str = "ecs-gitops",
        push_attempts: int = 5,
        network_timeout: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if push_attempts < 1:
            raise ValueError("push_attempts must be at least 1")
        if "://" not in url and ":" not in url.split("/", 1)[0] and Path(url).exists():
            # a local path: git runs inside the workdir, where a relative path means nothing
            url = str(Path(url).resolve())
        self._url = url
        self._shown_url = redact_url(url)
        self._branch = _check_branch(branch)
        self._status_branch = _check_branch(status_branch or branch)
        self._workdir = Path(workdir) if workdir is not None else default_workdir(url)
        # Only a folder we chose ourselves may be wiped without our marker in it.
        self._chosen_by_us = workdir is None
        try:
            self._author = parse_author(author)
        except ValueError as e:
            raise GitError(f"--author: {e}", retryable=False) from e
        self._push_attempts = push_attempts
        self._network_timeout = network_timeout
        self._sleep = sleep
        self._random = random.Random()
        self._repo: Repo | None = None
        self._identity: str | None = None
        # ``run`` pulls on the pass's thread while rollouts publish status on theirs: a fetch
        # and a push (or two pushes) must not race on the clone's refs
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        """The working tree, checked out (detached) at the tracked branch tip of the last pull."""
        return self._workdir

    @property
    def url(self) -> str:
        """The repository URL with any credentials replaced by ``***``: safe to print."""
        return self._shown_url

    @property
    def identity(self) -> str:
        """This controller's identity: the host and a random id kept next to the working clone.

        Stable across restarts on the same clone (so a restarted controller recognises its own
        claims), different for every other clone (so two controllers tell each other apart).
        """
        if self._identity is None:
            path = self._workdir.parent / f"{self._workdir.name}.id"
            try:
                found = path.read_text().strip()
            except OSError:
                found = ""
            if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}/[0-9a-f]{12}", found):
                host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64] or "host"
                found = f"{host}/{os.urandom(6).hex()}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(found + "\n")
            self._identity = found
        return self._identity

    # ----------------------------------------------------------------- pull

    def pull(self) -> str:
        """Clone or fetch, hard-reset the working tree to origin/<branch>; return the tip's full sha.

        An existing clone is fetched into, never re-cloned, unless it is damaged (no .git,
        corrupt objects, another repository's URL, a fetch failing for a non-network reason).
        A force-pushed branch is simply followed.
        """
        with self._lock:
            return self._pull()

    def _pull(self) -> str:
        reason = self._open_existing()
        if reason is None:
            try:
                return self._fetch_and_reset()
            except _Damaged as damaged:
                reason = str(damaged)
        self._clone_afresh(reason)
        try:
            return self._fetch_and_reset()
        except _Damaged as damaged:
            raise GitError(
                f"check out {self._branch} of {self._shown_url} in a fresh clone: {damaged}",
                retryable=False,
            ) from damaged

    def _open_existing(self) -> str | None:
        """Open the clone in ``workdir``; None when usable, else why it must be re-cloned."""
        if not (self._workdir / ".git").is_dir():
            return "no clone yet" if not self._workdir.exists() else "no .git folder"
        try:
            repo = Repo(self._workdir)
            urls = list(repo.remote("origin").urls) if repo.remotes else []
        except Exception as e:  # a corrupt .git surfaces as errors of many types
            return f"unreadable clone ({type(e).__name__})"
        if len(urls) != 1 or not same_repository(urls[0], self._url):
            return "clone of another repository"
        if urls[0] != self._url:
            # Same repository, new credentials: keep the objects, take the new URL.
            with repo.config_writer() as config:
                config.set_value('remote "origin"', "url", self._url)
        self._use(repo)
        return None

    def _use(self, repo: Repo | None) -> None:
        if self._repo is not None and self._repo is not repo:
            self._repo.close()
        if repo is not None:
            repo.git.update_environment(**_GIT_ENV)
        self._repo = repo

    def _clone_afresh(self, reason: str) -> None:
        """Replace ``workdir`` with a new clone, built beside it and moved in when complete."""
        target = self._workdir
        if target.exists() and any(target.iterdir()) and not self._owns(target):
            raise GitError(
                f"clone {self._shown_url} into {target}: the folder is not empty and is not a "
                f"clone made by ecs-gitops ({reason}); empty it or choose another --workdir",
                retryable=False,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".clone", dir=target.parent)
        )
        try:
            repo = Repo.init(fresh)
            with repo.config_writer() as config:
                # Written to the config file directly, not passed on a command line that
                # `ps` would show with its credentials.
                config.set_value('remote "origin"', "url", self._url)
                config.set_value('remote "origin"', "fetch", self._refspec(self._branch))
                # A gc left running in the background could write into a folder being moved.
                config.set_value("gc", "autoDetach", "false")
            (fresh / ".git" / _OWNED_MARKER).write_text(
                "This clone is managed by ecs-gitops and may be deleted and re-cloned.\n"
            )
            self._use(repo)
            self._fetch(tolerate_damage=False)
            repo.close()
            if target.exists():
                shutil.rmtree(target)
            fresh.rename(target)
        except BaseException:
            self._use(None)
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        self._use(Repo(target))

    def _owns(self, folder: Path) -> bool:
        return self._chosen_by_us or (folder / ".git" / _OWNED_MARKER).is_file()

    def _fetch_and_reset(self) -> str:
        self._fetch(tolerate_damage=True)
        git = self._git()
        try:
            tip = git.rev_parse("--verify", f"{self._tracking_ref(self._branch)}^{{commit}}")
            git.checkout("--force", "--detach", tip)
            # -x too: leftovers of any kind would be read as configuration.
            git.clean("-ffdxq")
        except GitCommandError as e:
            raise self._damage_or_error(f"check out {self._branch}", e) from e
        return str(tip)

    # ---------------------------------------------------------------- fetch

    @staticmethod
    def _refspec(branch: str) -> str:
        # '+': a force-pushed branch is followed, not refused.
        return f"+refs/heads/{branch}:refs/remotes/origin/{branch}"

    @staticmethod
    def _tracking_ref(branch: str) -> str:
        return f"refs/remotes/origin/{branch}"

    def _fetch(self, *, tolerate_damage: bool, only_status: bool = False) -> None:
        """Fetch the tracked branch and the status branch (which may not exist yet)."""
        if only_status:
            wanted = [self._status_branch]
        else:
            wanted = list(dict.fromkeys([self._branch, self._status_branch]))
        action = f"fetch {' and '.join(wanted)} from {self._shown_url}"
        try:
            self._fetch_branches(wanted)
            return
        except GitCommandError as e:
            if not self._status_branch_missing(e):
                raise self._fetch_error(action, e, tolerate_damage=tolerate_damage) from e
        # The separate status branch does not exist (yet, or any more): forget our copy.
        self._forget(self._status_branch)
        rest = [b for b in wanted if b != self._status_branch]
        try:
            self._fetch_branches(rest)
        except GitCommandError as e:
            raise self._fetch_error(action, e, tolerate_damage=tolerate_damage) from e

    def _status_branch_missing(self, error: GitCommandError) -> bool:
        missing = re.search(r"couldn't find remote ref refs/heads/(\S+)", stderr_of(error))
        return (
            missing is not None
            and missing.group(1) == self._status_branch
            and self._status_branch != self._branch
        )

    def _fetch_error(
        self, action: str, error: GitCommandError, *, tolerate_damage: bool
    ) -> Exception:
        if tolerate_damage:
            return self._damage_or_error(action, error)
        return git_error(action, error, url=self._url)

    def _fetch_branches(self, branches: Sequence[str]) -> None:
        if not branches:
            return
        self._git().fetch(
            "--no-tags",
            "--quiet",
            "--recurse-submodules=no",
            "origin",
            *(self._refspec(b) for b in branches),
            kill_after_timeout=self._network_timeout,
        )

    def _forget(self, branch: str) -> None:
        try:
            self._git().update_ref("-d", self._tracking_ref(branch))
        except GitCommandError as e:
            raise git_error(f"forget the deleted branch {branch}", e, url=self._url) from e

    def _damage_or_error(self, action: str, error: GitCommandError) -> Exception:
        """``_Damaged`` when a fresh clone would fix ``error``, else a ``GitError``."""
        if classify(stderr_of(error)) is Failure.DAMAGED:
            return _Damaged(f"{action}: {scrub(summary(stderr_of(error)), self._url)}")
        return git_error(action, error, url=self._url)

    # ---------------------------------------------------------------- read

    def _git(self) -> Git:
        if self._repo is None:
            raise RuntimeError("ConfigRepository.pull() must run before anything else")
        return self._repo.git

    def _tip(self, branch: str) -> str | None:
        """The fetched tip of ``branch``, or None when the remote has no such branch."""
        try:
            return str(
                self._git().rev_parse(
                    "--verify", "--quiet", f"{self._tracking_ref(branch)}^{{commit}}"
                )
            )
        except GitCommandError:
            return None

    def config_commits(self, paths_by_key: Mapping[str, Sequence[str]]) -> dict[str, str]:
        """For each key, the full sha of the newest commit that touched any of its paths.

        Paths are folders or files relative to the repository root ("" or "." is the whole
        repository). History is the pulled tip's first-parent chain, each merge compared with
        its first parent: the answer is the commit that brought the change to the tracked
        branch. Changes under ``.ecs-gitops/`` never count. Keys whose paths no commit touched
        are left out. One history walk serves all keys, and stops once every key is answered.
        """
        keys_by_path: dict[str, list[str]] = {}
        for key, paths in paths_by_key.items():
            for path in paths:
                keys_by_path.setdefault(_normalise(path), []).append(key)
        pending = {key for keys in keys_by_path.values() for key in keys}
        found: dict[str, str] = {}
        if not pending:
            return found
        with closing(self._first_parent_history()) as history:
            for sha, changed in history:
                for path in changed:
                    if path == STATUS_DIR or path.startswith(STATUS_DIR + "/"):
                        continue
                    for prefix in _prefixes(path):
                        for key in keys_by_path.get(prefix, ()):
                            if key in pending:
                                pending.discard(key)
                                found[key] = sha
                if not pending:
                    break  # the rest of the history cannot change the answer
        return found

    def _first_parent_history(self) -> Generator[tuple[str, list[str]], None, None]:
        """(sha, changed paths) from HEAD backwards, streamed so a caller may stop early."""
        process = self._git().log(
            "-z",
            "--no-color",
            "--no-show-signature",
            "--first-parent",
            "--diff-merges=first-parent",
            "--no-renames",  # a move counts for both its old and its new path
            "--name-only",
            "--format=%x01%H",
            "HEAD",
            as_process=True,
        )
        finished = False
        try:
            sha: str | None = None
            changed: list[str] = []
            buffer = b""
            while chunk := process.stdout.read(65536):
                *tokens, buffer = (buffer + chunk).split(b"\0")
                for token in tokens:
                    if token.startswith(b"\x01"):
                        if sha is not None:
                            yield sha, changed
                        sha, changed = token[1:].decode(), []
                    elif token:
                        changed.append(token.lstrip(b"\n").decode("utf-8", "surrogateescape"))
            if sha is not None:
                yield sha, changed
            finished = True
        finally:
            if finished:
                try:
                    process.wait()
                except GitCommandError as e:
                    raise git_error(f"read the history of {self._branch}", e, url=self._url) from e
            elif process.proc is not None:
                # Stopped early on purpose: git would otherwise walk the whole history.
                process.proc.kill()
                process.proc.wait()

    def commits_touching(self, old: str, new: str, paths: Sequence[str]) -> list[str]:
        """The first-parent commits after ``old`` up to ``new`` that change any of ``paths``,
        oldest first (empty when ``old`` is not an ancestor in the clone: nothing can be said)."""
        git = self._git()
        try:
            git.merge_base("--is-ancestor", _check_rev(old), _check_rev(new))
        except GitCommandError:
            return []
        try:
            out = git.log(
                "--first-parent",
                "--diff-merges=first-parent",
                "--reverse",
                "--format=%H",
                f"{old}..{new}",
                "--",
                *(_normalise(p) or "." for p in paths),
            )
        except GitCommandError as e:
            raise git_error(f"list the commits from {old} to {new}", e, url=self._url) from e
        return str(out).split()

    def changed_paths(self, old: str, new: str) -> set[str] | None:
        """Paths (files, relative to the root) whose content differs between two commits,
        ``.ecs-gitops/`` included.

        Compares the two snapshots, whatever the history between them. Returns None when
        ``old`` is not in the clone (e.g. lost to a force push before we ever fetched it):
        the caller cannot tell what changed and must treat every path as changed.
        """
        git = self._git()
        try:
            git.rev_parse("--verify", "--quiet", f"{_check_rev(old)}^{{commit}}")
        except GitCommandError:
            return None
        try:
            out = git.diff_tree("-r", "-z", "--name-only", "--no-renames", old, _check_rev(new))
        except GitCommandError as e:
            raise git_error(f"compare {old} with {new}", e, url=self._url) from e
        return {p for p in str(out).split("\0") if p}

    def read_status(self, paths: Sequence[str] = ()) -> dict[str, str]:
        """The files under ``.ecs-gitops/`` on the status branch tip as last fetched.

        Keys are paths relative to the repository root (``.ecs-gitops/...``), exactly what
        ``commit_status`` takes; values are the files' text. With ``paths``, only those.
        """
        tip = self._tip(self._status_branch)
        if tip is None:
            return {}
        git = self._git()
        action = f"read {STATUS_DIR}/ on {self._status_branch}"
        try:
            listing = str(
                git.ls_tree("-r", "-z", "--full-tree", tip, "--", *(paths or (STATUS_DIR,)))
            )
            blobs = []
            for entry in filter(None, listing.split("\0")):
                meta, path = entry.split("\t", 1)
                mode, kind, sha = meta.split()
                if kind == "blob" and mode in ("100644", "100755"):
                    blobs.append((path, sha))
            contents = self._cat_blobs([sha for _, sha in blobs])
        except GitCommandError as e:
            raise git_error(action, e, url=self._url) from e
        return {
            path: data.decode("utf-8", "replace")
            for (path, _), data in zip(blobs, contents, strict=True)
        }

    def foreign_status_files(self, current: Iterable[str]) -> dict[str, str]:
        """Files of ``current`` (paths under ``.ecs-gitops/``) last changed by someone else.

        A status commit is the controller's when its author is the controller's identity and
        it carries the ``Ecs-Gitops-Controller`` trailer; a file whose newest change came from
        any other commit (a hand edit, a pull request) is foreign: the value says which commit
        and who. Deleting a file is always allowed (it is then not current). The verdicts are
        kept next to the clone with the tip they are about, so a pass reads only the history
        since the last one.
        """
        tip = self._tip(self._status_branch)
        wanted = set(current)
        if tip is None or not wanted:
            return {}
        cache_path = self._workdir.parent / f"{self._workdir.name}.status-authors.json"
        try:
            cache = json.loads(cache_path.read_text())
            since, foreign = (
                str(cache["tip"]),
                {str(k): str(v) for k, v in cache["foreign"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            since, foreign = "", {}
        if since != tip:
            git = self._git()
            known = bool(since) and self._is_ancestor(since, tip)
            span = f"{since}..{tip}" if known else tip
            if not known:
                foreign = {}
            try:
                out = str(
                    git.log(
                        "--no-renames",
                        "--name-only",
                        "--format=%x1e%H%x1f%an%x1f%ae%x1f%s%x1f"
                        f"%(trailers:key={TRAILER},valueonly,separator=%x2c)",
                        span,
                        "--",
                        STATUS_DIR,
                    )
                )
            except GitCommandError as e:
                raise git_error(f"read the history of {STATUS_DIR}/", e, url=self._url) from e
            decided: set[str] = set()
            name, email = self._author
            for record in out.split("\x1e")[1:]:
                header, _, names = record.partition("\n")
                sha, author, address, subject, trailer = [*header.split("\x1f"), "", "", "", ""][:5]
                # status commits of versions before the trailer: the author and their subject
                legacy = subject.startswith("status: ") and not trailer
                ours = (author, address) == (name, email) and (bool(trailer.strip()) or legacy)
                for path in filter(None, (n.strip() for n in names.splitlines())):
                    if path in decided:
                        continue  # newest first: a later change already decided this file
                    decided.add(path)
                    if ours:
                        foreign.pop(path, None)
                    else:
                        foreign[path] = f"commit {sha[:12]} by {author} <{address}>"
            scratch = cache_path.with_name(cache_path.name + ".tmp")
            scratch.write_text(json.dumps({"tip": tip, "foreign": foreign}))
            scratch.replace(cache_path)
        return {path: who for path, who in foreign.items() if path in wanted}

    def _is_ancestor(self, old: str, new: str) -> bool:
        try:
            self._git().merge_base("--is-ancestor", old, new)
        except GitCommandError:
            return False
        return True

    def _cat_blobs(self, shas: Sequence[str]) -> list[bytes]:
        """Many blobs' content in one ``git cat-file --batch``."""
        if not shas:
            return []
        with tempfile.TemporaryFile() as request:
            request.write("".join(f"{sha}\n" for sha in shas).encode())
            request.seek(0)
            out = self._git().cat_file("--batch", istream=request, stdout_as_string=False)
        data: bytes = bytes(out) if not isinstance(out, bytes) else out
        contents = []
        at = 0
        for _ in shas:
            header_end = data.index(b"\n", at)
            size = int(data[at:header_end].split()[2])
            contents.append(data[header_end + 1 : header_end + 1 + size])
            at = header_end + 1 + size + 1  # the content is followed by a newline
        return contents

    # -------------------------------------------------------------- commit

    def commit_status(
        self,
        changes: Mapping[str, str | None],
        *,
        message: str,
        recheck: Callable[[Mapping[str, str]], Mapping[str, str | None]] | None = None,
    ) -> str | None:
        """Write (text) or delete (None) files under ``.ecs-gitops/`` on the status branch, in
        one commit, and push it.

        If the branch moved since the last fetch, the same changes are re-applied onto its
        new tip and pushed again, up to ``push_attempts`` times with a jittered backoff:
        anyone else's commits are kept (never a force push), and for files this pass did not
        write the newer remote content wins. A status branch other than the tracked one is
        created as an orphan holding only ``.ecs-gitops/``. Returns the pushed commit's sha,
        or None when the changes leave the branch as it is (no commit is made).

        ``recheck``, when given, is called before each attempt with the ``.ecs-gitops/`` files
        at the tip the commit goes on, and returns the changes to make there (fewer, when
        someone else's push made some of them wrong): a compare-and-swap whose arbiter is the
        push.

        Raises ValueError for paths outside ``.ecs-gitops/``.
        """
        wanted = {status_path(path): text for path, text in changes.items()}
        if not wanted:
            return None
        with self._lock:
            return self._commit_status(wanted, changes, message=message, recheck=recheck)

    def _commit_status(
        self,
        wanted: dict[str, str | None],
        changes: Mapping[str, str | None],
        *,
        message: str,
        recheck: Callable[[Mapping[str, str]], Mapping[str, str | None]] | None,
    ) -> str | None:
        self._git()
        for attempt in range(1, self._push_attempts + 1):
            if recheck is not None:
                # only the files the commit writes: a claim of 1 service of 1,000 reads 1
                at_tip = self.read_status(paths=[status_path(p) for p in changes])
                wanted = {status_path(p): t for p, t in recheck(at_tip).items()}
                if not wanted:
                    return None
            parent = self._tip(self._status_branch)
            commit = self._status_commit(parent=parent, changes=wanted, message=message)
            if commit is None:
                return None
            if self._push(commit):
                return commit
            if attempt < self._push_attempts:
                # Jitter keeps several controllers racing for one branch from colliding again.
                self._sleep(0.2 * 2 ** (attempt - 1) * self._random.uniform(0.5, 1.5))
                self._fetch(tolerate_damage=False, only_status=True)
        raise GitError(
            f"push status to {self._status_branch} of {self._shown_url}: the branch kept "
            f"moving, gave up after {self._push_attempts} attempts",
            retryable=True,
        )

    def _status_commit(
        self, *, parent: str | None, changes: Mapping[str, str | None], message: str
    ) -> str | None:
        """A commit of ``changes`` on top of ``parent``, or None when they change nothing.

        Built in a private index so the working tree (the tracked branch) is never touched.
        """
        git = self._git()
        name, email = self._author
        try:
            with tempfile.TemporaryDirectory(prefix="ecs-gitops-status-") as scratch:
                index = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
                if parent is None:
                    git.read_tree("--empty", env=index)
                else:
                    git.read_tree(parent, env=index)
                written = [(p, t) for p, t in changes.items() if t is not None]
                shas = self._store_blobs([t.encode() for _, t in written], scratch=scratch)
                lines = [
                    f"100644 {sha}\t{path}\n" for (path, _), sha in zip(written, shas, strict=True)
                ]
                lines += [f"0 {_NULL_SHA}\t{p}\n" for p, t in changes.items() if t is None]
                request = Path(scratch, "index-info")
                request.write_text("".join(lines))
                with request.open("rb") as stdin:
                    git.update_index("--index-info", istream=stdin, env=index)
                tree = str(git.write_tree(env=index))
            if parent is None and not written:
                return None  # only deletions on a branch that does not exist
            if parent is not None and tree == str(git.rev_parse(f"{parent}^{{tree}}")):
                return None
            identity = {
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name,
                "GIT_COMMITTER_EMAIL": email,
            }
            parents = ["-p", parent] if parent is not None else []
            signed = f"{message.rstrip()}\n\n{TRAILER}: {self.identity}\n"
            return str(git.commit_tree(tree, *parents, "--no-gpg-sign", "-m", signed, env=identity))
        except GitCommandError as e:
            raise git_error(f"commit status to {self._status_branch}", e, url=self._url) from e

    def _store_blobs(self, contents: Sequence[bytes], *, scratch: str) -> list[str]:
        """Write blobs into the object database with one ``git hash-object``."""
        if not contents:
            return []
        names = []
        for number, data in enumerate(contents):
            name = os.path.join(scratch, f"blob-{number}")
            Path(name).write_bytes(data)
            names.append(name)
        request = Path(scratch, "blob-paths")
        request.write_text("".join(f"{n}\n" for n in names))
        with request.open("rb") as stdin:
            # --no-filters: the text is stored as given, whatever .gitattributes says.
            out = self._git().hash_object("-w", "--no-filters", "--stdin-paths", istream=stdin)
        return str(out).split()

    def _push(self, commit: str) -> bool:
        """Push ``commit`` to the status branch: True when it landed, False when the branch
        moved under us (fetch and retry); any other failure raises ``GitError``."""
        git = self._git()
        try:
            git.push(
                "--porcelain",
                "--no-verify",
                "origin",
                f"{commit}:refs/heads/{self._status_branch}",
                kill_after_timeout=self._network_timeout,
            )
        except GitCommandError as e:
            told = f"{e.stdout}\n{e.stderr}".lower()
            if any(sign in told for sign in _MOVED):
                return False
            if "checked out" in told or "denycurrentbranch" in told:
                raise GitError(
                    f"push status to {self._status_branch} of {self._shown_url}: that branch is "
                    "checked out in a non-bare repository, which git refuses to update; push "
                    "status to another branch with --status-branch, or use a bare repository",
                    retryable=False,
                ) from e
            raise git_error(
                f"push status to {self._status_branch} of {self._shown_url}", e, url=self._url
            ) from e
        try:
            git.update_ref(self._tracking_ref(self._status_branch), commit)
        except GitCommandError as e:
            raise git_error(f"record the pushed {self._status_branch}", e, url=self._url) from e
        return True


def _normalise(path: str) -> str:
    """A config path as git prints it: no leading ``./``, no trailing ``/``; "" is the root."""
    path = path.strip().strip("/")
    while path.startswith("./"):
        path = path[2:]
    return "" if path == "." else path


def _prefixes(path: str) -> Iterator[str]:
    """``a/b/c`` -> ``a/b/c``, ``a/b``, ``a``, ``""``: every folder that contains the path."""
    yield path
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path
    yield ""
