"""Floods and bad input from room participants, as plain async scenarios (tests and bench/reliability.py).

A flood room holds the real user, a hostile second participant and the agent of one
dispatch. `run_flood` injects one flood, then the user types a question and waits for
the agent's reply on `lk.transcription`, and reports what happened: what was sent,
how many replies the agent started meanwhile, whether it still answers, the job
process's RSS before and after, our tracebacks in the worker log, new room notices.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
import psutil
from livekit import rtc
from livekit.protocol.agent_pb import agent_session as agent_pb

from agent.room_controls import INTERRUPT_RPC
from agent.room_notices import NOTICES_ATTRIBUTE

from .job_process import job_process, log_size, tracebacks
from .rooms import voice_agent, wait_for
from .stack import LiveKitServer, Worker
from .voice_client import AgentObserver

USER = "user"
HOSTILE = "hostile"
SESSION_TOPIC = "lk.agent.session"
"""LiveKit Agents' RemoteSession transport: requests that drive and read the session."""
AUDIO_STREAM_TOPIC = "lk.audio_stream"
LK_TOPICS = (
    "lk.chat",
    "lk.transcription",
    SESSION_TOPIC,
    "lk.agent.pre-connect-audio-buffer",
    AUDIO_STREAM_TOPIC,
    "lk.agent.state",
    "streaming-avatar.notice",
)
"""Topics LiveKit Agents 1.8.9 and this project read or write (room_io, remote_session, avatar data streams)."""
AVATAR_RPCS = ("lk.playback_finished", "lk.playback_started", "lk.clear_buffer")
"""The avatar data-stream protocol (LiveKit Agents' DataStreamAudioOutput / DataStreamAudioReceiver)."""
MB = 1024 * 1024
ANSWER_TIMEOUT_S = 90


@dataclass
class FloodRoom:
    server: LiveKitServer
    worker: Worker
    name: str
    user: rtc.Room
    hostile: rtc.Room
    agent: rtc.RemoteParticipant
    observer: AgentObserver
    job: psutil.Process
    hostile_received: list[str] = field(default_factory=list)
    """Names of the agent's `lk.agent.session` streams that reached the hostile participant."""
    questions: int = 0

    def notices(self) -> list[str]:
        return list(json.loads(self.agent.attributes.get(NOTICES_ATTRIBUTE, "[]")))

    def agent_transcripts(self) -> list[str]:
        return [t.text for t in self.observer.transcripts if t.identity == self.agent.identity]


async def _join(server: LiveKitServer, room: str, identity: str) -> rtc.Room:
    joined = rtc.Room()
    await joined.connect(server.url, server.token(room, identity), options=rtc.RoomOptions(auto_subscribe=False))
    return joined


async def open_flood_room(
    server: LiveKitServer, worker: Worker, room: str, metadata: str = '{"language": "en"}'
) -> FloodRoom:
    """The user joins, the agent is dispatched and listens, then the hostile participant joins."""
    user = await _join(server, room, USER)
    observer = AgentObserver(user)
    await server.dispatch(worker.agent_name, room, metadata)
    agent = await wait_for(lambda: voice_agent(user), timeout=60, what="agent participant")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=60, what="agent listening")
    hostile = await _join(server, room, HOSTILE)
    job = await asyncio.to_thread(job_process, worker, room)
    flood_room = FloodRoom(server, worker, room, user, hostile, agent, observer, job)

    def on_session_stream(reader: rtc.ByteStreamReader, sender: str) -> None:
        if sender == agent.identity:
            flood_room.hostile_received.append(reader.info.name)

    hostile.register_byte_stream_handler(SESSION_TOPIC, on_session_stream)
    return flood_room


async def close_flood_room(room: FloodRoom) -> None:
    room.observer.close()
    await room.hostile.disconnect()
    await room.user.disconnect()


async def ask(room: FloodRoom) -> float | None:
    """The user types a fresh question; seconds until the agent's transcript repeats it (None: no reply)."""
    room.questions += 1
    token = f"question {room.questions} {secrets.token_hex(2)}"
    sent_at = time.monotonic()
    await room.user.local_participant.send_text(f"are you there {token}", topic="lk.chat")
    try:
        await wait_for(
            lambda: any(token in t for t in room.agent_transcripts()), timeout=ANSWER_TIMEOUT_S, what="the reply"
        )
    except AssertionError:
        return None
    return time.monotonic() - sent_at


def _garbage_text(size: int, rng: random.Random) -> str:
    """Random letters, digits, punctuation and control characters (a NUL first): not a message to speak."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 .,!?\x00\x07\x1b\u200b\ufffd\U0001f600"
    return "\x00" + "".join(rng.choices(alphabet, k=size - 1))


def _readable_text(size: int, rng: random.Random) -> str:
    words = ("moon", "road", "quiet", "stars", "tell", "me", "about", "the", "long", "and")
    text = " ".join(rng.choices(words, k=size // 4))
    return text[:size]


async def paced(rate: float, count: int, send: Callable[[int], Awaitable[object]]) -> Counter[str]:
    """Start `send(i)` for i < count at `rate` per second without waiting for each; outcome counts."""
    outcomes: Counter[str] = Counter()

    async def one(i: int) -> None:
        try:
            answer = await send(i)
            outcomes[f"answer {answer[:40]}" if isinstance(answer, str) else "ok"] += 1
        except rtc.RpcError as e:
            outcomes[f"rpc error {e.code}"] += 1
        except Exception as e:  # a failed send is counted, not fatal, in a flood
            outcomes[type(e).__name__] += 1

    start = time.monotonic()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return outcomes


# --- the floods: each injects its input and returns what was sent, by outcome -------------------------


async def chat_1mb(room: FloodRoom, sender: rtc.Room) -> Counter[str]:
    rng = random.Random(1)
    await sender.local_participant.send_text(_readable_text(MB, rng), topic="lk.chat")
    await sender.local_participant.send_text(_garbage_text(MB, rng), topic="lk.chat")
    return Counter(ok=2)


async def chat_200_per_s(room: FloodRoom, sender: rtc.Room) -> Counter[str]:
    rng = random.Random(2)
    return await paced(
        200, 600, lambda i: sender.local_participant.send_text(f"flood {i} " + _readable_text(40, rng), topic="lk.chat")
    )


async def binary_garbage(room: FloodRoom, sender: rtc.Room) -> Counter[str]:
    """Byte streams, text streams and raw data packets of random content on every `lk.*` topic."""
    rng = random.Random(3)
    participant = sender.local_participant
    sent: Counter[str] = Counter()
    for topic in LK_TOPICS:
        for size in (0, 1, 1000, 64 * 1024):
            await participant.send_bytes(os.urandom(size), topic=topic, name=f"garbage-{size}")
            await participant.send_text(_garbage_text(max(size, 1), rng), topic=topic)
            sent["stream"] += 2
        sent += await paced(
            100, 20, lambda i, t=topic: participant.publish_data(os.urandom(rng.randrange(1, 14000)), topic=t)
        )
    return sent


async def interrupt_100_per_s(room: FloodRoom, sender: rtc.Room) -> Counter[str]:
    """While the agent speaks a long answer: 300 `interrupt` RPCs at 100 per second."""
    await room.user.local_participant.send_text(_readable_text(2000, random.Random(4)), topic="lk.chat")
    return await paced(
        100,
        300,
        lambda i: sender.local_participant.perform_rpc(
            destination_identity=room.agent.identity, method=INTERRUPT_RPC, payload="", response_timeout=20
        ),
    )


async def unknown_rpcs(room: FloodRoom, sender: rtc.Room) -> Counter[str]:
    """Methods the agent does not have, with garbage payloads."""
    rng = random.Random(5)
    methods = ["lk.agent.request", "no_such_method", "../end_session", "x" * 64]

    def call(i: int) -> Awaitable[str]:
        return sender.local_participant.perform_rpc(
            destination_identity=room.agent.identity,
            method=methods[i % len(methods)],
            payload=_garbage_text(rng.randrange(1, 3000), rng),
            response_timeout=20,
        )

    return await paced(100, 200, call)


async def avatar_protocol(room: FloodRoom, sender: rtc.Room) -> Counter[str]:
    """The avatar data-stream protocol spoken by someone who is neither the agent nor its avatar.

    To every agent participant (the agent; in remote mode also the render worker's avatar):
    its RPCs with garbage payloads, and `lk.audio_stream` byte streams of garbage and of
    well-formed speech.
    """
    rng = random.Random(6)
    agents = [
        p.identity for p in sender.remote_participants.values() if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
    ]
    calls = [(identity, method) for identity in agents for method in AVATAR_RPCS]
    sent = await paced(
        100,
        len(calls) * 10,
        lambda i: sender.local_participant.perform_rpc(
            destination_identity=calls[i % len(calls)][0],
            method=calls[i % len(calls)][1],
            payload=rng.choice(['{"playback_position": -1, "interrupted": "yes"}', "", _garbage_text(2000, rng)]),
            response_timeout=20,
        ),
    )
    speech = (np.sin(np.arange(48000) / 48000 * 2 * np.pi * 220) * 20000).astype(np.int16).tobytes()
    for attributes, data in [
        ({"sample_rate": "48000", "num_channels": "1"}, speech),
        ({"sample_rate": "NaN", "num_channels": "-1"}, os.urandom(4000)),
        ({}, os.urandom(64 * 1024)),
    ]:
        await sender.local_participant.send_bytes(
            data, topic=AUDIO_STREAM_TOPIC, attributes=attributes, destination_identities=agents
        )
        sent["stream"] += 1
    return sent


async def session_requests(room: FloodRoom, sender: rtc.Room) -> Counter[str]:
    """RemoteSession requests (read the conversation and the persona, run a turn) and garbage on its topic."""
    requests = [
        agent_pb.SessionRequest(request_id="history", get_chat_history=agent_pb.SessionRequest.GetChatHistory()),
        agent_pb.SessionRequest(request_id="persona", get_agent_info=agent_pb.SessionRequest.GetAgentInfo()),
        agent_pb.SessionRequest(request_id="run", run_input=agent_pb.SessionRequest.RunInput(text="say hijacked")),
        agent_pb.SessionRequest(request_id="ping", ping=agent_pb.SessionRequest.Ping()),
    ]
    sent: Counter[str] = Counter()
    for request in requests:
        data = agent_pb.AgentSessionMessage(request=request).SerializeToString()
        await sender.local_participant.send_bytes(data, topic=SESSION_TOPIC, name=request.request_id)
        sent["request"] += 1
    for size in (1, 100, 10_000):
        await sender.local_participant.send_bytes(os.urandom(size), topic=SESSION_TOPIC)
        sent["garbage"] += 1
    return sent


Flood = Callable[[FloodRoom, rtc.Room], Awaitable[Counter[str]]]
FLOODS: dict[str, tuple[Flood, str]] = {
    "chat_1mb_user": (chat_1mb, USER),
    "chat_1mb_hostile": (chat_1mb, HOSTILE),
    "chat_200_per_s_user": (chat_200_per_s, USER),
    "chat_200_per_s_hostile": (chat_200_per_s, HOSTILE),
    "binary_garbage_hostile": (binary_garbage, HOSTILE),
    "binary_garbage_user": (binary_garbage, USER),
    "interrupt_100_per_s_hostile": (interrupt_100_per_s, HOSTILE),
    "unknown_rpcs_hostile": (unknown_rpcs, HOSTILE),
    "avatar_protocol_hostile": (avatar_protocol, HOSTILE),
    "avatar_protocol_user": (avatar_protocol, USER),
    "session_requests_hostile": (session_requests, HOSTILE),
}
SETTLE_S = 2.0
"""After a flood, before the user's question: what is still in flight reaches the agent."""


@dataclass
class FloodOutcome:
    flood: str
    sent: dict[str, int]
    agent_replies: int
    """Agent transcripts begun between the flood's start and the user's question."""
    reply_s: float | None
    """Seconds from the user's question to the agent's reply after the flood; None if it never came."""
    job_alive: bool
    rss_before_mb: float
    rss_after_mb: float
    our_tracebacks: list[str]
    framework_tracebacks: int
    notices: list[str]
    answers_to_hostile: int
    """`lk.agent.session` messages (responses, session events) that reached the hostile participant."""

    @property
    def answered_after(self) -> bool:
        return self.reply_s is not None

    @property
    def survived(self) -> bool:
        """The job lives, still answers the user, and our code logged no traceback."""
        return self.job_alive and self.answered_after and not self.our_tracebacks


def _rss_mb(process: psutil.Process) -> float:
    try:
        return process.memory_info().rss / MB
    except psutil.NoSuchProcess:
        return 0.0


async def run_flood(room: FloodRoom, flood: str) -> FloodOutcome:
    inject, sender = FLOODS[flood]
    log_start = log_size(room.worker)
    rss_before = _rss_mb(room.job)
    notices_before = len(room.notices())
    transcripts_before = len(room.agent_transcripts())
    hostile_before = len(room.hostile_received)
    sent = await inject(room, room.user if sender == USER else room.hostile)
    await asyncio.sleep(SETTLE_S)
    replies = len(room.agent_transcripts()) - transcripts_before
    reply_s = await ask(room)
    found = tracebacks(room.worker, pid=room.job.pid, start=log_start)
    return FloodOutcome(
        flood=flood,
        sent=dict(sent),
        agent_replies=replies,
        reply_s=reply_s,
        job_alive=room.job.is_running() and room.worker.process.poll() is None,
        rss_before_mb=rss_before,
        rss_after_mb=_rss_mb(room.job),
        our_tracebacks=found.ours,
        framework_tracebacks=len(found.others),
        notices=room.notices()[notices_before:],
        answers_to_hostile=len(room.hostile_received) - hostile_before,
    )


async def run_floods(
    server: LiveKitServer, worker: Worker, room: str, floods: list[str] | None = None
) -> list[FloodOutcome]:
    """Every flood (or those named), one after another, in one room."""
    flood_room = await open_flood_room(server, worker, room)
    try:
        return [await run_flood(flood_room, name) for name in floods or list(FLOODS)]
    finally:
        await close_flood_room(flood_room)
