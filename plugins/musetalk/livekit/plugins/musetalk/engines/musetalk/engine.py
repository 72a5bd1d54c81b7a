"""The MuseTalk v1.5 engine: one set of models per process, shared by every session through one scheduler.

On a GPU worker, run jobs in the agents *thread* executor
(`WorkerOptions(job_executor_type=JobExecutorType.THREAD)`) and create the
engine once in the prewarm function (`shared_engine().warm_up()`): all rooms
of the process then share the models and their frames are batched together.
With the default process executor each job would load its own copy of the
models and no batching across sessions could happen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...errors import AvatarPackError
from ...packs import AvatarPack, cache_path, prepare_cached
from ..base import VideoSpec
from ..cpu.rig import fit_portrait
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

ENGINE_NAME = "musetalk"
ENGINE_VERSION = "1.5.1"  # bump whenever the prepared material or its derivation changes: it keys the cache

PREVIEW_FILE = "preview.png"

ProgressCallback = Callable[[str, float], None]  # (step description, fraction done)


@dataclass(frozen=True)
class PreparedAvatar:
    pack_id: str
    spec: VideoSpec
    avatar: DeviceAvatar
    cache_dir: Path
    from_cache: bool

    @property
    def preview_path(self) -> Path:
        return self.cache_dir / PREVIEW_FILE


class MuseTalkEngine:
    name = ENGINE_NAME
    version = ENGINE_VERSION

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

    def cache_dir(self, pack: AvatarPack, spec: VideoSpec | None = None) -> Path:
        return cache_path(pack, ENGINE_NAME, self.cache_version, spec or pack.video_spec)

    def prepare(
        self, pack: AvatarPack, spec: VideoSpec | None = None, *, progress: ProgressCallback | None = None
    ) -> PreparedAvatar:
        """Load the pack's material from the cache, or derive it (raises AvatarPackError on a broken pack)."""
        spec = spec or pack.video_spec
        if spec.fps != FPS:
            raise AvatarPackError(pack.id, f"MuseTalk renders at {FPS} fps (its training rate), not {spec.fps}")
        report = progress or (lambda step, fraction: None)

        def build(directory: Path) -> None:
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

        cached = prepare_cached(
            pack,
            engine_name=ENGINE_NAME,
            engine_version=self.cache_version,
            spec=spec,
            build=build,
            load=AvatarMaterial.load,
        )
        report("ready", 1.0)
        avatar = DeviceAvatar.from_material(cached.value, self.models.device, self.models.dtype)
        return PreparedAvatar(pack.id, spec, avatar, cached.directory, from_cache=not cached.built)

    def new_session(self, prepared: PreparedAvatar, *, sample_rate: int = SAMPLE_RATE) -> MuseTalkSession:
        return MuseTalkSession(prepared.avatar, self.scheduler, self.models.feature_extractor, sample_rate=sample_rate)

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


_shared: dict[tuple[Path, str], MuseTalkEngine] = {}
_shared_lock = threading.Lock()


def shared_engine(models_dir: Path | None = None, device: torch.device | str | None = None) -> MuseTalkEngine:
    """The process's engine for this models dir and device, loaded on first use."""
    directory = Path(models_dir) if models_dir is not None else default_models_dir()
    device = str(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    with _shared_lock:
        if (directory, device) not in _shared:
            _shared[(directory, device)] = MuseTalkEngine(directory, device=device)
        return _shared[(directory, device)]
