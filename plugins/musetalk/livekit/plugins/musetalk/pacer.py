"""One media clock for the avatar's audio and video.

Every tick renders one frame with the exact audio it shows, pushes that audio
to the `rtc.AudioSource` (whose bounded queue makes the loop run at real time)
and the frame to the video sink, which encodes and sends it when its audio leaves
the queue. When queued audio is dropped, the frames waiting for it are dropped too.
Silence keeps flowing when nobody speaks, so idle animation and the clock never
stop. Playback events go back to the agent session for transcript sync.

Why not LiveKit's `AvatarRunner` and `AVSynchronizer`: they pace audio and raw
video frames separately (a sleep-based frame-rate controller), and the SDK
encodes the video. Here the engine renders each frame with its own audio, the
audio source's bounded queue is the one clock, video is pre-encoded and sent
when its audio plays, and an interrupt drops the frames of the dropped audio
(see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from livekit import rtc

from .engines import LipSyncSession
from .log import logger
from .metrics import (
    AUDIO_DROPPED_SECONDS,
    FRAMES,
    FRAMES_DROPPED,
    FRAMES_LATE,
    LIPSYNC_LATENCY_SECONDS,
    RENDER_SECONDS,
    SPEECH_QUEUE_FRAMES,
)
from .types import AvatarFrame, Pcm, VideoSpec
from .video_sinks import VideoSink, avatar_frame_metadata

T = TypeVar("T")

REPLY_CHECK_S = 0.01
"""While an idle frame's silence waits for room in the audio queue, the pacer checks this often for a
reply, which then goes in instead. It waits in Python, not in the SDK's capture call, which cannot be
cut short (a reply would wait up to a frame), and capturing the silence in 10 ms pieces instead costs
4 SDK calls per idle frame (measurements: docs/architecture.md, "Measured decisions")."""

AUDIO_PACKET_WAIT_S = 0.01
"""WebRTC sends audio in 20 ms Opus packets: a sample leaves the sender when its packet is complete,
0-20 ms after the source's queue releases it, 10 ms on average; an encoded video frame goes out at
once. Video waits this much longer to stay with its audio: half a packet, the average (a whole packet
put video late: docs/architecture.md, "Measured decisions")."""


@dataclass
class _Segment:
    """One utterance: its audio length (known once closed) and how much of it was published."""

    first_audio_at: float
    samples: int = 0
    closed: bool = False
    frames_published: int = 0


@dataclass
class PacerStats:
    frames: int = 0
    speech_frames: int = 0
    late_frames: int = 0


class AvatarPacer:
    def __init__(
        self,
        session: LipSyncSession,
        spec: VideoSpec,
        audio_source: rtc.AudioSource,
        video_sink: VideoSink,
        executor: ThreadPoolExecutor,
        *,
        audio_queue_s: float,
        idle_every: int = 1,
    ) -> None:
        """`audio_queue_s`: the audio source's queue size. `idle_every`: while silent, send one frame in
        this many (speech frames all go)."""
        self._session = session
        self._spec = spec
        self._audio_source = audio_source
        self._video_sink = video_sink
        self._executor = executor
        self._sample_rate = session.sample_rate
        self._samples_per_frame = session.sample_rate // spec.fps
        self._silence = np.zeros(self._samples_per_frame, dtype=np.int16)
        self._audio_queue_s = audio_queue_s
        self._held = False
        self._segments: deque[_Segment] = deque()  # not yet fully published
        self._finishing: deque[_Segment] = deque()  # fully published, audio still queued
        self._generation = 0
        self._idle_every = idle_every
        self._idle_frames_since_speech = 0
        self._next_video_at = 0.0
        self.stats = PacerStats()
        self._speech_frames_total = FRAMES.labels(kind="speech")
        self._idle_frames_total = FRAMES.labels(kind="idle")
        self.on_playback_started: Callable[[float], None] = lambda created_at: None
        self.on_playback_finished: Callable[[float, bool], None] = lambda position, interrupted: None

    @property
    def frame_duration(self) -> float:
        return 1.0 / self._spec.fps

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        """Queue speech for the render thread without waiting for it (sessions take calls from any thread).

        Never suspends: LiveKit's transcript synchronizer counts a segment only after
        this returns, so an interrupt slipping in between would lose its
        playback_finished and leave the agent waiting for playout forever.
        """
        pcm = np.frombuffer(frame.data, dtype=np.int16)
        if frame.num_channels > 1:
            pcm = pcm.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
        if not self._segments or self._segments[-1].closed:
            self._segments.append(_Segment(first_audio_at=time.perf_counter()))
        self._segments[-1].samples += len(pcm)
        self._session.push_audio(pcm)

    def end_segment(self) -> None:
        if self._segments and not self._segments[-1].closed:
            self._segments[-1].closed = True
            self._session.end_segment()

    def pause(self) -> None:
        """Hold the reply where it is: idle frames and silence until resume(); what is queued still plays."""
        self._held = True
        self._session.hold(True)

    def resume(self) -> None:
        self._held = False
        self._session.hold(False)

    def interrupt(self) -> None:
        """Drop queued speech now; the next frame is idle and the rest of the audio never plays."""
        self._generation += 1
        self._held = False
        self._session.clear()
        unplayed = self._audio_source.queued_duration
        self._drop_waiting_video()
        self._audio_source.clear_queue()
        AUDIO_DROPPED_SECONDS.inc(unplayed + sum(s.samples for s in self._segments) / self._sample_rate)
        pending = [*self._finishing, *self._segments]
        self._finishing.clear()
        self._segments.clear()
        # Every captured segment gets exactly one playback_finished, or the agent waits forever.
        for index, segment in enumerate(pending):
            published = segment.frames_published * self.frame_duration
            played = max(0.0, published - unplayed) if index == 0 else 0.0
            self.on_playback_finished(played, True)

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            logger.exception("avatar pacer stopped: the avatar's audio and video are frozen")
            raise

    async def _run(self) -> None:
        clock_start = time.perf_counter()
        speech_plays_until = 0.0
        while True:
            generation = self._generation
            frame, queued_frames = await self._call(self._render)
            speaking = frame.speaking and generation == self._generation and bool(self._segments)
            if speaking and time.perf_counter() >= speech_plays_until:
                # Speech after idle: the queue holds only idle silence, and the reply need not wait behind it.
                self._drop_waiting_video()
                clock_start -= self._audio_source.queued_duration
                self._audio_source.clear_queue()
            if speaking and frame.audio is not None:
                await self._capture(frame.audio)
                captured = self.frame_duration
            else:
                captured = await self._capture_idle_silence()
            if speaking and generation != self._generation:
                # Interrupted while this frame waited for room in the queue: neither its audio nor its face goes out.
                self._audio_source.clear_queue()
                continue
            # The frame's audio sits at the end of the source's queue: it plays after what is queued before it.
            plays_in = max(0.0, self._audio_source.queued_duration - captured)
            if speaking:
                speech_plays_until = time.perf_counter() + plays_in + self.frame_duration
            # A speech frame shows its whole frame of audio, so it goes out when the middle of that audio
            # plays; idle frames have no speech to match and go with their silence, without the offset.
            sync = self.frame_duration / 2 + AUDIO_PACKET_WAIT_S if speaking else 0.0
            if self._publishes(speaking):
                metadata = avatar_frame_metadata(self.stats.frames, speaking, time.time() + plays_in)
                self._video_sink.send(frame.image, self._video_delay(plays_in + sync), metadata)
                (self._speech_frames_total if speaking else self._idle_frames_total).inc()
            self.stats.frames += 1
            # Behind the media clock by more than the audio queue can hide: the stream stutters.
            if time.perf_counter() - clock_start - self.stats.frames * self.frame_duration > 2 * self.frame_duration:
                self.stats.late_frames += 1
                FRAMES_LATE.inc()
            if speaking:
                self.stats.speech_frames += 1
                # An interrupt while this frame was sent has already settled its segment.
                if generation == self._generation:
                    self._account_speech_frame(plays_in)
            SPEECH_QUEUE_FRAMES.set(queued_frames)

    async def _capture(self, audio: Pcm) -> None:
        await self._audio_source.capture_frame(rtc.AudioFrame(audio.tobytes(), self._sample_rate, 1, len(audio)))

    async def _capture_idle_silence(self) -> float:
        """An idle frame's silence once it fits in the audio queue; seconds captured: none if the
        session can render the reply first (its audio goes in instead).

        The session decides, not the audio received: an engine may need more of the reply than one
        frame's worth before it renders speech (MuseTalk's audio look-ahead)."""
        while not self._speech_ready():
            room_in = self._audio_source.queued_duration + self.frame_duration - self._audio_queue_s
            if room_in <= 0:
                await self._capture(self._silence)
                return self.frame_duration
            await asyncio.sleep(min(room_in, REPLY_CHECK_S))
        return 0.0

    def _speech_ready(self) -> bool:
        return not self._held and bool(self._segments) and self._session.speech_ready()

    def _publishes(self, speaking: bool) -> bool:
        """Every speech frame, and one idle frame in `idle_every` from the first after speech (the mouth
        closes at once)."""
        if speaking:
            self._idle_frames_since_speech = 0
            return True
        self._idle_frames_since_speech += 1
        return (self._idle_frames_since_speech - 1) % self._idle_every == 0

    def _drop_waiting_video(self) -> None:
        """The audio queue is about to be emptied: the frames waiting for that audio never go out
        (they were not encoded yet), and the next frame may go at once."""
        FRAMES_DROPPED.labels(reason="audio_dropped").inc(self._video_sink.drop_waiting())
        self._next_video_at = time.perf_counter()

    def _render(self) -> tuple[AvatarFrame, int]:
        """On the render thread, in one hop per frame: the frame and the speech frames still queued."""
        started = time.perf_counter()
        frame = self._session.next_frame()
        RENDER_SECONDS.observe(time.perf_counter() - started)
        return frame, self._session.queued_frames()

    def _video_delay(self, plays_in: float) -> float:
        """When to send this frame: with its audio, and at least half a frame after the previous one.

        The sink keeps frames in order whatever their delays; the spacing keeps a shrinking
        audio queue from bursting frames at the subscriber.
        """
        now = time.perf_counter()
        delay = max(plays_in, self._next_video_at - now)
        self._next_video_at = now + delay + self.frame_duration / 2
        return delay

    def _account_speech_frame(self, plays_in: float) -> None:
        head = self._segments[0]
        if head.frames_published == 0:
            LIPSYNC_LATENCY_SECONDS.observe(time.perf_counter() - head.first_audio_at)
            self.on_playback_started(time.time() + plays_in)
        head.frames_published += 1
        if head.closed and head.frames_published >= math.ceil(head.samples / self._samples_per_frame):
            self._finishing.append(self._segments.popleft())
            asyncio.get_running_loop().call_later(plays_in + self.frame_duration, self._finish_played, head)

    def _finish_played(self, segment: _Segment) -> None:
        if self._finishing and self._finishing[0] is segment:
            self._finishing.popleft()
            self.on_playback_finished(segment.samples / self._sample_rate, False)

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        logger.debug("avatar pacer closing", extra={"frames": self.stats.frames})
        self._executor.submit(self._session.close)
