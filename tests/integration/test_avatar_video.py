"""The avatar end to end: a client receives the agent's video, and its lips follow its voice."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
from livekit import rtc

from agent.room_notices import NOTICES_ATTRIBUTE
from livekit.plugins.musetalk.video_sinks import IDLE_FRAME, SPEECH_FRAME
from support.lipsync import (
    FRAME_S,
    audio_envelope,
    best_lagged_correlation,
    closed_mouth,
    default_mouth_box,
    energy_at,
    idle_again_below,
    mouth_change,
)
from support.paths import REPO
from support.rooms import agent_participant, record_agent, wait_for


async def test_avatar_video_follows_speech(livekit_server, worker, connect, room_name, log_dir: Path) -> None:
    box = default_mouth_box()
    room = await connect(room_name)
    media = record_agent(room)
    await livekit_server.dispatch(worker.agent_name, room_name, '{"language": "en"}')
    agent = await wait_for(lambda: agent_participant(room), what="agent participant")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="agent listening")
    await wait_for(lambda: len(media.video) > 25, what="idle video frames")
    idle_end = time.monotonic()

    await room.local_participant.send_text(
        "Tell me about the moon, the stars, and the long quiet road between them", topic="lk.chat"
    )
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=30, what="agent speaking")
    late_joiner = record_agent(await connect(room_name, "late-joiner"))
    await wait_for(lambda: late_joiner.video, timeout=10, what="a decoded frame at a client joining mid-speech")
    late_joiner.stop()
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=60, what="reply finished")
    await asyncio.sleep(1.5)
    media.stop()

    video_pub = next(p for p in agent.track_publications.values() if p.kind == rtc.TrackKind.KIND_VIDEO)
    assert video_pub.mime_type.lower() == "video/h264", "the pre-encoded H.264 track should be negotiated as is"
    height, width = media.video[-1][2].shape[:2]
    assert (width, height) == (512, 512)
    # Sender timestamps: 25 fps unless the machine starves the pacer (then the benchmarks show it).
    intervals = np.diff([ts for _, ts, _ in media.video]) / 1000
    assert np.median(intervals) < 2 * FRAME_S * 1000, f"median frame interval {np.median(intervals)} ms"

    times, change = mouth_change(media, box, closed_mouth(media.video_between(0, idle_end), box))
    energy = energy_at(*audio_envelope(media), times)
    speaking = energy > 0.1 * energy.max()
    assert speaking.sum() > 25, "the reply should last well over a second"

    r = best_lagged_correlation(change, energy, max_lag=5)
    assert r >= 0.6, f"mouth motion vs received audio energy: r={r:.2f}"
    assert change[speaking].mean() > 3 * change[times < idle_end].mean()

    tail = change[times > times[-1] - 0.8]
    closed_again = idle_again_below(change[times < idle_end], change[speaking])
    assert tail.mean() < closed_again, "the mouth should be closed again after the reply"
    # Every frame says in its metadata whether it shows speech: idle before the question, speech while the
    # audio is loud, idle again at the end.
    assert set(media.frame_kinds) <= {IDLE_FRAME, SPEECH_FRAME}, (
        "every received frame carries the avatar's frame metadata"
    )
    speech_frame = np.array([kind == SPEECH_FRAME for kind in media.frame_kinds])
    assert not speech_frame[times < idle_end].any()
    assert speech_frame[speaking].mean() > 0.9
    assert not speech_frame[times > times[-1] - 0.8].any()
    assert np.abs(media.audio_samples()).max() > 1000
    save_contact_sheet(
        [img for (_, _, img), talk in zip(media.video, speaking, strict=False) if talk], log_dir / "avatar_talking.png"
    )


def save_contact_sheet(frames: list[np.ndarray], path: Path, count: int = 8) -> None:
    """A strip of received frames, spread over the reply: the picture in the README comes from here."""
    picks = [frames[i] for i in np.linspace(0, len(frames) - 1, count).astype(int)]
    strip = np.concatenate([cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA) for f in picks], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))


async def test_broken_pack_falls_back_to_default_and_tells_the_room(
    livekit_server, launch_worker, connect, room_name, tmp_path: Path
) -> None:
    avatars = tmp_path / "avatars"
    shutil.copytree(REPO / "avatars" / "default", avatars / "default")
    broken = avatars / "broken"
    broken.mkdir()
    manifest = json.loads((avatars / "default" / "manifest.json").read_text())
    (broken / "manifest.json").write_text(json.dumps({**manifest, "id": "broken"}))
    (broken / manifest["source"]).write_bytes(b"this is not an image")
    worker = launch_worker("broken-pack", {"STREAMING_AVATAR_AVATARS_DIR": str(avatars)})

    room = await connect(room_name)
    media = record_agent(room)
    await livekit_server.dispatch(worker.agent_name, room_name, '{"avatar": "broken"}')
    agent = await wait_for(lambda: agent_participant(room), what="agent")
    notices = json.loads(await wait_for(lambda: agent.attributes.get(NOTICES_ATTRIBUTE), what="notices"))
    assert any("'broken'" in n and "cannot read the portrait" in n and "'default'" in n for n in notices), notices
    await wait_for(lambda: len(media.video) > 5, what="the default avatar's video")
    media.stop()
