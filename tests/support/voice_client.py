"""A human in the room, for voice tests and benchmarks: a microphone that speaks
pre-made speech in real time, and ears and eyes on the agent (audio loudness,
video frames, transcripts and state, each with its arrival time).

All times are `time.monotonic()` seconds in this process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

MIC_RATE = 48000
FRAME_MS = 10
LOUD = 1000
"""Peak amplitude (int16) above which a received audio frame counts as speech, not silence."""


def resample(samples: np.ndarray, from_rate: int, to_rate: int = MIC_RATE) -> np.ndarray:
    positions = np.arange(0, len(samples), from_rate / to_rate)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)


def trim_silence(samples: np.ndarray, threshold: int = 300) -> np.ndarray:
    """Without leading and trailing near-silence, so the end of the array is the end of speech."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


class Microphone:
    """A published microphone track that sends silence, or speech queued with `say`, paced in real time."""

    def __init__(self, room: rtc.Room) -> None:
        self._room = room
        self._source = rtc.AudioSource(MIC_RATE, 1, queue_size_ms=2 * FRAME_MS)
        self._pending: asyncio.Queue[tuple[np.ndarray, asyncio.Future[float]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def publish(self) -> None:
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self._source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self._room.local_participant.publish_track(track, options)
        self._task = asyncio.create_task(self._run())

    async def say(self, samples: np.ndarray) -> float:
        """Speak `samples` (int16 at MIC_RATE); returns when the last sample was captured, and that time."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        await self._pending.put((samples, done))
        return await done

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._source.aclose()

    async def _run(self) -> None:
        frame_len = MIC_RATE * FRAME_MS // 1000
        silence = np.zeros(frame_len, dtype=np.int16)
        speech: np.ndarray | None = None
        done: asyncio.Future[float] | None = None
        next_frame_at = time.monotonic()
        while True:
            if speech is None and not self._pending.empty():
                speech, done = self._pending.get_nowait()
            chunk = silence
            if speech is not None:
                chunk, speech = speech[:frame_len], speech[frame_len:]
                chunk = np.pad(chunk, (0, frame_len - len(chunk)))
            await self._source.capture_frame(rtc.AudioFrame(chunk.tobytes(), MIC_RATE, 1, frame_len))
            if speech is not None and not speech.size:
                speech = None
                assert done is not None
                done.set_result(time.monotonic())
            next_frame_at += FRAME_MS / 1000
            await asyncio.sleep(max(0.0, next_frame_at - time.monotonic()))


def mouth_luma(frame: rtc.VideoFrame) -> np.ndarray:
    """Mean brightness of a 16x16 grid over the lower middle of the picture, where a portrait's mouth is."""
    luma = np.frombuffer(frame.data, dtype=np.uint8)[: frame.width * frame.height].reshape(frame.height, frame.width)
    region = luma[frame.height * 11 // 20 : frame.height * 17 // 20, frame.width * 3 // 10 : frame.width * 7 // 10]
    rows, cols = (region.shape[0] // 16) * 16, (region.shape[1] // 16) * 16
    grid = region[:rows, :cols].reshape(16, rows // 16, 16, cols // 16).mean(axis=(1, 3))
    return grid.astype(np.float32)


@dataclass
class Transcript:
    identity: str
    started_at: float
    text: str = ""
    finished_at: float | None = None
    final: bool = True
    """False for an interim (or preflight) user transcript: the stream's `lk.transcription_final` attribute."""


@dataclass
class AgentObserver:
    """What a participant sees and hears of the agent."""

    room: rtc.Room
    audio: list[tuple[float, int, float]] = field(default_factory=list)
    """(arrival time, peak amplitude, duration in seconds) per received agent audio frame."""
    video: list[tuple[float, np.ndarray]] = field(default_factory=list)
    """(arrival time, luma of the mouth region, 16x16) per received agent video frame."""
    states: list[tuple[float, str]] = field(default_factory=list)
    transcripts: list[Transcript] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.room.on("track_subscribed", self._on_track)
        self.room.on("participant_attributes_changed", self._on_attributes)
        self.room.register_text_stream_handler("lk.transcription", self._on_transcript)

    def spawn(self, coro: object) -> None:
        task = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_track(self, track: rtc.Track, _pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
        if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            self.spawn(self._hear(track))
        elif track.kind == rtc.TrackKind.KIND_VIDEO:
            self.spawn(self._see(track))

    async def _hear(self, track: rtc.Track) -> None:
        async for event in rtc.AudioStream(track, sample_rate=MIC_RATE, num_channels=1):
            samples = np.frombuffer(event.frame.data, dtype=np.int16)
            duration = event.frame.samples_per_channel / event.frame.sample_rate
            self.audio.append((time.monotonic(), int(np.abs(samples).max(initial=0)), duration))

    async def _see(self, track: rtc.Track) -> None:
        async for event in rtc.VideoStream(track, format=rtc.VideoBufferType.I420):
            self.video.append((time.monotonic(), mouth_luma(event.frame)))

    def _on_attributes(self, changed: dict[str, str], p: rtc.Participant) -> None:
        if "lk.agent.state" in changed:
            self.states.append((time.monotonic(), changed["lk.agent.state"]))

    def _on_transcript(self, reader: rtc.TextStreamReader, identity: str) -> None:
        final = (reader.info.attributes or {}).get("lk.transcription_final", "true") == "true"
        transcript = Transcript(identity, time.monotonic(), final=final)
        self.transcripts.append(transcript)

        async def read() -> None:
            async for chunk in reader:
                transcript.text += chunk
            transcript.finished_at = time.monotonic()

        self.spawn(read())

    def first_loud_audio_after(self, since: float) -> float | None:
        return next((t for t, peak, _ in self.audio if t >= since and peak > LOUD), None)

    def mouth_motion(self, start: float, end: float, idle_start: float, idle_end: float) -> float:
        """Mean difference of the mouth region in [start, end) from its median over idle frames in
        [idle_start, idle_end)."""
        idle = [luma for t, luma in self.video if idle_start <= t < idle_end]
        frames = [luma for t, luma in self.video if start <= t < end]
        if not idle or not frames:
            raise AssertionError(f"no video frames to compare ({len(idle)} idle, {len(frames)} measured)")
        reference = np.median(idle, axis=0)
        return float(np.mean([np.abs(luma - reference).mean() for luma in frames]))

    def loud_seconds(self, start: float, end: float) -> float:
        return sum(duration for t, peak, duration in self.audio if start <= t < end and peak > LOUD)

    def state_since(self, state: str, since: float) -> float | None:
        return next((t for t, s in self.states if t >= since and s == state), None)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
