"""The render cache on disk, so that a one-shot ``sync`` process renders only what changed.

Rendering and validating a large repository costs more than the AWS calls of a no-op pass;
kept next to the working clone, the cache lets each process render only the services whose
files changed since the last one. Entries are tagged with the code and schemas that made
them, so an upgrade (or a different botocore) starts afresh. The file is the controller's
own, next to its clone: whoever can write it can already change the clone. Does I/O (files).
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import botocore

import controller
from controller.core.layout import RenderCache


@cache
def _code_tag() -> str:
    """What made the entries: the core's code, its schemas, botocore's models, Python."""
    digest = hashlib.sha256()
    package = Path(controller.__file__).resolve().parent
    for path in sorted([*(package / "core").glob("*.py"), *(package / "schemas").glob("*.json")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(f"{botocore.__version__}|{sys.version_info[:2]}".encode())
    return digest.hexdigest()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Unpickling builds many objects that are all kept: the cyclic collector only slows it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_cache_path(workdir: Path) -> Path:
    return workdir.parent / f"{workdir.name}.render-cache"


def load_render_cache(cache: RenderCache, path: Path) -> None:
    """Fill ``cache`` from ``path``; left empty when missing, unreadable or made by other code."""
    try:
        with path.open("rb") as f, _collector_paused():
            saved = pickle.load(f)
        if saved.get("tag") == _code_tag():
            cache.restore(saved["entries"])
    except (
        OSError,
        pickle.UnpicklingError,
        EOFError,
        AttributeError,
        ImportError,
        KeyError,
        TypeError,
    ):
        pass


def save_render_cache(cache: RenderCache, path: Path) -> None:
    """Write the cache atomically; failing to write it only costs the next process time."""
    scratch = path.with_name(path.name + ".tmp")
    try:
        with scratch.open("wb") as f:
            pickle.dump(
                {"tag": _code_tag(), "entries": cache.entries()},
                f,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        os.replace(scratch, path)
    except OSError:
        scratch.unlink(missing_ok=True)
