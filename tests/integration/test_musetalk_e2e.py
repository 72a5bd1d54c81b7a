"""The MuseTalk engine end to end on CPU: tiny random-weight checkpoints in the released layout,
a reduced frame size, the real server and a subscribing client. MuseTalk only renders at its
training rate (25 fps); the tiny model on 2 CPU cores runs slower than that, so this checks
the path, not real-time speed."""

from __future__ import annotations

from pathlib import Path

import pytest
from livekit import rtc

from support.rooms import agent_participant, record_agent, wait_for
from support.tiny_musetalk import build_tiny_musetalk


@pytest.fixture(scope="module")
def musetalk_worker(launch_worker, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    models = build_tiny_musetalk(Path(tmp_path_factory.mktemp("musetalk")))
    return launch_worker(
        "musetalk",
        {
            "STREAMING_AVATAR_ENGINE": "musetalk",
            "STREAMING_AVATAR_MUSETALK_DIR": str(models),
            "STREAMING_AVATAR_VIDEO_SIZE": "256x256",
        },
    )


async def test_client_receives_the_musetalk_video_track(livekit_server, musetalk_worker, connect, room_name) -> None:
    room = await connect(room_name)
    media = record_agent(room)
    await livekit_server.dispatch(musetalk_worker.agent_name, room_name, '{"language": "en"}')
    agent = await wait_for(lambda: agent_participant(room), timeout=60, what="agent")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=60, what="listening")
    await room.local_participant.send_text("hello there", topic="lk.chat")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=60, what="speaking")
    await wait_for(lambda: len(media.video) > 20, timeout=60, what="MuseTalk frames")
    media.stop()

    assert "lip-sync engine musetalk" in musetalk_worker.log_text()
    assert media.video[-1][2].shape == (256, 256, 3)
    video = next(p for p in agent.track_publications.values() if p.kind == rtc.TrackKind.KIND_VIDEO)
    assert video.mime_type.lower() == "video/h264"
