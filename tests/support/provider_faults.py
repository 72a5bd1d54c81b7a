"""Provider faults in a real session: a turn with the fault on, then a turn with it off.

The worker runs with `STREAMING_AVATAR_FAULTS_FILE` (agent/faults.py); a scenario writes the fault
into that file, types a message, watches what the room gets, clears the file and types again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from livekit import rtc

from agent.room_notices import NOTICE_TOPIC
from livekit.plugins.musetalk.video_sinks import IDLE_FRAME, SPEECH_FRAME

from .outcomes import FaultOutcome
from .rooms import agent_participant, record_agent, wait_for
from .stack import LiveKitServer, Worker
from .voice_client import AgentObserver

PROVIDER_FAULTS: dict[tuple[str, str], str | None] = {
    ("llm", "raise"): "the language model failed (APIConnectionError)",
    ("llm", "hang"): "the language model failed (APITimeoutError)",
    ("llm", "empty"): "the language model failed (APIError)",
    ("tts", "raise"): "the voice (TTS) failed (APIConnectionError)",
    ("tts", "raise-mid-utterance"): "the voice (TTS) failed (APIConnectionError)",
    ("tts", "empty"): "the voice (TTS) failed (APIError)",
    # Not detected, so no notice: noise is played as the reply, then the next turn is normal.
    ("tts", "garbage"): None,
    # The framework resamples what the provider labels with its true rate: the reply is spoken.
    ("tts", "wrong-rate"): None,
}
"""fault → the start of the notice the room must get (None: no notice expected)."""
SETTLE_S = 1.0
"""After the agent is back to listening, how long its video must show only idle frames."""


async def provider_fault(
    server: LiveKitServer, worker: Worker, faults_file: Path, room_name: str, kind: str, fault: str
) -> FaultOutcome:
    """One session: a message while `kind` has `fault`, then a message with no fault.

    Survived means: the faulty turn ends with the agent listening and its face idle (no "speaking"
    left behind), errors reach the room as a notice, and the next turn gets its spoken reply.
    """
    outcome = FaultOutcome(f"{kind}-{fault}")
    room = rtc.Room()
    await room.connect(server.url, server.token(room_name, "user"))
    # First: of two VideoStreams on one track, only the first one created receives the frames' metadata.
    media = record_agent(room, crop=(0, 0, 4, 4))
    observer = AgentObserver(room)
    room.register_text_stream_handler(
        NOTICE_TOPIC, lambda reader, _who: observer.spawn(_append(reader, outcome.notices))
    )
    try:
        await server.dispatch(worker.agent_name, room_name, json.dumps({"language": "en"}))
        agent = await wait_for(lambda: agent_participant(room), timeout=30, what="agent")
        await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="listening")

        faults_file.write_text(json.dumps({kind: fault}))
        asked = time.monotonic()
        await room.local_participant.send_text("first question", topic="lk.chat")
        await _turn_ended(observer, asked, outcome)
        expected = PROVIDER_FAULTS[kind, fault]
        if expected is not None:
            try:
                await wait_for(lambda: any(n.startswith(expected) for n in outcome.notices), what="the notice")
            except AssertionError:
                outcome.problems.append(f"no notice {expected!r} in {outcome.notices}")
        faults_file.write_text("")
        await _settled(media.frame_kinds, outcome)

        asked = time.monotonic()
        await room.local_participant.send_text("second question", topic="lk.chat")
        try:
            await wait_for(
                lambda: any("second question" in t.text and t.finished_at for t in observer.transcripts),
                timeout=30,
                what="the reply after the fault",
            )
            await wait_for(lambda: observer.first_loud_audio_after(asked), timeout=20, what="spoken reply")
        except AssertionError as e:
            outcome.problems.append(str(e))
    finally:
        faults_file.write_text("")
        media.stop()
        observer.close()
        await room.disconnect()
    return outcome


async def _append(reader: rtc.TextStreamReader, into: list[str]) -> None:
    into.append(await reader.read_all())


async def _turn_ended(observer: AgentObserver, asked: float, outcome: FaultOutcome) -> None:
    """Until the agent has left "thinking"/"speaking" for "listening" after `asked`."""
    try:
        busy = await wait_for(
            lambda: next((t for t, s in observer.states if t >= asked and s in ("thinking", "speaking")), None),
            timeout=20,
            what="the agent to take the turn",
        )
        await wait_for(lambda: observer.state_since("listening", busy), timeout=90, what="the agent to listen again")
    except AssertionError as e:
        outcome.problems.append(str(e))


async def _settled(frame_kinds: list[bytes], outcome: FaultOutcome) -> None:
    """The face is idle again: the frames of the last SETTLE_S are idle frames."""
    start = len(frame_kinds)
    await wait_for(lambda: len(frame_kinds) - start >= 10, timeout=SETTLE_S + 10, what="video frames")
    recent = frame_kinds[start:]
    if SPEECH_FRAME in recent[len(recent) // 2 :] or IDLE_FRAME not in recent:
        outcome.problems.append(f"the face is still speaking after the turn ended: {recent!r}")
