"""Render and encode faults in a live avatar: the real CPU engine and x264 encoder, broken on demand.

`AvatarSession` runs in this process, publishing to the real livekit-server, so a scenario can
break its engine (raise, or render slower than real time), its encoder (closed under it), or its
cache, while a subscriber records what the room gets. Used by tests/integration/test_render_faults.py
and bench/reliability.py.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import AgentSession
from livekit.plugins import musetalk

from livekit.plugins.musetalk import AvatarFrame, EngineConfig, EngineEntry, Pcm, PreparedAvatar
from livekit.plugins.musetalk.engines import resolve_engine
from livekit.plugins.musetalk.video_sinks import SPEECH_FRAME, EncodedVideoSink

from .outcomes import FaultOutcome
from .paths import REPO
from .rooms import ReceivedMedia, record_agent, wait_for
from .stack import LiveKitServer

SAMPLE_RATE = 24000
SIZE = 256


@dataclass
class EngineFaults:
    """Switched by the scenario while the avatar runs."""

    raise_in_render: bool = False
    render_delay_s: float = 0.0


class FaultySession:
    """The real engine's session, which raises or sleeps in `next_frame` when told to."""

    def __init__(self, inner: Any, faults: EngineFaults) -> None:
        self.sample_rate = inner.sample_rate
        self._inner = inner
        self._faults = faults

    def next_frame(self) -> AvatarFrame:
        if self._faults.raise_in_render:
            raise RuntimeError("injected fault: the engine raised while rendering")
        time.sleep(self._faults.render_delay_s)
        frame: AvatarFrame = self._inner.next_frame()
        return frame

    def push_audio(self, pcm: Pcm) -> None:
        self._inner.push_audio(pcm)

    def end_segment(self) -> None:
        self._inner.end_segment()

    def speech_ready(self) -> bool:
        return bool(self._inner.speech_ready())

    def queued_frames(self) -> int:
        return int(self._inner.queued_frames())

    def hold(self, held: bool) -> None:
        self._inner.hold(held)

    def clear(self) -> None:
        self._inner.clear()

    def close(self) -> None:
        self._inner.close()


class FaultyCpuEngine:
    """The real CPU engine under another name; its sessions are FaultySessions sharing `faults`."""

    name = "faulty-cpu"

    def __init__(self, faults: EngineFaults) -> None:
        self._inner, _ = resolve_engine("cpu", EngineConfig())
        self.faults = faults

    @property
    def cache_version(self) -> str:
        return str(self._inner.cache_version)

    def prepare(self, pack: Any, spec: Any = None, **kwargs: Any) -> PreparedAvatar[Any]:
        prepared: PreparedAvatar[Any] = self._inner.prepare(pack, spec, **kwargs)
        return prepared

    def new_session(self, prepared: PreparedAvatar[Any], *, sample_rate: int) -> FaultySession:
        return FaultySession(self._inner.new_session(prepared, sample_rate=sample_rate), self.faults)

    def warm_up(self) -> None:
        self._inner.warm_up()


def register_faulty_engine() -> EngineFaults:
    """Register "faulty-cpu" (once per process) and return the switch its sessions obey."""
    faults = EngineFaults()
    engine = FaultyCpuEngine(faults)
    musetalk.register_engine(EngineEntry(name=FaultyCpuEngine.name, load=lambda config: engine))
    return faults


@dataclass
class LiveAvatar:
    """An avatar publishing to a room, a viewer recording it, and the notices the avatar emitted."""

    avatar: musetalk.AvatarSession
    agent_room: rtc.Room
    viewer: rtc.Room
    media: ReceivedMedia
    agent_session: AgentSession[Any]
    notices: list[str] = field(default_factory=list)

    async def say(self, seconds: float = 2.0) -> None:
        """Speech-like audio (a vowel with a syllable rhythm) into the avatar, then the end of the segment."""
        output = self.agent_session.output.audio
        assert output is not None
        t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
        wave = (6000 * envelope * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 720 * t))).astype(
            np.int16
        )
        step = SAMPLE_RATE // 100
        for start in range(0, len(wave), step):
            chunk = wave[start : start + step]
            await output.capture_frame(rtc.AudioFrame(chunk.tobytes(), SAMPLE_RATE, 1, len(chunk)))
        output.flush()

    def frames_since(self, count: int) -> int:
        return len(self.media.video) - count

    async def close(self) -> None:
        self.media.stop()
        await self.avatar.aclose()
        await self.agent_room.disconnect()
        await self.viewer.disconnect()


async def start_live_avatar(
    server: LiveKitServer, room_name: str, *, engine: str, cache_dir: Path, encoder: str = "x264"
) -> LiveAvatar:
    viewer = rtc.Room()
    await viewer.connect(server.url, server.token(room_name, "viewer"))
    media = record_agent(viewer, crop=(0, 0, 8, 8))
    agent_room = rtc.Room()
    await agent_room.connect(server.url, server.token(room_name, "agent", kind="agent"))
    avatar = musetalk.AvatarSession(
        musetalk.AvatarOptions(
            engine=engine,
            video_encoder=encoder,  # type: ignore[arg-type]
            width=SIZE,
            height=SIZE,
            avatars_dir=REPO / "avatars",
            cache_dir=cache_dir,
        )
    )
    live = LiveAvatar(avatar, agent_room, viewer, media, AgentSession())
    avatar.on("notice", live.notices.append)
    await avatar.start(live.agent_session, room=agent_room)
    await wait_for(lambda: len(media.video) >= 5, timeout=30, what="the avatar's first frames")
    return live


async def speech_survives(outcome: FaultOutcome, live: LiveAvatar) -> None:
    """After the fault, speech still reaches the viewer: loud audio, and video frames keep coming."""
    audio_before, video_before = len(live.media.audio), len(live.media.video)
    await live.say()

    def loud_audio() -> bool:
        recent = [a for _, a in live.media.audio[audio_before:]]
        return bool(recent) and int(np.abs(np.concatenate(recent)).max()) > 2000

    await outcome.expect("the speech to be heard after the fault", loud_audio)
    await outcome.expect("video frames after the fault", lambda: live.frames_since(video_before) >= 25)


async def engine_fault(
    server: LiveKitServer, faults: EngineFaults, room_name: str, cache_dir: Path, fault: str
) -> FaultOutcome:
    """`fault`: "raise" (every render raises) or "slow" (each frame takes 60 ms at 25 fps)."""
    outcome = FaultOutcome(f"engine-{fault}")
    live = await start_live_avatar(server, room_name, engine=FaultyCpuEngine.name, cache_dir=cache_dir)
    bystander = await start_live_avatar(server, f"{room_name}-other", engine="cpu", cache_dir=cache_dir)
    try:
        if fault == "raise":
            faults.raise_in_render = True
        else:
            faults.render_delay_s = 0.06
        await live.say()
        await outcome.expect("the fallback notice", lambda: live.notices, timeout=30)
        await speech_survives(outcome, live)
        await speech_survives(outcome, bystander)
        if bystander.notices:
            outcome.problems.append(f"a session without the fault got notices: {bystander.notices}")
        outcome.notices = list(live.notices)
    finally:
        faults.raise_in_render, faults.render_delay_s = False, 0.0
        await live.close()
        await bystander.close()
    return outcome


async def encoder_fault(server: LiveKitServer, room_name: str, cache_dir: Path) -> FaultOutcome:
    """The x264 encoder is closed under the running avatar (its next encode raises): another takes over."""
    outcome = FaultOutcome("encoder-raise")
    live = await start_live_avatar(server, room_name, engine="cpu", cache_dir=cache_dir)
    try:
        sink = live.avatar._publisher._video_sink
        assert isinstance(sink, EncodedVideoSink)
        sink.encoder.close()
        await outcome.expect("the encoder notice", lambda: live.notices)
        await speech_survives(outcome, live)
        if SPEECH_FRAME not in live.media.frame_kinds:
            outcome.problems.append("no speech frame reached the viewer after the encoder was replaced")
        outcome.notices = list(live.notices)
    finally:
        await live.close()
    return outcome


async def cache_lost_mid_session(server: LiveKitServer, room_name: str, cache_dir: Path) -> FaultOutcome:
    """The pack's cache is deleted, then corrupted, while a session runs: it goes on, and new sessions
    rebuild the cache."""
    outcome = FaultOutcome("cache-deleted-or-corrupted")
    first = await start_live_avatar(server, room_name, engine="cpu", cache_dir=cache_dir)
    try:
        for entry in cache_dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
        await speech_survives(outcome, first)
        second = await start_live_avatar(server, f"{room_name}-2", engine="cpu", cache_dir=cache_dir)
        await second.close()
        rebuilt = [entry for entry in cache_dir.iterdir() if entry.is_dir()]
        if not rebuilt:
            outcome.problems.append("the deleted cache was not rebuilt")
        for entry in rebuilt:
            for path in entry.iterdir():
                if path.is_file():
                    path.write_bytes(b"corrupt")
        third = await start_live_avatar(server, f"{room_name}-3", engine="cpu", cache_dir=cache_dir)
        await speech_survives(outcome, third)
        await third.close()
        await speech_survives(outcome, first)
    finally:
        await first.close()
    return outcome


async def cache_unwritable(server: LiveKitServer, room_name: str, cache_dir: Path) -> FaultOutcome:
    """The cache root cannot be written (here: it is a regular file, which even root cannot create
    directories under): the avatar is prepared elsewhere and speaks."""
    outcome = FaultOutcome("cache-unwritable")
    blocked = cache_dir / "not-a-directory"
    blocked.write_text("")
    live = await start_live_avatar(server, room_name, engine="cpu", cache_dir=blocked)
    try:
        await speech_survives(outcome, live)
    finally:
        await live.close()
    return outcome
