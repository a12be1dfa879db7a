"""Read a config repository checkout from disk into the mapping the core loads.

Does I/O (lists folders, reads files). Only what the layout can use is read: manifest-like
files (.yaml, .yml, .json) in top-level folders and in the folders directly under them. Dot
entries (``.git``, ``.ecs-gitops``, ...) are skipped.

A checkout is not trusted: a file in it may be a symbolic link to a secret on this machine, a
FIFO that never answers, a device that never ends. So a config file is read only when it is a
regular file of the checkout itself, opened without following links and without blocking, and
at most ``MAX_FILE_BYTES`` of it; a config folder is entered only when it is a real folder. Any
other entry becomes a ``Problem`` in place of its text, naming the path and why it was not
read, and never anything read from it or from where it points.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from controller.core.documents import too_large
from controller.core.layout import EXTENSIONS, load_repo
from controller.core.limits import MAX_FILE_BYTES
from controller.core.model import Problem, RepoState
from controller.errors import ConfigError

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever.
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# <root>/<env>/<service>/<file>: nothing deeper is ever part of the desired state.
_DEEPEST_FOLDER = 2

_LINK = "is a symbolic link, which is never followed: commit the file itself"
_FOLDER_LINK = "is a symbolic link to a folder, which is never followed: commit a real folder"


def read_tree(root: Path) -> dict[str, str | Problem]:
    """Every config file under ``root``, by posix path relative to ``root``.

    The value is the file's text, or a ``Problem`` saying why it was not read; a refused
    folder (a symbolic link) is reported at its own path.
    """
    if not root.is_dir():
        raise ConfigError(f"read config repository {root}: not a directory")
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise ConfigError(f"read config repository {root}: {e.strerror or e}") from e
    files: dict[str, str | Problem] = {}
    try:
        _read_folder(fd, "", depth=0, files=files)
    finally:
        os.close(fd)
    return files


def load_path(root: Path) -> RepoState:
    """Read and load the config repository checked out at ``root``."""
    return load_repo(read_tree(root))


def _read_folder(fd: int, prefix: str, *, depth: int, files: dict[str, str | Problem]) -> None:
    """Read the folder open at ``fd`` (``prefix`` is its path, "" or ending in "/")."""
    with os.scandir(fd) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .git, .ecs-gitops, editors' files: never desired state
        path = prefix + entry.name
        manifest = entry.name.endswith(EXTENSIONS)
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth < _DEEPEST_FOLDER:
                    _enter(fd, entry.name, path, depth=depth + 1, files=files)
            elif entry.is_symlink():
                if manifest and depth > 0:
                    files[path] = Problem(path, 1, _LINK)
                elif depth < _DEEPEST_FOLDER and _points_to_folder(entry):
                    files[path] = Problem(path, 1, _FOLDER_LINK)
            elif not manifest or depth == 0:
                continue  # never desired state: other files, and files at the root
            elif entry.is_file(follow_symlinks=False):
                files[path] = _read_file(fd, entry.name, path)
            else:  # not even opened: opening a device can have effects of its own
                mode = entry.stat(follow_symlinks=False).st_mode
                files[path] = Problem(path, 1, _not_regular(mode))
        except OSError as e:
            files[path] = Problem(path, 1, f"could not be read: {e.strerror or e}")


def _enter(
    parent: int, name: str, path: str, *, depth: int, files: dict[str, str | Problem]
) -> None:
    try:
        # O_NOFOLLOW: a folder swapped for a link since it was listed is not entered either
        fd = os.open(name, _DIRECTORY, dir_fd=parent)
    except OSError as e:
        files[path] = Problem(path, 1, f"could not be read: {e.strerror or e}")
        return
    try:
        _read_folder(fd, f"{path}/", depth=depth, files=files)
    finally:
        os.close(fd)


def _points_to_folder(entry: os.DirEntry[str]) -> bool:
    """Whether a symbolic link leads to a folder (asked of the file system, nothing is read)."""
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False  # a dangling link: nothing there to be a folder


def read_regular(path: Path) -> str | None:
    """The text of ``path`` if it is a regular UTF-8 file within the size limit, else None.

    For files the controller reads beside the manifests (a checkout's status files): a link,
    FIFO, device or giant is never read, exactly as for a manifest.
    """
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        found = _read_file(folder, path.name, path.name)
    finally:
        os.close(folder)
    return found if isinstance(found, str) else None


# O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader forever
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def write_inside(root: Path, relative: str, text: str) -> None:
    """Write ``text`` to ``root/relative`` (``ENV/SERVICE/FILE``), for the commands that edit a
    checkout (import, promote).

    The checkout is no more trusted when written than when read: every folder on the way must
    be a real folder (created when missing) and the file a regular one (created when missing);
    a symbolic link anywhere, or any other kind of file, is refused and never followed, so a
    link in a cloned repository cannot make a command write outside it. Raises ConfigError.
    """
    *folders, name = _parts(relative)
    fd = _open_folders(root, folders, relative=relative)
    try:
        try:
            out = os.open(name, _WRITE, 0o666, dir_fd=fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                what = _LINK
            elif e.errno == errno.ENXIO:  # a FIFO no one reads, or a device: never waited on
                what = "is a FIFO or a device, not a regular file: not written"
            else:
                what = f"could not be written: {e.strerror or e}"
            raise ConfigError(f"write {relative}: {what}") from e
        try:
            mode = os.fstat(out).st_mode
            if not stat.S_ISREG(mode):
                raise ConfigError(f"write {relative}: {_not_regular(mode, refused='not written')}")
            os.ftruncate(out, 0)
            data = text.encode("utf-8")
            while data:
                data = data[os.write(out, data) :]
        finally:
            os.close(out)
    finally:
        os.close(fd)


def folder_inside(root: Path, relative: str) -> Path:
    """``root/relative`` (``ENV/SERVICE``) as a real folder of the checkout, created when
    missing; a symbolic link or a file on the way is refused (ConfigError), as in
    ``write_inside``."""
    os.close(_open_folders(root, _parts(relative), relative=relative))
    return root / relative


def _parts(relative: str) -> list[str]:
    """The names of a path inside the checkout; ``..``, ``.``, empty or control-character
    names (which would lead out of it, or into a name no folder of the layout has) refused."""
    parts = relative.split("/")
    for part in parts:
        if part in ("", ".", "..") or any(ord(c) < 32 or c == "\x7f" for c in part):
            raise ConfigError(f"write {relative!r}: {part!r} is not a name inside the checkout")
    return parts


def _open_folders(root: Path, folders: list[str], *, relative: str) -> int:
    """A descriptor of ``root/<folders...>``, each entered without following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for folder in folders:
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, dir_fd=fd)
            try:
                inner = os.open(folder, _DIRECTORY, dir_fd=fd)
            except OSError as e:
                raise ConfigError(f"write {relative}: {folder} {_not_a_folder(e)}") from e
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _not_a_folder(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return "is a symbolic link or a file, not a folder: nothing is written through it"
    return f"could not be opened: {error.strerror or error}"


def _read_file(folder: int, name: str, path: str) -> str | Problem:
    """The text of a regular file, or why it is not read: no links, FIFOs, devices or giants."""
    try:
        fd = os.open(name, _FILE, dir_fd=folder)
    except OSError as e:
        if e.errno == errno.ELOOP:  # swapped for a symbolic link since it was listed
            return Problem(path, 1, _LINK)
        return Problem(path, 1, f"could not be read: {e.strerror or e}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Problem(path, 1, _not_regular(info.st_mode))
        if info.st_size > MAX_FILE_BYTES:
            return Problem(path, 1, too_large(info.st_size))
        data = _read_at_most(fd, MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        return Problem(path, 1, too_large(len(data)))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        return Problem(
            path,
            line,
            f"not UTF-8: byte 0x{data[e.start]:02x} at column {column} cannot be decoded; "
            "save the file as UTF-8",
        )


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(limit - size, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _not_regular(mode: int, *, refused: str = "not read") -> str:
    if stat.S_ISFIFO(mode):
        kind = "a FIFO"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a special file"
    return f"is {kind}, not a regular file: {refused}"
