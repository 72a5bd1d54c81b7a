"""The voice path end to end: real server, real worker (tiny Whisper, scripted LLM, eSpeak TTS),
a Python participant speaking eSpeak NG speech into a microphone track.

The scripted replies are long (STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES), so the
avatar is still talking when the test interrupts it; "it stopped" means the room
heard far less of the reply than the whole reply lasts, and the agent's transcript
of that turn ends before the reply does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from livekit import api, rtc

from agent.offline.espeak import SAMPLE_RATE as SPEECH_RATE
from agent.offline.espeak import synthesize
from agent.offline.scripted_llm import scripted_reply
from agent.room_controls import END_SESSION_RPC, INTERRUPT_RPC
from agent.room_notices import NOTICES_ATTRIBUTE
from support.rooms import agent_participant, wait_for
from support.stack import Worker
from support.tiny_whisper import listening_worker_env
from support.voice_client import AgentObserver, Microphone, resample, trim_silence

EXTRA_SENTENCES = 12
TINY_WHISPER_TEXT = "x"
"""What the random-weight test model hears in any speech."""


@pytest.fixture(scope="module")
def voice_worker(launch_worker, tmp_path_factory: pytest.TempPathFactory) -> Worker:
    return launch_worker(
        "voice", extra_env=listening_worker_env(tmp_path_factory.mktemp("tiny-whisper"), EXTRA_SENTENCES)
    )


@pytest.fixture(scope="module")
def long_reply_seconds() -> float:
    """How long the avatar talks when nobody stops it: the eSpeak NG duration of the full reply."""
    full_reply = scripted_reply("en", TINY_WHISPER_TEXT, EXTRA_SENTENCES)
    return len(trim_silence(synthesize(full_reply, "en"))) / SPEECH_RATE


def speech(text: str) -> np.ndarray:
    return resample(trim_silence(synthesize(text, "en")), SPEECH_RATE)


@dataclass
class Conversation:
    room: rtc.Room
    agent: rtc.RemoteParticipant
    observer: AgentObserver
    microphone: Microphone

    def agent_transcripts(self) -> list[str]:
        return [t.text for t in self.observer.transcripts if t.identity == self.agent.identity]


@pytest.fixture
async def conversation(livekit_server, voice_worker: Worker, connect, room_name: str) -> AsyncIterator[Conversation]:
    room = await connect(room_name)
    observer = AgentObserver(room)
    microphone = Microphone(room)
    await microphone.publish()
    await livekit_server.dispatch(voice_worker.agent_name, room_name, json.dumps({"language": "en"}))
    agent = await wait_for(lambda: agent_participant(room), what="agent participant")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="agent listening")
    yield Conversation(room, agent, observer, microphone)
    observer.close()
    await microphone.close()


async def start_long_reply_by_voice(c: Conversation) -> float:
    """Say something, wait until the avatar is audibly answering; returns when its audio started."""
    spoke_at = await c.microphone.say(speech("Hello there, can you hear me?"))
    await wait_for(
        lambda: any(t.identity == c.room.local_participant.identity and t.text for t in c.observer.transcripts),
        timeout=30,
        what="user transcript on lk.transcription",
    )
    return await wait_for(lambda: c.observer.first_loud_audio_after(spoke_at), timeout=30, what="avatar speech")


def assert_stopped_early(c: Conversation, started: float, until: float, long_reply_seconds: float) -> None:
    heard = c.observer.loud_seconds(started, until)
    assert 0 < heard < long_reply_seconds / 2, f"heard {heard:.1f}s of a {long_reply_seconds:.1f}s reply"
    full_reply = scripted_reply("en", TINY_WHISPER_TEXT, EXTRA_SENTENCES)
    first_turn = c.agent_transcripts()[0]
    assert first_turn and full_reply.startswith(first_turn.strip()), first_turn
    assert len(first_turn.strip()) < len(full_reply) / 2, first_turn


async def test_user_speaks_agent_answers_and_barge_in_stops_it(
    conversation: Conversation, long_reply_seconds: float
) -> None:
    c = conversation
    reply_started = await start_long_reply_by_voice(c)
    await wait_for(lambda: c.observer.loud_seconds(reply_started, float("inf")) > 1.0, what="a second of avatar speech")

    barge_in_at = await c.microphone.say(speech("Wait, stop, I have another question for you."))

    second_reply = await wait_for(
        lambda: c.observer.state_since("speaking", barge_in_at), timeout=30, what="the reply to the barge-in"
    )
    assert_stopped_early(c, reply_started, second_reply, long_reply_seconds)
    await wait_for(lambda: len(c.agent_transcripts()) >= 2, what="agent transcript of the second reply")
    talking = c.observer.mouth_motion(reply_started + 0.5, barge_in_at, reply_started - 1.0, reply_started)
    after_barge_in = c.observer.mouth_motion(second_reply - 0.6, second_reply - 0.1, reply_started - 1.0, reply_started)
    assert after_barge_in < talking / 3, (
        f"mouth still moving after the barge-in ({after_barge_in:.1f} vs {talking:.1f})"
    )


async def test_interrupt_rpc_stops_the_avatar_and_chat_still_works(
    conversation: Conversation, long_reply_seconds: float
) -> None:
    c = conversation
    reply_started = await start_long_reply_by_voice(c)

    response = await c.room.local_participant.perform_rpc(
        destination_identity=c.agent.identity, method=INTERRUPT_RPC, payload=""
    )

    assert json.loads(response) == {"interrupted": True}
    stopped = await wait_for(lambda: c.observer.state_since("listening", reply_started), what="agent listening")
    await c.room.local_participant.send_text("are you still there", topic="lk.chat")
    await wait_for(
        lambda: any("are you still there" in t for t in c.agent_transcripts()), timeout=30, what="reply to lk.chat"
    )
    assert_stopped_early(c, reply_started, stopped + 1.0, long_reply_seconds)


async def test_end_session_rpc_makes_the_agent_leave(conversation: Conversation) -> None:
    c = conversation
    response = await c.room.local_participant.perform_rpc(
        destination_identity=c.agent.identity, method=END_SESSION_RPC, payload=""
    )

    assert json.loads(response) == {"ending": True}
    await wait_for(lambda: agent_participant(c.room) is None, what="agent left the room")


async def test_session_follows_the_remaining_human_and_ends_with_the_last(
    livekit_server, voice_worker: Worker, connect, room_name: str
) -> None:
    first = await connect(room_name, "first")
    second = await connect(room_name, "second")
    observer = AgentObserver(second)
    async with livekit_server.api() as lkapi:
        await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=voice_worker.agent_name, room=room_name, metadata='{"language": "en"}'
            )
        )
        agent = await wait_for(lambda: agent_participant(second), what="agent participant")
        await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="agent listening")

        await first.disconnect()
        await wait_for(lambda: "first" not in second.remote_participants, what="first participant gone")
        await say_until_answered(second, observer, agent, "it is just me now")
        await second.disconnect()

        deadline = time.monotonic() + 20
        while await agent_in_room(lkapi, room_name, agent.identity):
            assert time.monotonic() < deadline, "the agent stayed after the last human left"
            await asyncio.sleep(0.2)
    observer.close()


async def say_until_answered(
    room: rtc.Room, observer: AgentObserver, agent: rtc.RemoteParticipant, text: str, attempts: int = 3
) -> None:
    """Type `text` on lk.chat until the agent answers it: a message that reaches the agent before it
    has noticed the previous participant leave is, rightly, not from the participant it listens to."""
    for attempt in range(attempts):
        await room.local_participant.send_text(text, topic="lk.chat")
        try:
            await wait_for(
                lambda: any(t.identity == agent.identity and text in t.text for t in observer.transcripts),
                timeout=15,
                what=f"reply to {text!r}",
            )
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


async def agent_in_room(lkapi: api.LiveKitAPI, room_name: str, identity: str) -> bool:
    try:
        listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room_name))
    except api.TwirpError:
        return False  # the room is gone
    return any(p.identity == identity for p in listed.participants)


async def test_missing_whisper_model_runs_text_only_and_tells_the_room(
    launch_worker, livekit_server, connect, room_name: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no-whisper-here"
    worker = launch_worker("no-whisper", extra_env={"STREAMING_AVATAR_WHISPER_MODEL": str(missing)})
    room = await connect(room_name)
    observer = AgentObserver(room)
    await livekit_server.dispatch(worker.agent_name, room_name, '{"language": "en"}')
    agent = await wait_for(lambda: agent_participant(room), what="agent participant")
    notices = json.loads(await wait_for(lambda: agent.attributes.get(NOTICES_ATTRIBUTE), what="notices"))
    assert any(str(missing) in n and "download-files" in n and "lk.chat" in n for n in notices), notices

    await room.local_participant.send_text("hello by text", topic="lk.chat")
    await wait_for(
        lambda: any(t.identity == agent.identity and "hello by text" in t.text for t in observer.transcripts),
        timeout=30,
        what="reply to lk.chat",
    )
    assert worker.process.poll() is None
    observer.close()
