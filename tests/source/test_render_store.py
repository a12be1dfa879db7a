"""The render cache on disk: a one-shot sync renders only what changed since the last one."""

from __future__ import annotations

import pickle
from pathlib import Path

from controller.core.layout import RenderCache, load_repo
from controller.source.render_store import load_render_cache, render_cache_path, save_render_cache
from controller.source.tree import read_tree

REPO = read_tree(Path(__file__).resolve().parent.parent / "data" / "repos" / "minimal")


def test_a_saved_cache_is_used_by_the_next_process(tmp_path: Path) -> None:
    path = render_cache_path(tmp_path / "workdir")
    assert path.parent == tmp_path
    first = RenderCache()
    state = load_repo(REPO, cache=first)
    assert first.changed
    save_render_cache(first, path)

    second = RenderCache()
    load_render_cache(second, path)
    assert len(second) == len(first) > 0
    again = load_repo(REPO, cache=second)
    assert again == state
    assert not second.changed  # nothing rendered anew: nothing to save


def test_a_damaged_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "render-cache"
    for content in (
        b"not a pickle",
        pickle.dumps({"tag": "made by other code", "entries": {("x",): 1}}),
    ):
        path.write_bytes(content)
        cache = RenderCache()
        load_render_cache(cache, path)
        assert len(cache) == 0
        assert load_repo(REPO, cache=cache) == load_repo(REPO)
    cache = RenderCache()
    load_render_cache(cache, tmp_path / "missing")
    assert len(cache) == 0
