"""Prepared caches: what an engine derives from an avatar pack, kept on disk between runs.

Caches live under the cache root (argument `cache_root`, else `$MUSETALK_CACHE_DIR`,
else `~/.cache/streaming-avatar`) in
`<engine>-<cache_version>-<source sha256[:16]>-<W>x<H>/`, are written to a
temporary directory and renamed into place, and are guarded by a file lock so
that concurrent prepares of the same pack (threads or processes) build once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt
from filelock import FileLock

from .errors import AvatarPackError
from .log import logger
from .packs import AvatarPack
from .types import VideoSpec

CACHE_DIR_ENV = "MUSETALK_CACHE_DIR"
FALLBACK_CACHE_ROOT = Path(tempfile.gettempdir()) / "streaming-avatar-cache"

T = TypeVar("T")


class CorruptCacheError(Exception):
    """A prepared cache exists but cannot be read back; it will be rebuilt."""


@dataclass(frozen=True)
class CachedValue(Generic[T]):
    value: T
    directory: Path
    built: bool  # False: loaded from an existing cache


def default_cache_root() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "streaming-avatar"


def cache_path(
    pack: AvatarPack, engine_name: str, cache_version: str, spec: VideoSpec, cache_root: Path | None = None
) -> Path:
    name = f"{engine_name}-{cache_version}-{pack.source_digest[:16]}-{spec.width}x{spec.height}"
    return (cache_root or default_cache_root()) / name


def prepare_cached(
    pack: AvatarPack, final: Path, build: Callable[[Path], None], load: Callable[[Path], T]
) -> CachedValue[T]:
    """Load the cache at `final`, building it first if absent or corrupt.

    `build(directory)` writes the cache files into an empty directory;
    `load(directory)` reads them and raises CorruptCacheError when they are unusable.

    A cache root that cannot be written (read-only, full) does not stop the avatar: a complete
    cache there is read as it is, else the cache is prepared under the system's temporary
    directory; only when that fails too is the pack unusable (AvatarPackError).
    """
    try:
        return _prepare_locked(pack, final, build, load)
    except OSError as error:
        unwritable = error
    if final.is_dir():
        with contextlib.suppress(CorruptCacheError, OSError):
            return CachedValue(load(final), final, built=False)
    fallback = FALLBACK_CACHE_ROOT / final.name
    logger.warning(
        "avatar pack %r: cannot write its cache under %s (%s); preparing it under %s instead",
        pack.id,
        final.parent,
        unwritable,
        fallback.parent,
    )
    try:
        return _prepare_locked(pack, fallback, build, load)
    except OSError as error:
        raise AvatarPackError(
            pack.id, f"no cache directory can be written ({final.parent}: {unwritable}; {fallback.parent}: {error})"
        ) from error


def _prepare_locked(
    pack: AvatarPack, final: Path, build: Callable[[Path], None], load: Callable[[Path], T]
) -> CachedValue[T]:
    final.parent.mkdir(parents=True, exist_ok=True)
    # A new lock object per call locks the file anew: it excludes other threads as well as processes.
    with FileLock(final.with_name(final.name + ".lock")):
        if final.is_dir():
            try:
                return CachedValue(load(final), final, built=False)
            except CorruptCacheError as exc:
                logger.warning("avatar pack %r: cache %s is corrupt (%s); preparing again", pack.id, final, exc)
                shutil.rmtree(final)
        _build_atomically(final, build)
        try:
            return CachedValue(load(final), final, built=True)
        except CorruptCacheError as exc:
            raise AvatarPackError(
                pack.id, f"the cache just prepared at {final} cannot be read back ({exc}); check the disk"
            ) from exc


def read_npz(path: Path) -> dict[str, npt.NDArray[np.generic]]:
    """All arrays of an .npz file, or CorruptCacheError if it is missing, truncated or damaged."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise CorruptCacheError(f"{path.name}: {exc}") from exc


def read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CorruptCacheError(f"{path.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise CorruptCacheError(f"{path.name}: not a JSON object")
    return data


def _build_atomically(final: Path, build: Callable[[Path], None]) -> None:
    staging = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    staging.mkdir(parents=True)
    try:
        build(staging)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
