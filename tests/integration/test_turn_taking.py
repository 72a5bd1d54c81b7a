"""Turns end on meaning, with the real Whisper base: a pause after an unfinished phrase gets no reply,
the whole sentence does, and a preemptive reply to the unfinished half never reaches the client.

The worker runs the offline profile (the scripted LLM echoes what it heard, eSpeak NG speaks) with
Whisper base assembled from its PyPI packages; a Python participant speaks eSpeak NG speech.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from livekit import rtc

from livekit.plugins.musetalk.video_sinks import SPEECH_FRAME
from support.paused_speech import PAUSED_UTTERANCES, PausedUtterance
from support.rooms import ReceivedMedia, agent_participant, record_agent, wait_for
from support.stack import Worker
from support.voice_client import AgentObserver, Microphone

REPLY_TIMEOUT = 60
"""Seconds for an answer: Whisper base takes ~0.5 s an utterance here, far more when the machine is loaded."""


def words(text: str) -> set[str]:
    return set(re.sub(r"[^\w\s]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def hearing_worker(launch_worker, whisper_base_dir: Path) -> Worker:
    # The short encoder window (opt-in) transcribes a half in ~0.4 s, inside the pause, so a preflight of it
    # is made and a preemptive reply has to be discarded; the full window's ~1.5 s would outlast the pause.
    return launch_worker(
        "turn-taking",
        extra_env={"STREAMING_AVATAR_WHISPER_MODEL": str(whisper_base_dir), "STREAMING_AVATAR_WHISPER_WINDOW": "8"},
    )


@dataclass
class Listener:
    room: rtc.Room
    agent: rtc.RemoteParticipant
    observer: AgentObserver
    media: ReceivedMedia
    microphone: Microphone

    def transcripts_of(self, identity: str, since: float) -> list[str]:
        return [t.text for t in self.observer.transcripts if t.identity == identity and t.started_at >= since]

    def speech_frames_between(self, start: float, end: float) -> int:
        return sum(
            1
            for (t, _, _), kind in zip(self.media.video, self.media.frame_kinds, strict=True)
            if start <= t < end and kind == SPEECH_FRAME
        )


@pytest.fixture
async def listener(livekit_server, hearing_worker: Worker, connect, room_name: str) -> AsyncIterator[Listener]:
    room = await connect(room_name)
    observer = AgentObserver(room)
    media = record_agent(room, images=False)
    microphone = Microphone(room)
    await microphone.publish()
    await livekit_server.dispatch(hearing_worker.agent_name, room_name, json.dumps({"language": "en"}))
    agent = await wait_for(lambda: agent_participant(room), what="agent participant")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="agent listening")
    yield Listener(room, agent, observer, media, microphone)
    media.stop()
    observer.close()
    await microphone.close()


async def say_with_a_pause(listener: Listener, utterance: PausedUtterance) -> tuple[float, float]:
    """Speak the first half, pause, speak the rest; returns (end of the first half, end of the rest)."""
    first, rest = utterance.parts()
    first_end = await listener.microphone.say(first)
    await asyncio.sleep(utterance.pause)
    return first_end, await listener.microphone.say(rest)


# Long pauses first: they give the early transcription time to finish, so a preemptive reply is made.
CASES = sorted(PAUSED_UTTERANCES[:6], key=lambda u: -u.pause)[:3]


async def until_quiet(listener: Listener, quiet_s: float = 1.0) -> None:
    """Wait until the avatar listens and none of its audio has been loud for `quiet_s`."""

    def quiet() -> bool:
        now = time.monotonic()
        state = listener.agent.attributes.get("lk.agent.state")
        return state == "listening" and listener.observer.loud_seconds(now - quiet_s, now) == 0

    await wait_for(quiet, timeout=REPLY_TIMEOUT, what="the avatar quiet and listening")


async def test_a_pause_after_an_unfinished_phrase_gets_no_reply_and_the_whole_sentence_does(
    listener: Listener,
) -> None:
    agent_id, user_id = listener.agent.identity, listener.room.local_participant.identity
    preemptive_chances = 0
    for utterance in CASES:
        await until_quiet(listener)
        first_end, end = await say_with_a_pause(listener, utterance)
        await wait_for(
            lambda end=end: listener.observer.first_loud_audio_after(end), timeout=REPLY_TIMEOUT, what="the answer"
        )
        await wait_for(
            lambda first_end=first_end: any(
                words(utterance.rest) & words(text) for text in listener.transcripts_of(agent_id, first_end)
            ),
            timeout=REPLY_TIMEOUT,
            what="the agent's transcript of its answer",
        )

        # Nothing of a reply while the user paused or finished the sentence: no sound, no speech frame.
        assert listener.observer.loud_seconds(first_end, end) == 0, utterance
        assert listener.speech_frames_between(first_end, end) == 0, utterance
        speaking = listener.observer.state_since("speaking", first_end)
        assert speaking is not None and speaking >= end, utterance
        # Every answer heard is to the whole sentence: none is to the unfinished half alone.
        replies = listener.transcripts_of(agent_id, first_end)
        assert replies and all(words(utterance.rest) & words(reply) for reply in replies), replies
        # A preflight transcript of the first half alone (non-final) started a preemptive reply to it.
        preflights = [
            t.text
            for t in listener.observer.transcripts
            if t.identity == user_id and not t.final and first_end <= t.started_at < end
        ]
        preemptive_chances += any(not words(utterance.rest) & words(text) for text in preflights)
    assert preemptive_chances > 0, "no preflight transcript of an unfinished half: nothing preemptive was discarded"
