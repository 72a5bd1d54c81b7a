"""A lip-sync engine written the way a third party would: only the plugin's public API.

It shows speech as a solid colour (green while speaking, blue while idle), so a
subscriber can tell from pixels alone which frames the engine rendered as speech.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from livekit.plugins.musetalk import (
    AvatarFrame,
    AvatarPack,
    EngineConfig,
    EngineEntry,
    Pcm,
    PreparedAvatar,
    ProgressCallback,
    VideoSpec,
    prepare_avatar,
)

SPEAKING_RGB = (0, 200, 0)
IDLE_RGB = (0, 0, 200)


class SolidSession:
    def __init__(self, spec: VideoSpec, colours: dict[str, list[int]], *, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._samples_per_frame = sample_rate // spec.fps
        shape = (spec.height, spec.width, 3)
        self._speaking = np.full(shape, colours["speaking"], np.uint8)
        self._idle = np.full(shape, colours["idle"], np.uint8)
        self._queued = np.zeros(0, np.int16)
        self._held = False
        self._lock = threading.Lock()

    def push_audio(self, pcm: Pcm) -> None:
        with self._lock:
            self._queued = np.concatenate([self._queued, pcm])

    def end_segment(self) -> None:
        with self._lock:
            partial = len(self._queued) % self._samples_per_frame
            if partial:
                self._queued = np.concatenate([self._queued, np.zeros(self._samples_per_frame - partial, np.int16)])

    def speech_ready(self) -> bool:
        with self._lock:
            return not self._held and len(self._queued) >= self._samples_per_frame

    def next_frame(self) -> AvatarFrame:
        with self._lock:
            if self._held or len(self._queued) < self._samples_per_frame:
                return AvatarFrame(image=self._idle, audio=None, speaking=False)
            audio, self._queued = self._queued[: self._samples_per_frame], self._queued[self._samples_per_frame :]
        return AvatarFrame(image=self._speaking, audio=audio, speaking=True)

    def queued_frames(self) -> int:
        with self._lock:
            return len(self._queued) // self._samples_per_frame

    def hold(self, held: bool) -> None:
        with self._lock:
            self._held = held

    def clear(self) -> None:
        with self._lock:
            self._queued = np.zeros(0, np.int16)
            self._held = False

    def close(self) -> None:
        self.clear()


class SolidEngine:
    name = "solid"
    cache_version = "1"

    def prepare(
        self,
        pack: AvatarPack,
        spec: VideoSpec | None = None,
        *,
        cache_root: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> PreparedAvatar[dict[str, list[int]]]:
        def build(directory: Path, report: ProgressCallback) -> None:
            report("choosing colours", 0.5)
            (directory / "colours.json").write_text(json.dumps({"speaking": SPEAKING_RGB, "idle": IDLE_RGB}))

        def load(directory: Path) -> dict[str, list[int]]:
            colours: dict[str, list[int]] = json.loads((directory / "colours.json").read_text())
            return colours

        return prepare_avatar(
            self, pack, spec or pack.video_spec, build=build, load=load, cache_root=cache_root, progress=progress
        )

    def new_session(self, prepared: PreparedAvatar[dict[str, list[int]]], *, sample_rate: int) -> SolidSession:
        return SolidSession(prepared.spec, prepared.material, sample_rate=sample_rate)

    def warm_up(self) -> None:
        """Nothing to load."""


def _load(config: EngineConfig) -> SolidEngine:
    return SolidEngine()


SOLID_ENGINE = EngineEntry(name="solid", load=_load)
