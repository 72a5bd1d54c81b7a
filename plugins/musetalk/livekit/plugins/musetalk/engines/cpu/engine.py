"""The CPU engine: prepares a rig per pack (cached on disk) and hands out sessions."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from ...packs import AvatarPack
from ...types import ProgressCallback, VideoSpec
from ..base import PREVIEW_FILE, PreparedAvatar, prepare_avatar
from .preview import write_preview
from .rig import FaceRig, build_rig
from .session import CpuSession, Liveliness
from .viseme_model import VisemeModel

ENGINE_NAME = "cpu"
ENGINE_VERSION = "4"  # bump whenever the rig format or its derivation changes: it keys the cache

PreparedPortrait = PreparedAvatar[FaceRig]


class CpuEngine:
    name = ENGINE_NAME
    cache_version = ENGINE_VERSION

    def __init__(self, liveliness: Liveliness | None = None) -> None:
        self.liveliness = liveliness or Liveliness()
        self.visemes = VisemeModel.load()
        self.rigs_built = 0  # rigs derived from a portrait (cache misses), across all threads
        self._count_lock = threading.Lock()

    def prepare(
        self,
        pack: AvatarPack,
        spec: VideoSpec | None = None,
        *,
        cache_root: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> PreparedPortrait:
        spec = spec or pack.video_spec

        def build(directory: Path, report: ProgressCallback) -> None:
            report("reading the portrait", 0.05)
            image = pack.load_image()
            report("finding the face", 0.2)
            landmarks = pack.locate_face(image)
            report("building the rig", 0.5)
            rig = build_rig(image, landmarks, spec)
            report("writing the cache", 0.75)
            rig.save(directory)
            report("drawing the preview", 0.85)
            write_preview(rig, directory / PREVIEW_FILE)
            with self._count_lock:
                self.rigs_built += 1

        return prepare_avatar(
            self, pack, spec, build=build, load=FaceRig.load, cache_root=cache_root, progress=progress
        )

    def new_session(
        self, prepared: PreparedPortrait, *, sample_rate: int = 16000, seed: int | None = None
    ) -> CpuSession:
        liveliness = self.liveliness if seed is None else replace(self.liveliness, seed=seed)
        return CpuSession(
            prepared.material, prepared.spec, sample_rate=sample_rate, liveliness=liveliness, visemes=self.visemes
        )

    def warm_up(self) -> None:
        """Nothing to load: the rig is all a session needs."""
