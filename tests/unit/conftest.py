"""Fixtures shared by the unit tests: the shipped default pack, an empty prepared-avatar cache and the tiny
MuseTalk checkpoints, each made once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livekit.plugins.musetalk import CACHE_DIR_ENV, AvatarPack, load_pack
from support.paths import AVATARS
from support.tiny_musetalk import build_tiny_musetalk


@pytest.fixture(scope="module")
def avatar_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty directory that is the prepared-avatar cache (MUSETALK_CACHE_DIR) for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("cache")
        patch.setenv(CACHE_DIR_ENV, str(cache))
        yield cache


@pytest.fixture(scope="module")
def default_pack() -> AvatarPack:
    return load_pack("default", AVATARS)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny random-weight MuseTalk checkpoints in the released layout."""
    return build_tiny_musetalk(tmp_path_factory.mktemp("musetalk"))
