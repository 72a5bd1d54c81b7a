"""A third-party engine, registered through the public API in one call, drives `AvatarSession` end to end:
a subscriber on the real server receives its frames, speech frames while it is given speech, idle ones after."""

from __future__ import annotations

import numpy as np
from livekit import rtc
from livekit.agents import AgentSession
from livekit.plugins import musetalk

from livekit.plugins.musetalk.video_sinks import IDLE_FRAME, SPEECH_FRAME
from support.rooms import record_agent, wait_for
from support.solid_engine import IDLE_RGB, SOLID_ENGINE, SPEAKING_RGB
from support.stack import REPO

SAMPLE_RATE = 24000


def dominant(image: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (round(float(np.median(image[..., c]))) for c in range(3))
    return r, g, b


def near(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return max(abs(a - b) for a, b in zip(colour, expected, strict=True)) < 40


async def test_a_registered_engine_renders_through_avatar_session(livekit_server, connect, room_name, tmp_path) -> None:
    musetalk.register_engine(SOLID_ENGINE)
    assert "solid" in musetalk.engine_names()

    viewer = await connect(room_name, "viewer")
    media = record_agent(viewer)
    agent_room = rtc.Room()
    await agent_room.connect(livekit_server.url, livekit_server.token(room_name, "agent", kind="agent"))
    avatar = musetalk.AvatarSession(
        musetalk.AvatarOptions(
            engine="solid",
            video_encoder="x264",
            width=128,
            height=128,
            avatars_dir=REPO / "avatars",
            cache_dir=tmp_path,
        )
    )
    agent_session: AgentSession = AgentSession()
    try:
        await avatar.start(agent_session, room=agent_room)
        assert agent_session.output.audio is not None
        await wait_for(lambda: len(media.video) >= 10, what="idle frames from the solid engine")

        tone = (8000 * np.sin(2 * np.pi * 220 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)).astype(np.int16)
        for start in range(0, len(tone), SAMPLE_RATE // 100):
            chunk = tone[start : start + SAMPLE_RATE // 100]
            await agent_session.output.audio.capture_frame(rtc.AudioFrame(chunk.tobytes(), SAMPLE_RATE, 1, len(chunk)))
        agent_session.output.audio.flush()
        await wait_for(lambda: media.frame_kinds.count(SPEECH_FRAME) >= 20, timeout=10, what="speech frames")
        await wait_for(lambda: media.frame_kinds[-1] == IDLE_FRAME, timeout=10, what="idle again after the speech")
    finally:
        media.stop()
        await avatar.aclose()
        await agent_room.disconnect()

    colours = {
        kind: [dominant(img) for (_, _, img), k in zip(media.video, media.frame_kinds, strict=True) if k == kind]
        for kind in (SPEECH_FRAME, IDLE_FRAME)
    }
    assert all(near(c, SPEAKING_RGB) for c in colours[SPEECH_FRAME]), colours[SPEECH_FRAME][:5]
    assert all(near(c, IDLE_RGB) for c in colours[IDLE_FRAME]), colours[IDLE_FRAME][:5]
    assert np.abs(media.audio_samples()).max() > 1000, "the engine's speech audio reached the subscriber"
