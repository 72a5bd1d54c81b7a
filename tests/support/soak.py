"""Long and repeated sessions against the real worker: leaks, stuck states, interruptions, A/V drift.

Plain async functions shared by tests/integration/test_soak.py (short runs) and
bench/reliability.py (100 sessions, a 30-minute conversation, 50 interruptions).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field

import numpy as np
import psutil
from livekit import api, rtc

from agent.room_controls import INTERRUPT_RPC
from livekit.plugins.musetalk.video_sinks import SPEECH_FRAME

from .rooms import ReceivedMedia, agent_participant, record_agent, wait_for
from .stack import LiveKitServer, Worker
from .voice_client import AgentObserver

EN = json.dumps({"language": "en"})
LOUD = 2000


def usage(worker: Worker) -> dict[str, int]:
    """The worker process's threads and fds, its child processes, and the RSS of it and its children."""
    proc = psutil.Process(worker.process.pid)
    children = proc.children(recursive=True)
    rss = proc.memory_info().rss
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            rss += child.memory_info().rss
    return {"threads": proc.num_threads(), "fds": proc.num_fds(), "children": len(children), "rss": rss}


async def one_session(server: LiveKitServer, worker: Worker, room_name: str) -> None:
    """Join, get the agent and five avatar frames, leave, and wait until the job has left the room."""
    room = rtc.Room()
    await room.connect(server.url, server.token(room_name, "user"))
    media = record_agent(room)
    await server.dispatch(worker.agent_name, room_name, EN)
    await wait_for(lambda: len(media.video) >= 5, timeout=30, what="avatar frames")
    media.stop()
    await room.disconnect()
    async with server.api() as lkapi:

        async def agent_gone() -> bool:
            rooms = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room_name]))
            return not rooms.rooms or rooms.rooms[0].num_participants == 0

        deadline = time.monotonic() + 30
        while not await agent_gone():
            assert time.monotonic() < deadline, "the job did not end after the room emptied"
            await asyncio.sleep(0.2)


async def settled_usage(worker: Worker, baseline: dict[str, int], timeout: float = 20) -> dict[str, int]:
    """Usage once threads, fds and children are back to `baseline` (or `timeout` s have passed)."""
    deadline = time.monotonic() + timeout
    while True:
        now = usage(worker)
        back = all(now[k] <= baseline[k] for k in ("threads", "fds", "children"))
        if back or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


@dataclass
class SessionsOutcome:
    sessions: int
    baseline: dict[str, int]
    after: dict[str, int]

    @property
    def rss_growth_pct(self) -> float:
        return 100 * (self.after["rss"] - self.baseline["rss"]) / self.baseline["rss"]

    def leaked(self, what: str) -> int:
        return max(0, self.after[what] - self.baseline[what])


async def sequential_sessions(
    server: LiveKitServer, worker: Worker, room_prefix: str, count: int, *, warmup: int, idle_s: float
) -> SessionsOutcome:
    """`warmup` sessions, the baseline (after `idle_s` of idle, so freed memory is given back), then
    `count` more, and usage once settled and idle again."""
    for i in range(warmup):
        await one_session(server, worker, f"{room_prefix}-warmup-{i}")
    await asyncio.sleep(idle_s)
    baseline = usage(worker)
    for i in range(count):
        await one_session(server, worker, f"{room_prefix}-{i}")
    after = await settled_usage(worker, baseline)
    await asyncio.sleep(idle_s)
    after["rss"] = usage(worker)["rss"]
    return SessionsOutcome(count, baseline, after)


@dataclass
class Conversation:
    room: rtc.Room
    agent: rtc.RemoteParticipant
    observer: AgentObserver
    media: ReceivedMedia

    async def ask(self, text: str, timeout: float = 60) -> None:
        """Type `text`; returns once the agent's reply naming it is transcribed in full and the agent listens.

        Its states are read from the attribute as it is now: a quick listening → thinking → speaking
        can reach a subscriber as no change at all.
        """
        await self.room.local_participant.send_text(text, topic="lk.chat")
        await wait_for(
            lambda: any(
                t.identity == self.agent.identity and text in t.text and t.finished_at
                for t in self.observer.transcripts
            ),
            timeout=timeout,
            what=f"the reply to {text!r}",
        )
        await self.listening(timeout)

    async def interrupt_reply(self, text: str, timeout: float = 60) -> None:
        """Type `text`, interrupt the reply once it is audible, and wait until the agent listens again."""
        asked = time.monotonic()
        await self.room.local_participant.send_text(text, topic="lk.chat")
        await wait_for(lambda: self.observer.first_loud_audio_after(asked), timeout=timeout, what="the reply's audio")
        await self.room.local_participant.perform_rpc(
            destination_identity=self.agent.identity, method=INTERRUPT_RPC, payload=""
        )
        await self.listening(timeout)

    async def listening(self, timeout: float) -> None:
        await wait_for(
            lambda: self.agent.attributes.get("lk.agent.state") == "listening",
            timeout=timeout,
            what="the agent to listen again",
        )

    async def close(self) -> None:
        self.media.stop()
        self.observer.close()
        await self.room.disconnect()


async def start_conversation(server: LiveKitServer, worker: Worker, room_name: str) -> Conversation:
    room = rtc.Room()
    await room.connect(server.url, server.token(room_name, "user"))
    # First: of two VideoStreams on one track, only the first one created receives the frames' metadata.
    media = record_agent(room, crop=(0, 0, 4, 4))
    observer = AgentObserver(room)
    await server.dispatch(worker.agent_name, room_name, EN)
    agent = await wait_for(lambda: agent_participant(room), timeout=30, what="agent")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="listening")
    return Conversation(room, agent, observer, media)


@dataclass
class InterruptionsOutcome:
    interrupted: int = 0
    replied: int = 0
    problems: list[str] = field(default_factory=list)


async def interruption_streak(
    server: LiveKitServer, worker: Worker, room_name: str, count: int
) -> InterruptionsOutcome:
    """`count` times: a reply interrupted by RPC once audible, then a question answered in full."""
    outcome = InterruptionsOutcome()
    conversation = await start_conversation(server, worker, room_name)
    try:
        for i in range(count):
            try:
                await conversation.interrupt_reply(f"tell me a story number {i}")
                outcome.interrupted += 1
                await conversation.ask(f"question number {i}")
                outcome.replied += 1
            except AssertionError as e:
                outcome.problems.append(f"round {i}: {e}")
    finally:
        await conversation.close()
    return outcome


@dataclass
class SoakOutcome:
    minutes: float
    turns: int = 0
    stuck_turns: int = 0
    offsets_ms: list[float] = field(default_factory=list)
    speech_frames_received: int = 0
    speech_frames_missing: int = 0
    rss_start: int = 0
    rss_end: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def drift_ms(self) -> float:
        """How far the A/V offset of the replies moved: median of the last third minus the first third's."""
        third = max(1, len(self.offsets_ms) // 3)
        return float(np.median(self.offsets_ms[-third:]) - np.median(self.offsets_ms[:third]))

    @property
    def frames_delivered_pct(self) -> float:
        sent = self.speech_frames_received + self.speech_frames_missing
        return 100 * self.speech_frames_received / sent if sent else 0.0

    @property
    def rss_growth_pct(self) -> float:
        return 100 * (self.rss_end - self.rss_start) / self.rss_start if self.rss_start else 0.0


async def conversation_soak(
    server: LiveKitServer, worker: Worker, room_name: str, minutes: float, *, interrupt_every: int = 5
) -> SoakOutcome:
    """A scripted user talks with the avatar for `minutes`, interrupting every `interrupt_every`-th reply.

    Per reply, the A/V offset is when its first speech frame arrived minus when its first loud audio
    did; the drift is how much that offset changed from the first third of the run to the last.
    """
    outcome = SoakOutcome(minutes)
    conversation = await start_conversation(server, worker, room_name)
    deadline = time.monotonic() + minutes * 60
    try:
        while time.monotonic() < deadline:
            turn = outcome.turns
            started = time.monotonic()
            try:
                if turn % interrupt_every == interrupt_every - 1:
                    await conversation.interrupt_reply(f"tell me a story number {turn}")
                else:
                    await conversation.ask(f"question number {turn}")
            except AssertionError as e:
                outcome.stuck_turns += 1
                outcome.problems.append(f"turn {turn}: {e}")
            offset = reply_offset_ms(conversation, started)
            if offset is not None:
                outcome.offsets_ms.append(offset)
            outcome.turns += 1
            if turn == 0:
                outcome.rss_start = usage(worker)["rss"]
            await asyncio.sleep(1.0)
        outcome.rss_end = usage(worker)["rss"]
        outcome.speech_frames_received, outcome.speech_frames_missing = speech_frame_delivery(conversation.media)
    finally:
        await conversation.close()
    return outcome


def reply_offset_ms(conversation: Conversation, since: float) -> float | None:
    media = conversation.media
    first_frame = next(
        (
            t
            for (t, _, _), kind in zip(media.video, media.frame_kinds, strict=False)
            if t >= since and kind == SPEECH_FRAME
        ),
        None,
    )
    first_audio = next((t for t, a in media.audio if t >= since and int(np.abs(a).max(initial=0)) > LOUD), None)
    if first_frame is None or first_audio is None:
        return None
    return 1000 * (first_frame - first_audio)


def speech_frame_delivery(media: ReceivedMedia) -> tuple[int, int]:
    """(speech frames received, speech frames missing). Frames are numbered in sequence, every speech
    frame is published, and so is the first idle frame after speech: a gap in the numbers between two
    received speech frames is frames lost on the way."""
    frames = [(i, kind) for i, kind in zip(media.frame_ids, media.frame_kinds, strict=True) if i >= 0]
    received = sum(1 for _, kind in frames if kind == SPEECH_FRAME)
    missing = sum(b - a - 1 for (a, ka), (b, kb) in itertools.pairwise(frames) if ka == kb == SPEECH_FRAME and b > a)
    return received, missing
