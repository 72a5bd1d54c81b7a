"""The avatar's renderer: pack, engine, media clock and the published avatar tracks.

Shared by both ways of running an avatar: in the agent's own job
(`AvatarSession`, in-process mode) and in a separate render worker that gets
the agent's speech over a data stream (remote mode). Whoever owns the renderer
feeds its pacer with speech and listens to its playback events.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
from livekit import rtc
from livekit.agents import utils

from .encoders import EncoderOptions, create_encoder
from .engine_choice import EngineChoice, resolve_engine
from .engines.base import MAX_VIDEO_FPS, MAX_VIDEO_SIZE, MIN_VIDEO_SIZE, LipSyncEngine, VideoSpec
from .errors import AvatarPackError
from .log import logger
from .metrics import SESSIONS_ACTIVE, SESSIONS_STARTED
from .pacer import AvatarPacer
from .packs import AvatarPack, load_pack
from .video_sinks import EncodedVideoSink, RawVideoSink, VideoSink

VideoEncoderChoice = Literal["auto", "x264", "nvenc", "raw"]
DEFAULT_PACK = "default"
AUDIO_TRACK_NAME = "avatar_audio"
VIDEO_TRACK_NAME = "avatar_video"


@dataclass(frozen=True)
class AvatarSessionOptions:
    avatar: str = DEFAULT_PACK
    engine: EngineChoice = "auto"
    video_encoder: VideoEncoderChoice = "auto"
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    idle_fps: int | None = None
    """Frames per second published while the avatar is silent (None: all of them). Rounded to a whole
    fraction of `fps`; skipped idle frames are rendered (idle motion keeps its pace) but not encoded or sent."""
    sample_rate: int = 24000
    audio_queue_ms: int = 100
    avatars_dir: Path | None = None
    models_dir: Path | None = None

    def __post_init__(self) -> None:
        """The same bounds as a pack manifest's, so bad settings fail here, not in a running job."""
        for name, size in (("width", self.width), ("height", self.height)):
            if size is not None and not (MIN_VIDEO_SIZE <= size <= MAX_VIDEO_SIZE and size % 2 == 0):
                raise ValueError(
                    f"{name}={size}: the avatar's {name} must be even, {MIN_VIDEO_SIZE}–{MAX_VIDEO_SIZE} px"
                )
        if self.fps is not None and not 1 <= self.fps <= MAX_VIDEO_FPS:
            raise ValueError(f"fps={self.fps}: the avatar's frame rate must be 1–{MAX_VIDEO_FPS}")
        if self.idle_fps is not None and not 1 <= self.idle_fps <= (self.fps or MAX_VIDEO_FPS):
            raise ValueError(f"idle_fps={self.idle_fps}: must be at least 1 and at most the frame rate")


class AvatarRenderer:
    def __init__(self, opts: AvatarSessionOptions) -> None:
        self._opts = opts
        self.notices: list[str] = []
        self.pack: AvatarPack | None = None
        self.encoder_reason = ""
        self.engine_reason = ""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-render")
        self._pacer: AvatarPacer | None = None
        self._pacer_task: asyncio.Task[None] | None = None
        self._audio_source: rtc.AudioSource | None = None
        self._video_sink: VideoSink | None = None

    @property
    def pacer(self) -> AvatarPacer | None:
        return self._pacer

    async def start(self, room: rtc.Room) -> AvatarPacer:
        """Prepare the avatar, publish its tracks from `room`'s local participant and start the clock."""
        engine, self.engine_reason = await asyncio.to_thread(
            resolve_engine, self._opts.engine, models_dir=self._opts.models_dir
        )
        pack, spec, prepared = await self._prepare_with_fallback(engine)
        lip_session = engine.new_session(prepared, sample_rate=self._opts.sample_rate)
        self._audio_source = rtc.AudioSource(self._opts.sample_rate, 1, queue_size_ms=self._opts.audio_queue_ms)
        self._video_sink = await asyncio.to_thread(self._open_video_sink, spec)
        logger.info(
            "avatar ready",
            extra={
                "avatar": pack.id,
                "engine": engine.name,
                "engine_reason": self.engine_reason,
                "video_encoder": self.encoder_reason,
                "size": f"{spec.width}x{spec.height}@{spec.fps}",
            },
        )

        # Per-frame OpenCV work (colour conversion, warps) is far too small for its thread pool: handing it
        # to pool threads cost ~4 % of a core per speaking session (19 → 15 %, py-spy + /proc per thread).
        # Process-wide on purpose: preparation is done by now, and the benches measure with one thread too.
        cv2.setNumThreads(1)
        idle_every = max(1, round(spec.fps / self._opts.idle_fps)) if self._opts.idle_fps else 1
        self._pacer = AvatarPacer(
            lip_session,
            spec,
            self._audio_source,
            self._video_sink,
            self._executor,
            audio_queue_s=self._opts.audio_queue_ms / 1000,
            idle_every=idle_every,
        )
        await self._publish_tracks(room)
        self._pacer_task = asyncio.create_task(self._pacer.run(), name="musetalk-avatar-pacer")
        SESSIONS_ACTIVE.inc()
        SESSIONS_STARTED.labels(engine=engine.name, encoder=self._video_sink_name()).inc()
        return self._pacer

    async def _prepare_with_fallback(self, engine: LipSyncEngine) -> tuple[AvatarPack, VideoSpec, Any]:
        """The requested pack prepared for `engine`; a broken or unknown one falls back to the default pack."""
        try:
            return await self._prepare(engine, self._opts.avatar)
        except AvatarPackError as e:
            if self._opts.avatar == DEFAULT_PACK:
                raise
            notice = f"{e}; using the {DEFAULT_PACK!r} avatar"
            logger.warning(notice)
            self.notices.append(notice)
        return await self._prepare(engine, DEFAULT_PACK)

    async def _prepare(self, engine: LipSyncEngine, pack_id: str) -> tuple[AvatarPack, VideoSpec, Any]:
        pack = load_pack(pack_id, self._opts.avatars_dir)
        spec = VideoSpec(
            width=self._opts.width or pack.video_spec.width,
            height=self._opts.height or pack.video_spec.height,
            fps=self._opts.fps or pack.video_spec.fps,
        )
        prepared = await asyncio.to_thread(engine.prepare, pack, spec)
        self.pack = pack
        return pack, spec, prepared

    def _video_sink_name(self) -> str:
        return self._video_sink.encoder.name if isinstance(self._video_sink, EncodedVideoSink) else "raw"

    def _open_video_sink(self, spec: VideoSpec) -> VideoSink:
        if self._opts.video_encoder == "raw":
            self.encoder_reason = "raw frames: the LiveKit SDK encodes"
            return RawVideoSink(spec.width, spec.height)
        options = EncoderOptions(
            width=spec.width, height=spec.height, fps=float(spec.fps), max_fps=max(EncoderOptions.max_fps, spec.fps)
        )
        encoder, self.encoder_reason = create_encoder(self._opts.video_encoder, options)
        return EncodedVideoSink(encoder)

    async def _publish_tracks(self, room: rtc.Room) -> None:
        assert self._audio_source is not None and self._video_sink is not None
        audio_track = rtc.LocalAudioTrack.create_audio_track(AUDIO_TRACK_NAME, self._audio_source)
        video_track = rtc.LocalVideoTrack.create_video_track(VIDEO_TRACK_NAME, self._video_sink.source)
        await room.local_participant.publish_track(
            audio_track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        await room.local_participant.publish_track(video_track, self._video_sink.publish_options())

    async def aclose(self) -> None:
        if self._pacer_task is not None:
            await utils.aio.cancel_and_wait(self._pacer_task)
            self._pacer_task = None
            SESSIONS_ACTIVE.dec()
        if self._pacer is not None:
            self._pacer.close()
        if self._video_sink is not None:
            await self._video_sink.aclose()
        if self._audio_source is not None:
            await self._audio_source.aclose()
        self._executor.shutdown(wait=False)
