"""A typed message on lk.chat gets a spoken reply: transcript on lk.transcription and speech audio."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from livekit import rtc

from agent.room_notices import NOTICES_ATTRIBUTE
from support.rooms import agent_participant, wait_for


async def _collect_audio(track: rtc.Track, into: list[np.ndarray]) -> None:
    async for event in rtc.AudioStream(track, sample_rate=16000, num_channels=1):
        into.append(np.frombuffer(event.frame.data, dtype=np.int16).copy())


@pytest.mark.parametrize("language", ["en", "en-GB", "zh-CN", "xh"])
async def test_chat_message_gets_transcript_and_speech(livekit_server, worker, connect, room_name, language) -> None:
    """In any language the schema accepts the avatar speaks: en-GB and zh-CN were silent before (no eSpeak
    voice of that name); a language with no offline voice (xh) is spoken in English, and the room is told."""
    room = await connect(room_name)
    transcripts: list[tuple[str, str]] = []
    audio: list[np.ndarray] = []
    tasks: list[asyncio.Task[None]] = []

    async def read_transcript(reader: rtc.TextStreamReader, identity: str) -> None:
        transcripts.append((identity, await reader.read_all()))

    room.register_text_stream_handler(
        "lk.transcription",
        lambda reader, identity: tasks.append(asyncio.create_task(read_transcript(reader, identity))),
    )

    @room.on("track_subscribed")
    def _on_track(track: rtc.Track, _pub: rtc.RemoteTrackPublication, _p: rtc.RemoteParticipant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            tasks.append(asyncio.create_task(_collect_audio(track, audio)))

    await livekit_server.dispatch(worker.agent_name, room_name, json.dumps({"language": language}))
    agent = await wait_for(lambda: agent_participant(room), what="agent participant")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="agent listening")
    if language == "xh":
        await wait_for(
            lambda: (
                "'xh'" in agent.attributes.get(NOTICES_ATTRIBUTE, "")
                and "speaks English" in agent.attributes.get(NOTICES_ATTRIBUTE, "")
            ),
            what="the notice that the avatar speaks English",
        )
    else:
        assert "speaks English" not in agent.attributes.get(NOTICES_ATTRIBUTE, "")

    await room.local_participant.send_text("what is the weather", topic="lk.chat")
    reply = await wait_for(
        lambda: next((t for who, t in transcripts if who == agent.identity and "weather" in t), None),
        timeout=30,
        what="agent transcript",
    )
    assert reply.startswith("You said: what is the weather")

    def loud_enough() -> bool:
        return bool(audio) and np.abs(np.concatenate(audio)).max() > 1000

    await wait_for(loud_enough, timeout=20, what="non-silent agent audio")
    for t in tasks:
        t.cancel()
