"""The MuseTalk v1.5 engine: one set of models per process, shared by every session through one scheduler.

On a GPU worker, run jobs in the agents *thread* executor
(`AgentServer(job_executor_type=JobExecutorType.THREAD)`) and load the
engine once in the prewarm function (`musetalk.prewarm_engine(...)`): all rooms
of the process then share the models and their frames are batched together.
With the default process executor each job would load its own copy of the
models and no batching across sessions could happen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...errors import AvatarPackError
from ...packs import AvatarPack
from ...types import ProgressCallback, VideoSpec
from ..base import PREVIEW_FILE, PreparedAvatar, prepare_avatar
from ..framing import fit_portrait
from . import ENGINE_NAME
from .config import (
    CROP_SIZE,
    FPS,
    LATENT_CHANNELS,
    LATENT_SIZE,
    SAMPLE_RATE,
    WHISPER_WINDOW_SAMPLES,
    WINDOW_STEPS,
    default_models_dir,
)
from .inference import DeviceAvatar, MuseTalkRunner, RenderItem
from .loading import load_face_parser, load_models
from .prepare import AvatarMaterial, prepare_material, write_preview
from .scheduler import BatchScheduler
from .session import MuseTalkSession

ENGINE_VERSION = "1.5.1"  # bump whenever the prepared material or its derivation changes: it keys the cache

PreparedMuseTalkAvatar = PreparedAvatar[DeviceAvatar]


class MuseTalkEngine:
    name = ENGINE_NAME

    def __init__(
        self,
        models_dir: Path | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        max_batch: int = 16,
        max_sessions: int | None = None,
        gather_s: float = 0.005,
    ) -> None:
        """Load the models (raises EngineUnavailableError naming missing or broken files).

        `max_sessions` is the capacity reported through `load()`; it defaults to `max_batch`.
        """
        self.models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        self.models = load_models(self.models_dir, device, dtype)
        self.runner = MuseTalkRunner(self.models)
        self.scheduler = BatchScheduler(self.runner, max_batch=max_batch, max_sessions=max_sessions, gather_s=gather_s)

    @property
    def cache_version(self) -> str:
        return f"{ENGINE_VERSION}-{self.models.material_key}"

    def prepare(
        self,
        pack: AvatarPack,
        spec: VideoSpec | None = None,
        *,
        cache_root: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> PreparedMuseTalkAvatar:
        spec = spec or pack.video_spec
        if spec.fps != FPS:
            raise AvatarPackError(pack.id, f"MuseTalk renders at {FPS} fps (its training rate), not {spec.fps}")

        def build(directory: Path, report: ProgressCallback) -> None:
            report("reading the portrait", 0.05)
            image = pack.load_image()
            report("finding the face", 0.2)
            frame, points = fit_portrait(image, pack.locate_face(image), spec)
            report("encoding the face", 0.5)
            parser = load_face_parser(self.models_dir, self.models.device)
            material = prepare_material([frame], [points], self.models.vae, parser)
            if material.face_boxes()[0] is None:
                raise AvatarPackError(pack.id, "the face is too small or cut off for MuseTalk's face box")
            report("writing the cache", 0.9)
            material.save(directory)
            write_preview(material, directory / PREVIEW_FILE)

        def load(directory: Path) -> DeviceAvatar:
            return DeviceAvatar.from_material(AvatarMaterial.load(directory), self.models.device, self.models.dtype)

        return prepare_avatar(self, pack, spec, build=build, load=load, cache_root=cache_root, progress=progress)

    def new_session(self, prepared: PreparedMuseTalkAvatar, *, sample_rate: int = SAMPLE_RATE) -> MuseTalkSession:
        return MuseTalkSession(
            prepared.material, self.scheduler, self.models.feature_extractor, sample_rate=sample_rate
        )

    def warm_up(self) -> None:
        """One whisper window and one rendered frame, so kernels are loaded before the first session."""
        extractor = self.models.feature_extractor
        mel = extractor(np.zeros(WHISPER_WINDOW_SAMPLES, np.float32), sampling_rate=SAMPLE_RATE, return_tensors="np")
        hidden = self.runner.encode_audio(mel.input_features)
        material = AvatarMaterial(
            frames=np.zeros((1, CROP_SIZE, CROP_SIZE, 3), np.uint8),
            boxes=np.array([[0, 0, CROP_SIZE, CROP_SIZE]], np.int32),
            latents=np.zeros((1, 2 * LATENT_CHANNELS, LATENT_SIZE, LATENT_SIZE), np.float32),
            masks=np.full((1, CROP_SIZE, CROP_SIZE), 255, np.uint8),
        )
        avatar = DeviceAvatar.from_material(material, self.models.device, self.models.dtype)
        self.runner.render([RenderItem(avatar, 0, hidden[0, :WINDOW_STEPS].flatten(0, 1))])

    def load(self) -> float:
        return self.scheduler.load()

    def close(self) -> None:
        self.scheduler.close()
