"""Small helpers for tests that join rooms as LiveKit participants."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from livekit import rtc
from livekit.agents.types import ATTRIBUTE_PUBLISH_ON_BEHALF

T = TypeVar("T")


async def wait_for(
    predicate: Callable[[], T | None], timeout: float = 20, interval: float = 0.05, what: str = "condition"
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def agent_participant(room: rtc.Room) -> rtc.RemoteParticipant | None:
    for p in room.remote_participants.values():
        if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return p
    return None


def voice_agent(room: rtc.Room) -> rtc.RemoteParticipant | None:
    """The agent that talks (not a render worker's avatar participant publishing on its behalf)."""
    return next(
        (
            p
            for p in room.remote_participants.values()
            if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT and ATTRIBUTE_PUBLISH_ON_BEHALF not in p.attributes
        ),
        None,
    )


def avatar_of(room: rtc.Room, agent_identity: str) -> rtc.RemoteParticipant | None:
    """The render worker's participant that publishes the avatar of agent `agent_identity` (remote mode)."""
    return next(
        (
            p
            for p in room.remote_participants.values()
            if p.attributes.get(ATTRIBUTE_PUBLISH_ON_BEHALF) == agent_identity
        ),
        None,
    )


@dataclass
class ReceivedMedia:
    """What a subscriber got from one participant: video frames and audio, with arrival times."""

    video: list[tuple[float, int, np.ndarray]] = field(default_factory=list)  # (arrival s, timestamp_us, RGB)
    audio: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (arrival s, int16 mono 16 kHz)
    frame_kinds: list[bytes] = field(default_factory=list)  # per video frame: its metadata's user_data (b"" if none)
    frame_ids: list[int] = field(default_factory=list)  # per video frame: its metadata's frame_id (-1 if none)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def video_between(self, start: float, end: float) -> list[np.ndarray]:
        return [img for t, _, img in self.video if start <= t < end]

    def audio_samples(self) -> np.ndarray:
        return np.concatenate([a for _, a in self.audio]) if self.audio else np.zeros(0, np.int16)

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()


AUDIO_RATE = 16000


NO_IMAGE = np.zeros((0, 0, 3), np.uint8)


def record_agent(
    room: rtc.Room, *, images: bool = True, crop: tuple[int, int, int, int] | None = None
) -> ReceivedMedia:
    """Record every audio and video track that agent participants publish in `room`.

    images=False keeps only arrival and capture times (no RGB conversion): a
    load test's own subscriber should not be the bottleneck it measures.
    crop=(x0, y0, x1, y1) keeps only that region of each frame (long recordings).
    """
    media = ReceivedMedia()

    def keep(frame: rtc.VideoFrame) -> np.ndarray:
        if not images:
            return NO_IMAGE
        rgb = np.frombuffer(frame.data, dtype=np.uint8).reshape(frame.height, frame.width, 3)
        if crop is not None:
            x0, y0, x1, y1 = crop
            rgb = rgb[y0:y1, x0:x1]
        return rgb.copy()

    async def read_video(track: rtc.Track) -> None:
        async for event in rtc.VideoStream(track, format=rtc.VideoBufferType.RGB24 if images else None):
            media.video.append((time.monotonic(), event.timestamp_us, keep(event.frame)))
            media.frame_kinds.append(event.metadata.user_data if event.metadata is not None else b"")
            media.frame_ids.append(event.metadata.frame_id if event.metadata is not None else -1)

    async def read_audio(track: rtc.Track) -> None:
        async for event in rtc.AudioStream(track, sample_rate=AUDIO_RATE, num_channels=1):
            media.audio.append((time.monotonic(), np.frombuffer(event.frame.data, dtype=np.int16).copy()))

    @room.on("track_subscribed")
    def _on_track(track: rtc.Track, _pub: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant) -> None:
        if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        reader = read_video if track.kind == rtc.TrackKind.KIND_VIDEO else read_audio
        media.tasks.append(asyncio.create_task(reader(track)))

    return media
