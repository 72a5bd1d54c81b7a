"""Client-side faults against the real stack: a user that vanishes, one that reconnects, two rooms at once.

Plain async scenarios (no pytest) shared by tests/integration/test_client_faults.py and the
reliability benchmark. Each returns what happened; the caller decides what is acceptable.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from livekit import api, rtc

from livekit.plugins.musetalk.video_sinks import IDLE_FRAME, SPEECH_FRAME

from .footprint import Footprint
from .paths import REPO
from .rooms import agent_participant, record_agent, wait_for
from .sessions import EN, job_end_reason, job_of, join, participants, poll, reply_to, serve, summon
from .stack import LiveKitServer, Worker
from .voice_client import AgentObserver


def start_client_process(server: LiveKitServer, room_name: str, identity: str) -> subprocess.Popen[str]:
    """support.client_process joined to `room_name`; returns once it has published its microphone."""
    env = {
        **os.environ,
        "LIVEKIT_URL": server.url,
        "LIVEKIT_TOKEN": server.token(room_name, identity),
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "support.client_process"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "joined":
        proc.kill()
        raise AssertionError(f"the client process did not join (exit code {proc.wait()})")
    return proc


@dataclass
class VanishedClient:
    footprint: Footprint
    user_gone_s: float | None = None
    """SIGKILL of the client process → livekit-server drops its participant (the server's detection)."""
    agent_gone_s: float | None = None
    """SIGKILL → the agent has left the room (the session ended)."""
    ended_by: str | None = None
    """Why the job ended, as its process logged it."""
    failure: str | None = None

    @property
    def survived(self) -> bool:
        return self.failure is None and self.ended_by is not None and not self.footprint.leaks


async def vanished_client(
    server: LiveKitServer, worker: Worker, room_name: str, *, timeout: float = 90
) -> VanishedClient:
    """A user's process joins and is SIGKILLed mid-session, never leaving: the session must end by itself."""
    footprint = Footprint.of(worker)
    result = VanishedClient(footprint)
    client = await asyncio.to_thread(start_client_process, server, room_name, "vanishing-user")
    try:
        await server.dispatch(worker.agent_name, room_name, EN)

        async def agent_listening() -> bool:
            return any(
                p.kind == api.ParticipantInfo.Kind.AGENT and p.attributes.get("lk.agent.state") == "listening"
                for p in await participants(server, room_name)
            )

        async def user_gone() -> bool:
            return all(p.identity != "vanishing-user" for p in await participants(server, room_name))

        async def agent_gone() -> bool:
            return all(p.kind != api.ParticipantInfo.Kind.AGENT for p in await participants(server, room_name))

        await poll(agent_listening, timeout, "the agent listening")
        killed_at = time.monotonic()
        client.kill()
        client.wait()
        await poll(user_gone, timeout, "the server to drop the vanished user")
        result.user_gone_s = time.monotonic() - killed_at
        await poll(agent_gone, timeout, "the agent to leave")
        result.agent_gone_s = time.monotonic() - killed_at
        result.ended_by = await wait_for(lambda: job_end_reason(worker, room_name), timeout=timeout, what="job end")
    except AssertionError as e:
        result.failure = str(e)
    finally:
        client.kill()
        client.wait()
    await footprint.settle(worker, 30)
    return result


@dataclass
class ReconnectingClient:
    same_agent: bool = False
    """The agent in the room after the reconnection is the one from before (same job)."""
    stayed: bool = False
    """That agent is still there `hold_s` after the reconnection (past the departure grace)."""
    answered_s: float | None = None
    """A message typed on the new connection → the agent's transcript of the reply on it."""
    failure: str | None = None

    @property
    def survived(self) -> bool:
        return self.failure is None and self.same_agent and self.stayed and self.answered_s is not None


async def reconnecting_client(
    server: LiveKitServer, worker: Worker, room_name: str, *, hold_s: float = 12, timeout: float = 60
) -> ReconnectingClient:
    """A user's second connection (same identity) replaces the first mid-session; the conversation goes on.

    `hold_s` should exceed the worker's STREAMING_AVATAR_DEPARTURE_GRACE, so a session that ends
    after that grace though its user came back is caught.
    """
    result = ReconnectingClient()
    first, agent = await serve(server, worker.agent_name, room_name, timeout)
    second = rtc.Room()
    observers = [AgentObserver(first)]
    try:
        await reply_to(observers[0], agent, "before reconnecting", timeout)
        await second.connect(server.url, server.token(room_name, "user"))
        reconnected_at = time.monotonic()
        observers.append(AgentObserver(second))
        rejoined = await wait_for(lambda: agent_participant(second), timeout=timeout, what="the agent")
        result.same_agent = rejoined.identity == agent.identity
        result.answered_s = await reply_to(observers[1], rejoined, "after reconnecting", timeout)
        await asyncio.sleep(max(0.0, reconnected_at + hold_s - time.monotonic()))
        result.stayed = rejoined.identity in second.remote_participants
    except AssertionError as e:
        result.failure = str(e)
    finally:
        for observer in observers:
            observer.close()
        await first.disconnect()
        await second.disconnect()
    return result


@dataclass
class RoomIsolation:
    crossings: list[str] = field(default_factory=list)
    """Everything one room got of the other: participants, tracks, transcripts, speech frames."""
    speech_frames: dict[str, int] = field(default_factory=dict)
    """Per room, video frames its avatar marked as speech."""
    idle_frames_checked: dict[str, int] = field(default_factory=dict)
    """Per room, frames received while only the other room's avatar spoke (all must be idle)."""
    failure: str | None = None

    @property
    def survived(self) -> bool:
        return self.failure is None and not self.crossings


async def two_rooms(server: LiveKitServer, worker: Worker, room_name: str, *, timeout: float = 60) -> RoomIsolation:
    """Two sessions at once on one worker, users with the same identity; each user types in turn.

    While one avatar speaks, the other room's avatar must stay idle frame by frame (the plugin marks
    each frame speech or idle in its metadata), and nothing of one room may show up in the other.
    """
    result = RoomIsolation()
    names = (f"{room_name}-a", f"{room_name}-b")
    sentences = {names[0]: "apples grow on trees", names[1]: "the harbour is foggy"}
    rooms = {name: await join(server, name) for name in names}
    media = {name: record_agent(room, images=False) for name, room in rooms.items()}
    observers = {name: AgentObserver(room) for name, room in rooms.items()}
    try:
        found = await asyncio.gather(*(summon(server, worker.agent_name, room, timeout) for room in rooms.values()))
        agents = dict(zip(names, found, strict=True))
        for speaker, other in (names, names[::-1]):
            before = len(media[speaker].video)
            await reply_to(observers[speaker], agents[speaker], sentences[speaker], timeout)
            recording = media[speaker]
            await wait_for(lambda: SPEECH_FRAME in recording.frame_kinds[before:], timeout=timeout, what="speech")
            await wait_for(lambda: recording.frame_kinds[-1] == IDLE_FRAME, timeout=timeout, what="idle again")
            spoken = [
                t
                for (t, _, _), kind in zip(recording.video, recording.frame_kinds, strict=True)
                if kind == SPEECH_FRAME
            ]
            result.speech_frames[speaker] = len(spoken)
            start, end = spoken[0], spoken[-1]
            meanwhile = [
                kind
                for (t, _, _), kind in zip(media[other].video, media[other].frame_kinds, strict=True)
                if start <= t <= end
            ]
            result.idle_frames_checked[other] = len(meanwhile)
            if SPEECH_FRAME in meanwhile:
                result.crossings.append(f"{other}'s avatar showed speech while only {speaker}'s spoke")
        for name, other in (names, names[::-1]):
            job = job_of(worker, name)
            agent = agents[name]
            if agent.identity != f"agent-{job}":
                result.crossings.append(f"{name}'s agent {agent.identity} is not its job's ({job})")
            if set(rooms[name].remote_participants) != {agent.identity}:
                result.crossings.append(f"{name} holds {sorted(rooms[name].remote_participants)}")
            foreign = {sid for p in rooms[other].remote_participants.values() for sid in p.track_publications}
            if foreign & set(agent.track_publications):
                result.crossings.append(f"{name} has tracks of {other}")
            heard = " ".join(t.text for t in observers[name].transcripts)
            if sentences[other] in heard:
                result.crossings.append(f"{name}'s transcripts hold {other}'s sentence")
    except AssertionError as e:
        result.failure = str(e)
    finally:
        for name in names:
            observers[name].close()
            media[name].stop()
            await rooms[name].disconnect()
    return result
