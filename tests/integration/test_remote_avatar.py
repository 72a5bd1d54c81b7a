"""Remote mode: the voice worker dispatches a separate render worker, which publishes the avatar
on behalf of the agent; its lips follow the agent's speech and an interrupt stops both.

The scripted reply is long (STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES), so "it stopped" means
the room heard far less of it than the whole reply lasts and the mouth is idle again.
Without a render worker the agent talks voice-only and tells the room why; a render worker that dies
mid-session is replaced through the dispatcher, and the room is told both times.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import numpy as np
import psutil
from livekit import rtc

from agent.offline.espeak import SAMPLE_RATE as SPEECH_RATE
from agent.offline.espeak import synthesize
from agent.offline.scripted_llm import scripted_reply
from agent.room_controls import INTERRUPT_RPC
from agent.room_notices import NOTICES_ATTRIBUTE
from support.lipsync import (
    audio_envelope,
    best_lagged_correlation,
    closed_mouth,
    default_mouth_box,
    energy_at,
    idle_again_below,
    mouth_change,
)
from support.rooms import AUDIO_RATE, avatar_of, record_agent, voice_agent, wait_for
from support.voice_client import LOUD, trim_silence

EXTRA_SENTENCES = 8
QUESTION = "Tell me about the moon, the stars, and the long quiet road between them"


def loud_seconds(media_audio: list[tuple[float, np.ndarray]], start: float, end: float) -> float:
    return sum(len(chunk) / AUDIO_RATE for t, chunk in media_audio if start <= t < end and np.abs(chunk).max() > LOUD)


async def test_render_worker_publishes_lip_synced_avatar_for_the_voice_agent(
    livekit_server, launch_worker, connect, room_name
) -> None:
    render_agent_name = f"streaming-avatar-render-test-{secrets.token_hex(3)}"
    voice = launch_worker(
        "remote-voice",
        {
            "STREAMING_AVATAR_AVATAR_MODE": "remote",
            "STREAMING_AVATAR_RENDER_AGENT_NAME": render_agent_name,
            "STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES": str(EXTRA_SENTENCES),
        },
    )
    launch_worker(
        "remote-render", {"STREAMING_AVATAR_ROLE": "render", "STREAMING_AVATAR_RENDER_AGENT_NAME": render_agent_name}
    )
    box = default_mouth_box()
    room = await connect(room_name)
    media = record_agent(room)
    await livekit_server.dispatch(voice.agent_name, room_name, json.dumps({"language": "en"}))
    agent = await wait_for(lambda: voice_agent(room), what="voice agent participant")
    avatar = await wait_for(lambda: avatar_of(room, agent.identity), what="render participant publishing for the agent")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="agent listening")
    await wait_for(lambda: len(media.video) > 25, what="idle video frames")
    idle_end = time.monotonic()

    await room.local_participant.send_text(QUESTION, topic="lk.chat")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=30, what="agent speaking")
    speech_start = await wait_for(
        lambda: next((t for t, chunk in media.audio if t > idle_end and np.abs(chunk).max() > LOUD), None),
        timeout=30,
        what="avatar speech",
    )
    await wait_for(
        lambda: loud_seconds(media.audio, speech_start, time.monotonic()) > 4.0, what="four seconds of speech"
    )
    interrupted_at = time.monotonic()
    response = await room.local_participant.perform_rpc(
        destination_identity=agent.identity, method=INTERRUPT_RPC, payload=""
    )
    assert json.loads(response) == {"interrupted": True}
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="agent listening again")
    await asyncio.sleep(1.5)
    media.stop()

    assert not agent.track_publications, "in remote mode the voice agent publishes no media of its own"
    kinds = {p.kind for p in avatar.track_publications.values()}
    assert kinds == {rtc.TrackKind.KIND_AUDIO, rtc.TrackKind.KIND_VIDEO}

    times, change = mouth_change(media, box, closed_mouth(media.video_between(0, idle_end), box))
    energy = energy_at(*audio_envelope(media), times)
    talking = times < interrupted_at
    speaking = talking & (energy > 0.1 * energy[talking].max())
    assert speaking.sum() > 25, "the avatar should have spoken for well over a second before the interrupt"
    r = best_lagged_correlation(change[talking], energy[talking], max_lag=5)
    assert r >= 0.6, f"mouth motion vs received audio energy: r={r:.2f}"
    assert change[speaking].mean() > 3 * change[times < idle_end].mean()

    full_reply = trim_silence(synthesize(scripted_reply("en", QUESTION, EXTRA_SENTENCES), "en"))
    heard = loud_seconds(media.audio, speech_start, time.monotonic())
    assert heard < len(full_reply) / SPEECH_RATE / 2, f"heard {heard:.1f}s of the reply after the interrupt"
    end = times > times[-1] - 0.8
    assert np.abs(media.audio_samples()[-AUDIO_RATE // 2 :]).max() < LOUD, "the avatar's audio should be silent"
    idle_again = idle_again_below(change[times < idle_end], change[speaking])
    assert change[end].mean() < idle_again, "the mouth should be idle after the interrupt"


async def test_voice_only_with_a_notice_when_no_render_worker_joins(
    livekit_server, launch_worker, connect, room_name
) -> None:
    voice = launch_worker(
        "remote-voice-alone",
        {
            "STREAMING_AVATAR_AVATAR_MODE": "remote",
            "STREAMING_AVATAR_RENDER_AGENT_NAME": f"nobody-renders-{secrets.token_hex(3)}",
            "STREAMING_AVATAR_RENDER_JOIN_TIMEOUT": "1",
        },
    )
    room = await connect(room_name)
    media = record_agent(room)
    await livekit_server.dispatch(voice.agent_name, room_name, json.dumps({"language": "en"}))
    agent = await wait_for(lambda: voice_agent(room), what="voice agent participant")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="agent listening")
    notices = json.loads(await wait_for(lambda: agent.attributes.get(NOTICES_ATTRIBUTE), what="notices"))
    assert any("render worker" in n and "voice only" in n for n in notices), notices

    await room.local_participant.send_text(QUESTION, topic="lk.chat")
    await wait_for(
        lambda: any(np.abs(chunk).max() > LOUD for _, chunk in media.audio), timeout=30, what="agent's own voice"
    )
    media.stop()
    assert {p.kind for p in agent.track_publications.values()} == {rtc.TrackKind.KIND_AUDIO}
    assert not media.video


def kill_with_children(process_id: int) -> None:
    """SIGKILL a worker and its job processes: the render worker dies, not a graceful exit."""
    worker = psutil.Process(process_id)
    for process in [*worker.children(recursive=True), worker]:
        process.kill()


async def test_a_lost_render_worker_is_replaced_and_the_room_is_told(
    livekit_server, launch_worker, connect, room_name
) -> None:
    render_agent_name = f"streaming-avatar-render-test-{secrets.token_hex(3)}"
    render_env = {"STREAMING_AVATAR_ROLE": "render", "STREAMING_AVATAR_RENDER_AGENT_NAME": render_agent_name}
    voice = launch_worker(
        "failover-voice",
        {"STREAMING_AVATAR_AVATAR_MODE": "remote", "STREAMING_AVATAR_RENDER_AGENT_NAME": render_agent_name},
    )
    first = launch_worker("failover-render-first", render_env)
    room = await connect(room_name)
    media = record_agent(room, images=False)
    await livekit_server.dispatch(voice.agent_name, room_name, json.dumps({"language": "en"}))
    agent = await wait_for(lambda: voice_agent(room), what="voice agent participant")
    first_avatar = await wait_for(lambda: avatar_of(room, agent.identity), what="first render participant")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="agent listening")

    launch_worker("failover-render-second", render_env)
    kill_with_children(first.process.pid)

    def notices() -> list[str]:
        return json.loads(agent.attributes.get(NOTICES_ATTRIBUTE, "[]"))

    await wait_for(lambda: any("render worker left" in n for n in notices()), timeout=30, what="notice of the loss")
    second_avatar = await wait_for(
        lambda: (
            (p := avatar_of(room, agent.identity)) is not None
            and p.sid != first_avatar.sid
            and any(t.kind == rtc.TrackKind.KIND_VIDEO for t in p.track_publications.values())
            and p
        ),
        timeout=30,
        what="a second render participant publishing video",
    )
    await wait_for(lambda: any("took over" in n for n in notices()), what="notice of the replacement")
    took_over_at = time.monotonic()

    await room.local_participant.send_text(QUESTION, topic="lk.chat")
    await wait_for(
        lambda: any(t > took_over_at and np.abs(chunk).max() > LOUD for t, chunk in media.audio),
        timeout=30,
        what="the avatar speaking through the new render worker",
    )
    media.stop()
    assert second_avatar.identity == first_avatar.identity, "the replacement is the same avatar participant"
    assert not agent.track_publications, "the voice agent still publishes no media of its own"
