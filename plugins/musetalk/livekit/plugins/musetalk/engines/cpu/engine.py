"""The CPU engine: prepares a rig per pack (cached on disk) and hands out sessions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ...packs import AvatarPack, cache_path, prepare_cached
from ..base import VideoSpec
from .preview import write_preview
from .rig import FaceRig, build_rig
from .session import CpuSession, Liveliness

ENGINE_NAME = "cpu"
ENGINE_VERSION = "1"  # bump whenever the rig format or its derivation changes: it keys the cache

ProgressCallback = Callable[[str, float], None]  # (step description, fraction done)


@dataclass(frozen=True)
class PreparedPortrait:
    pack_id: str
    spec: VideoSpec
    rig: FaceRig
    cache_dir: Path
    from_cache: bool

    @property
    def preview_path(self) -> Path:
        return self.cache_dir / "preview.png"


class CpuEngine:
    name = ENGINE_NAME
    version = ENGINE_VERSION

    def __init__(self, liveliness: Liveliness | None = None) -> None:
        self.liveliness = liveliness or Liveliness()
        self.rigs_built = 0  # rigs derived from a portrait (cache misses), across all threads
        self._count_lock = threading.Lock()

    def cache_dir(self, pack: AvatarPack, spec: VideoSpec | None = None) -> Path:
        return cache_path(pack, ENGINE_NAME, ENGINE_VERSION, spec or pack.video_spec)

    def prepare(
        self, pack: AvatarPack, spec: VideoSpec | None = None, *, progress: ProgressCallback | None = None
    ) -> PreparedPortrait:
        """Load the pack's rig from the cache, or build it (raises AvatarPackError on a broken pack)."""
        spec = spec or pack.video_spec
        report = progress or (lambda step, fraction: None)

        def build(directory: Path) -> None:
            report("reading the portrait", 0.05)
            image = pack.load_image()
            report("finding the face", 0.2)
            landmarks = pack.locate_face(image)
            report("building the rig", 0.5)
            rig = build_rig(image, landmarks, spec)
            report("writing the cache", 0.75)
            rig.save(directory)
            report("drawing the preview", 0.85)
            write_preview(rig, directory / "preview.png")
            with self._count_lock:
                self.rigs_built += 1

        cached = prepare_cached(
            pack, engine_name=ENGINE_NAME, engine_version=ENGINE_VERSION, spec=spec, build=build, load=FaceRig.load
        )
        report("ready", 1.0)
        return PreparedPortrait(pack.id, spec, cached.value, cached.directory, from_cache=not cached.built)

    def new_session(
        self, prepared: PreparedPortrait, *, sample_rate: int = 16000, seed: int | None = None
    ) -> CpuSession:
        liveliness = self.liveliness if seed is None else replace(self.liveliness, seed=seed)
        return CpuSession(prepared.rig, prepared.spec, sample_rate=sample_rate, liveliness=liveliness)
