"""The pacer on a real CPU-engine session and a real `rtc.AudioSource`: speech after idle does not
queue behind idle silence, video frames reach the sink in order whatever their delays, and the frames
waiting for audio that an interrupt drops are dropped with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from livekit.plugins.musetalk import AvatarFrame, AvatarPack, LipSyncSession, VideoSpec
from livekit.plugins.musetalk.engines.cpu import CpuEngine, PreparedPortrait
from livekit.plugins.musetalk.pacer import AvatarPacer
from livekit.plugins.musetalk.video_sinks import SPEECH_FRAME, DelayedSender, SenderThreadSink
from support.rooms import wait_for

SAMPLE_RATE = 24000
SPEC = VideoSpec(width=256, height=256, fps=25)
QUEUE_MS = 100


@pytest.fixture(scope="module")
def prepared(avatar_cache: Path, default_pack: AvatarPack) -> PreparedPortrait:
    return CpuEngine().prepare(default_pack, SPEC)


class SentFrames(SenderThreadSink):
    """The sinks' sending without a room: keeps what it was given, and what went out, in order."""

    source: Any = None

    def __init__(self) -> None:
        self.given: list[Any] = []
        self.metadata: list[rtc.FrameMetadata] = []
        self.sent: list[Any] = []
        super().__init__()

    def publish_options(self) -> rtc.TrackPublishOptions:
        return rtc.TrackPublishOptions()

    def send(self, image: Any, delay_s: float, metadata: rtc.FrameMetadata) -> None:
        self.given.append(image)
        self.metadata.append(metadata)
        super().send(image, delay_s, metadata)

    def _deliver(self, image: Any, metadata: rtc.FrameMetadata) -> None:
        self.sent.append(image)

    async def aclose(self) -> None:
        self._sender.close()


class NumberedFrames:
    """A real CPU session whose frames carry (number, speaking) instead of pixels, to see which were sent."""

    def __init__(self, session: LipSyncSession) -> None:
        self._session = session
        self.sample_rate = session.sample_rate
        self._count = 0

    def next_frame(self) -> AvatarFrame:
        frame = self._session.next_frame()
        self._count += 1
        return AvatarFrame(image=(self._count - 1, frame.speaking), audio=frame.audio, speaking=frame.speaking)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class NeedsLookahead:
    """A real CPU session that, like MuseTalk, renders a reply's frames only once more of it than one
    frame has arrived (MuseTalk's audio features look ahead); until then its frames are idle."""

    LOOKAHEAD_FRAMES = 5

    def __init__(self, session: LipSyncSession) -> None:
        self._session = session
        self.sample_rate = session.sample_rate

    def next_frame(self) -> AvatarFrame:
        if self._session.queued_frames() >= self.LOOKAHEAD_FRAMES:
            return self._session.next_frame()
        self._session.hold(True)
        try:
            return self._session.next_frame()
        finally:
            self._session.hold(False)

    def speech_ready(self) -> bool:
        return self._session.queued_frames() >= self.LOOKAHEAD_FRAMES and self._session.speech_ready()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


@asynccontextmanager
async def running_pacer(
    prepared: PreparedPortrait,
    *,
    wrap: Callable[[LipSyncSession], Any] | None = None,
    idle_every: int = 1,
    source: rtc.AudioSource | None = None,
) -> AsyncIterator[tuple[AvatarPacer, rtc.AudioSource]]:
    source = source or rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=QUEUE_MS)
    session: LipSyncSession = CpuEngine().new_session(prepared, sample_rate=SAMPLE_RATE)
    if wrap is not None:
        session = wrap(session)
    sink = SentFrames()
    pacer = AvatarPacer(
        session,
        SPEC,
        source,
        sink,
        ThreadPoolExecutor(max_workers=1),
        audio_queue_s=QUEUE_MS / 1000,
        idle_every=idle_every,
    )
    task = asyncio.create_task(pacer.run())
    try:
        yield pacer, source
    finally:
        task.cancel()
        pacer.close()
        await sink.aclose()


def say(pacer: AvatarPacer, seconds: float) -> None:
    """One segment of a loud 220 Hz tone."""
    samples = np.arange(int(SAMPLE_RATE * seconds))
    tone = (8000 * np.sin(samples * 2 * np.pi * 220 / SAMPLE_RATE)).astype(np.int16)
    pacer.push_audio(rtc.AudioFrame(tone.tobytes(), SAMPLE_RATE, 1, len(tone)))
    pacer.end_segment()


class RecordingAudioSource(rtc.AudioSource):
    """A real AudioSource that notes the length of every frame given to it, whether it was silent, and
    how much audio was queued when it was given."""

    def __init__(self) -> None:
        super().__init__(SAMPLE_RATE, 1, queue_size_ms=QUEUE_MS)
        self.captured: list[tuple[int, bool]] = []
        self.queued_at_capture: list[float] = []

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        self.captured.append((frame.samples_per_channel, not np.frombuffer(frame.data, np.int16).any()))
        self.queued_at_capture.append(self.queued_duration)
        await super().capture_frame(frame)


async def test_a_reply_goes_into_the_audio_queue_before_any_more_idle_silence(prepared: PreparedPortrait) -> None:
    source = RecordingAudioSource()
    async with running_pacer(prepared, source=source) as (pacer, _source):
        await asyncio.sleep(0.3)
        say(pacer, 0.4)
        asked = len(source.captured)
        await wait_for(lambda: pacer.stats.speech_frames >= 10, timeout=2, interval=0.01, what="the reply")
    frame_samples = SAMPLE_RATE // SPEC.fps
    idle = [n for n, silent in source.captured[:asked] if silent]
    assert len(idle) >= 3 and set(idle) == {frame_samples}, "one capture call per idle frame"
    # Idle silence goes in only once it fits: waiting inside the SDK's capture call, a reply could not cut in.
    idle_queued = [
        q for q, (_n, silent) in zip(source.queued_at_capture[:asked], source.captured[:asked], strict=True) if silent
    ]
    assert max(idle_queued) + pacer.frame_duration <= QUEUE_MS / 1000 + 0.001, idle_queued
    after = source.captured[asked:]
    assert not after[0][1], "idle silence went in after the reply was ready"
    assert [n for n, silent in after if not silent][:10] == [frame_samples] * 10


async def test_idle_frames_stay_paced_while_the_engine_waits_for_more_of_the_reply(
    prepared: PreparedPortrait,
) -> None:
    source = RecordingAudioSource()
    async with running_pacer(prepared, wrap=NeedsLookahead, source=source) as (pacer, _source):
        await asyncio.sleep(0.2)
        frames_before, captures_before = pacer.stats.frames, len(source.captured)
        tone = np.full(2 * SAMPLE_RATE // SPEC.fps, 8000, np.int16)  # two frames: below the look-ahead, not ended
        pacer.push_audio(rtc.AudioFrame(tone.tobytes(), SAMPLE_RATE, 1, len(tone)))
        await asyncio.sleep(0.3)
        frames = pacer.stats.frames - frames_before
        silences = sum(silent for _n, silent in source.captured[captures_before:])
    assert pacer.stats.speech_frames == 0
    # Every idle frame but one put its silence in the queue, so the audio clock still paces the loop.
    assert frames - silences <= 1, (frames, silences)


async def test_speech_after_idle_does_not_wait_behind_idle_silence(prepared: PreparedPortrait) -> None:
    async with running_pacer(prepared) as (pacer, source):
        queued_at_start: list[float] = []
        pacer.on_playback_started = lambda _at: queued_at_start.append(source.queued_duration)
        await asyncio.sleep(0.5)
        idle_queue = source.queued_duration
        say(pacer, 0.5)
        await wait_for(lambda: queued_at_start, timeout=1, interval=0.01, what="playback started")
    # Idle, the source's queue holds more than a frame of silence; the reply's first frame
    # goes in after that silence is dropped, so only its own audio is queued ahead of it.
    assert idle_queue > pacer.frame_duration
    assert queued_at_start[0] <= pacer.frame_duration + 0.011


async def test_delayed_sender_keeps_order_and_drops_what_waits() -> None:
    delivered: list[int] = []
    sender = DelayedSender(delivered.append)
    try:
        sender.send(1, 0.05)
        sender.send(2, 0.0)  # due first, still delivered after 1
        await asyncio.sleep(0.02)
        assert delivered == []
        await wait_for(lambda: delivered == [1, 2], timeout=1, interval=0.005, what="both delivered")
        sender.send(3, 5.0)
        sender.send(4, 5.0)
        assert sender.drop_waiting() == 2
        sender.send(5, 0.0)
        await wait_for(lambda: len(delivered) == 3, timeout=1, interval=0.005, what="the next item")
        assert delivered == [1, 2, 5], "dropped items are never delivered"
    finally:
        sender.close()
    sender.send(6, 0.0)
    await asyncio.sleep(0.05)
    assert delivered == [1, 2, 5], "nothing is delivered after close"


async def test_interrupt_drops_the_frames_waiting_for_dropped_audio(prepared: PreparedPortrait) -> None:
    async with running_pacer(prepared) as (pacer, _source):
        sink = pacer._video_sink
        assert isinstance(sink, SentFrames)
        say(pacer, 2.0)
        await wait_for(lambda: pacer.stats.speech_frames >= 10, timeout=2, interval=0.005, what="speech")
        pacer.interrupt()
        given_before = [id(image) for image in sink.given]
        await wait_for(lambda: len(sink.given) >= len(given_before) + 5, timeout=2, interval=0.005, what="idle")
        await asyncio.sleep(0.2)
        sent = [id(image) for image in sink.sent]
    sent_before = [frame for frame in sent if frame in given_before]
    assert sent_before == given_before[: len(sent_before)], "frames go out in order"
    assert len(given_before) - len(sent_before) >= 2, "the frames waiting for the dropped audio never go out"
    assert len(sent) > len(sent_before), "idle frames follow"


async def test_pause_holds_the_reply_and_resume_finishes_it(prepared: PreparedPortrait) -> None:
    async with running_pacer(prepared) as (pacer, _source):
        finished: list[tuple[float, bool]] = []
        pacer.on_playback_finished = lambda position, interrupted: finished.append((position, interrupted))
        say(pacer, 1.0)
        await asyncio.sleep(0.3)
        pacer.pause()
        await asyncio.sleep(0.1)
        spoken_at_pause = pacer.stats.speech_frames
        await asyncio.sleep(0.4)
        assert pacer.stats.speech_frames == spoken_at_pause, "no speech goes out while paused"
        assert 0 < spoken_at_pause < 25
        pacer.resume()
        await wait_for(lambda: finished, timeout=3, interval=0.01, what="playback finished")
    assert pacer.stats.speech_frames == 25
    assert finished == [(1.0, False)], "the whole second played, not interrupted"


async def test_idle_frames_go_at_a_reduced_rate_and_speech_at_full_rate(prepared: PreparedPortrait) -> None:
    async with running_pacer(prepared, wrap=NumberedFrames, idle_every=2) as (pacer, _source):
        sink = pacer._video_sink
        assert isinstance(sink, SentFrames)
        finished: list[tuple[float, bool]] = []
        pacer.on_playback_finished = lambda position, interrupted: finished.append((position, interrupted))
        await asyncio.sleep(0.3)
        say(pacer, 0.4)
        await wait_for(lambda: finished, timeout=3, interval=0.01, what="playback finished")
        await asyncio.sleep(0.3)
        rendered = pacer.stats.frames
    given = sorted(number for number, _speaking in sink.given)
    speech = [number for number, speaking in sink.given if speaking]
    assert len(speech) == 10, "every speech frame is sent"
    after = speech[-1] + 1
    idle_before = range(speech[0])
    idle_after = range(after, rendered)
    assert [n for n in given if n in idle_before] == list(idle_before)[::2], "one idle frame in two, from the first"
    assert [n for n in given if n in idle_after] == list(idle_after)[::2], "the first idle frame after speech goes out"
    assert speech == list(range(speech[0], after)), "speech frames are consecutive and all sent"
    labels = [(m.frame_id, m.user_data == SPEECH_FRAME) for m in sink.metadata]
    assert labels == sink.given, "each frame's metadata carries its number and whether it shows speech"


async def test_delayed_sender_survives_a_failing_delivery_and_logs_it_once(caplog: pytest.LogCaptureFixture) -> None:
    delivered: list[int] = []

    def deliver(item: int) -> None:
        if item < 0:
            raise RuntimeError("encoder gone")
        delivered.append(item)

    sender = DelayedSender(deliver)
    try:
        for item in (-1, -2, -3, 4):
            sender.send(item, 0.0)
        await wait_for(lambda: delivered == [4], timeout=1, interval=0.005, what="the frame after the failures")
    finally:
        sender.close()
    failures = [r for r in caplog.records if "could not be sent" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None


async def test_delayed_sender_keeps_a_bounded_queue() -> None:
    delivered: list[int] = []
    sender = DelayedSender(delivered.append, max_waiting=3)
    try:
        for item in range(5):
            sender.send(item, 0.05)
        await wait_for(lambda: len(delivered) == 3, timeout=1, interval=0.005, what="the frames kept")
    finally:
        sender.close()
    assert delivered == [2, 3, 4], "the oldest frames are dropped when too many wait"
