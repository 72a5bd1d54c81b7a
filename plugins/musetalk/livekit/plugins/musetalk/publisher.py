"""The avatar's publisher: pack, engine, media clock and the published avatar tracks.

Shared by both ways of running an avatar: in the agent's own job
(`AvatarSession`, in-process mode) and in a separate render worker that gets
the agent's speech over a data stream (remote mode). Whoever owns the publisher
feeds its pacer with speech and listens to its playback events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
from livekit import rtc
from livekit.agents import utils

from .encoders import EncoderOptions, create_encoder
from .encoders.x264 import X264Encoder
from .engines import LipSyncEngine, PreparedAvatar, resolve_engine
from .errors import AvatarPackError, EngineUnavailableError
from .log import logger
from .metrics import SESSIONS_ACTIVE, SESSIONS_STARTED
from .options import DEFAULT_AVATAR, AvatarOptions
from .pacer import AvatarPacer
from .packs import AvatarPack, load_pack
from .resilient_session import ResilientSession
from .types import VideoSpec
from .video_sinks import EncodedVideoSink, RawVideoSink, VideoSink

AUDIO_TRACK_NAME = "avatar_audio"
VIDEO_TRACK_NAME = "avatar_video"
AVATAR_STREAM = "camera"
"""The stream both tracks name on publishing (LiveKit's `stream`, the default for a camera and a microphone):
in a room with `sync_streams` subscribers get them as one WebRTC media stream, which browsers play in sync."""


def encoder_options(spec: VideoSpec) -> EncoderOptions:
    """The encoder settings for frames of `spec` (the rate-feedback ceiling follows a frame rate above 30)."""
    return EncoderOptions(
        width=spec.width, height=spec.height, fps=float(spec.fps), max_fps=max(EncoderOptions.max_fps, spec.fps)
    )


def prewarm_avatar(opts: AvatarOptions) -> float:
    """Run a session's start once, off the clock: load and prepare `opts`' pack (its cache read from
    disk), render a frame and encode it. A worker's idle process does this before its first job, so the
    job's own start finds the files in the page cache and the code paths warm (docs/web.md, Latency).
    Returns the seconds it took."""
    started = time.perf_counter()
    engine, _ = resolve_engine(opts.engine, opts.engine_config)
    pack = load_pack(opts.avatar, opts.avatar_dirs)
    spec = VideoSpec(
        width=opts.width or pack.video_spec.width,
        height=opts.height or pack.video_spec.height,
        fps=opts.fps or pack.video_spec.fps,
    )
    prepared = engine.prepare(pack, spec, cache_root=opts.cache_dir)
    session = engine.new_session(prepared, sample_rate=opts.sample_rate)
    try:
        image = session.next_frame().image
    finally:
        session.close()
    if opts.video_encoder != "raw":
        encoder, _ = create_encoder(opts.video_encoder, encoder_options(prepared.spec))
        try:
            encoder.encode(image)
        finally:
            encoder.close()
    return time.perf_counter() - started


class AvatarPublisher:
    def __init__(self, opts: AvatarOptions, *, on_notice: Callable[[str], None] | None = None) -> None:
        """`on_notice`: called on the event loop with a sentence for the room when the avatar degrades
        mid-session (the engine or the encoder failed); problems found at start go to `notices`."""
        self._opts = opts
        self._on_notice = on_notice or (lambda sentence: None)
        self.notices: list[str] = []
        self.pack: AvatarPack | None = None
        self.encoder_reason = ""
        self.engine_reason = ""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-render")
        self._pacer: AvatarPacer | None = None
        self._pacer_task: asyncio.Task[None] | None = None
        self._audio_source: rtc.AudioSource | None = None
        self._video_sink: VideoSink | None = None
        self._preparing: asyncio.Task[None] | None = None
        self._engine_name = ""

    @property
    def pacer(self) -> AvatarPacer | None:
        return self._pacer

    def prepare(self) -> asyncio.Task[None]:
        """Start preparing the avatar (engine, pack, first frame, encoder) without a room; the task.

        `start` waits for it (and begins it if nobody has): a job that calls this before connecting
        to its room prepares while it connects (docs/web.md, Latency)."""
        if self._preparing is None:
            self._preparing = asyncio.create_task(self._prepare_all(), name="musetalk-avatar-prepare")
        return self._preparing

    async def start(self, room: rtc.Room) -> AvatarPacer:
        """Prepare the avatar if `prepare` has not, publish its tracks from `room`'s local participant and
        start the clock."""
        await self.prepare()
        assert self._pacer is not None
        published = time.perf_counter()
        await self._publish_tracks(room)
        logger.info("avatar tracks published", extra={"publish_ms": round(1000 * (time.perf_counter() - published))})
        self._pacer_task = asyncio.create_task(self._pacer.run(), name="musetalk-avatar-pacer")
        SESSIONS_ACTIVE.inc()
        SESSIONS_STARTED.labels(engine=self._engine_name, encoder=self._video_sink_name()).inc()
        return self._pacer

    async def _prepare_all(self) -> None:
        self._loop = asyncio.get_running_loop()
        started = time.perf_counter()
        engine, self.engine_reason = await asyncio.to_thread(
            resolve_engine, self._opts.engine, self._opts.engine_config
        )
        self._engine_name = engine.name
        pack, prepared = await self._prepare_with_fallback(engine)
        spec = prepared.spec
        lip_session = await self._resilient_session(engine, prepared)
        self._audio_source = rtc.AudioSource(self._opts.sample_rate, 1, queue_size_ms=self._opts.audio_queue_ms)
        self._video_sink = await asyncio.to_thread(self._open_video_sink, spec)
        logger.info(
            "avatar ready",
            extra={
                "ready_ms": round(1000 * (time.perf_counter() - started)),
                "avatar": pack.id,
                "engine": engine.name,
                "engine_reason": self.engine_reason,
                "video_encoder": self.encoder_reason,
                "size": f"{spec.width}x{spec.height}@{spec.fps}",
            },
        )

        # Per-frame OpenCV work (colour conversion, warps) is far too small for its thread pool: handing it
        # to pool threads costs more than it saves (docs/architecture.md, "Measured decisions").
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

    async def _prepare_with_fallback(self, engine: LipSyncEngine[Any]) -> tuple[AvatarPack, PreparedAvatar[Any]]:
        """The requested pack prepared for `engine`; a broken or unknown one falls back to the default pack."""
        try:
            return await self._prepare(engine, self._opts.avatar)
        except AvatarPackError as e:
            if self._opts.avatar == DEFAULT_AVATAR:
                raise
            notice = f"{e}; using the {DEFAULT_AVATAR!r} avatar"
            logger.warning(notice)
            self.notices.append(notice)
        return await self._prepare(engine, DEFAULT_AVATAR)

    async def _prepare(self, engine: LipSyncEngine[Any], pack_id: str) -> tuple[AvatarPack, PreparedAvatar[Any]]:
        pack = load_pack(pack_id, self._opts.avatar_dirs)
        spec = VideoSpec(
            width=self._opts.width or pack.video_spec.width,
            height=self._opts.height or pack.video_spec.height,
            fps=self._opts.fps or pack.video_spec.fps,
        )
        prepared = await asyncio.to_thread(engine.prepare, pack, spec, cache_root=self._opts.cache_dir)
        self.pack = pack
        return pack, prepared

    async def _resilient_session(self, engine: LipSyncEngine[Any], prepared: PreparedAvatar[Any]) -> ResilientSession:
        """The engine's session, wrapped so that an engine failing later leaves the voice going.

        Its first idle frame is rendered here: the still face to fall back on (an engine that cannot
        render even that is unavailable, and the job goes voice-only).
        """
        inner = engine.new_session(prepared, sample_rate=self._opts.sample_rate)
        try:
            first = await self._loop.run_in_executor(self._executor, inner.next_frame)
        except Exception as e:
            inner.close()
            raise EngineUnavailableError(f"lip-sync engine {engine.name!r} cannot render a frame: {e}") from e

        return ResilientSession(inner, prepared.spec, first.image, on_fallback=self._notice_from_thread)

    def _notice_from_thread(self, sentence: str) -> None:
        logger.error(sentence)
        self._loop.call_soon_threadsafe(self._on_notice, sentence)

    def _video_sink_name(self) -> str:
        return self._video_sink.encoder.name if isinstance(self._video_sink, EncodedVideoSink) else "raw"

    def _open_video_sink(self, spec: VideoSpec) -> VideoSink:
        if self._opts.video_encoder == "raw":
            self.encoder_reason = "raw frames: the LiveKit SDK encodes"
            return RawVideoSink(spec.width, spec.height)
        options = encoder_options(spec)
        encoder, self.encoder_reason = create_encoder(self._opts.video_encoder, options)
        return EncodedVideoSink(encoder, replacement=lambda: X264Encoder(options), on_notice=self._notice_from_thread)

    async def _publish_tracks(self, room: rtc.Room) -> None:
        """One after the other. Publishing both at once (one signalling round trip fewer) left a subscriber without
        video in 1 of 6 sessions in a full test run (test_lifecycle's sequential sessions), as a first attempt had."""
        assert self._audio_source is not None and self._video_sink is not None
        audio_track = rtc.LocalAudioTrack.create_audio_track(AUDIO_TRACK_NAME, self._audio_source)
        video_track = rtc.LocalVideoTrack.create_video_track(VIDEO_TRACK_NAME, self._video_sink.source)
        audio_options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, stream=AVATAR_STREAM)
        video_options = self._video_sink.publish_options()
        video_options.stream = AVATAR_STREAM
        await room.local_participant.publish_track(audio_track, audio_options)
        await room.local_participant.publish_track(video_track, video_options)

    async def aclose(self) -> None:
        if self._preparing is not None and not self._preparing.done():
            await utils.aio.cancel_and_wait(self._preparing)
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
