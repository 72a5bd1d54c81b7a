"""The worker's Prometheus endpoint, scraped while an avatar speaks: counters move."""

from __future__ import annotations

import re

import aiohttp

from support.rooms import agent_participant, record_agent, wait_for
from support.stack import free_port


def sample(text: str, name: str, labels: str = "") -> float:
    """Sum of a metric's samples (all processes, all label sets matching `labels`)."""
    pattern = re.compile(rf"^{name}(\{{[^}}]*{labels}[^}}]*\}})?\s+([0-9.eE+-]+)$", re.M)
    return sum(float(m.group(2)) for m in pattern.finditer(text))


async def test_metrics_move_while_the_avatar_speaks(livekit_server, launch_worker, connect, room_name) -> None:
    port = free_port()
    worker = launch_worker("metrics", {"STREAMING_AVATAR_METRICS_PORT": str(port)})

    async def scrape() -> str:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            return await response.text()

    room = await connect(room_name)
    media = record_agent(room)
    await livekit_server.dispatch(worker.agent_name, room_name, '{"language": "en"}')
    agent = await wait_for(lambda: agent_participant(room), what="agent")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="listening")
    await wait_for(lambda: len(media.video) > 10, what="video")
    before = await scrape()
    assert sample(before, "avatar_sessions_active") == 1
    assert sample(before, "avatar_keyframe_requests_total") >= 1, (
        "the subscriber's keyframe request reached the encoder"
    )
    assert sample(before, "avatar_sessions_started_total", 'encoder="x264"') == 1

    await room.local_participant.send_text("say something about the weather", topic="lk.chat")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=30, what="speaking")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=60, what="reply done")
    after = await scrape()
    media.stop()

    assert sample(after, "avatar_frames_total", 'kind="speech"') > sample(
        before, "avatar_frames_total", 'kind="speech"'
    )
    assert sample(after, "avatar_frames_total", 'kind="idle"') > sample(before, "avatar_frames_total", 'kind="idle"')
    assert sample(after, "avatar_render_seconds_count") > sample(before, "avatar_render_seconds_count")
    assert sample(after, "avatar_encode_seconds_count") > sample(before, "avatar_encode_seconds_count")
    assert sample(after, "avatar_lipsync_latency_seconds_count") >= 1
    assert sample(after, "avatar_encoder_rate_updates_total") >= 1, "the SDK's rate targets reached the encoder"
    assert "lk_agents_worker_load" in after
